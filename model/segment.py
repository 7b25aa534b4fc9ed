"""Split a news article into statements and attribute each to its speaker.

Rule-based and fast, so that batch scoring and `/v1/documents` share it. An article becomes sentences (never cut
inside a quotation); a sentence is a *statement* when it holds a quotation of four or more words or a reporting
verb with a subject ("the ministry urged ..."). Speakers come from the attribution ("..., Gao Feng said"), from a
pronoun or a bare quotation (the last speaker named), and a bare surname resolves to the full name seen earlier.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

VERBS = (
    r"said|says|told|added|adds|stated|states|insisted|insists|warned|warns|denied|denies|accused|accuses|"
    r"urged|urges|re-?iterated|reiterates|confirmed|confirms|announced|announces|argued|argues|claimed|claims|"
    r"stressed|stresses|noted|notes|called|calls|rejected|rejects|explained|explains|declared|declares|"
    r"vowed|vows|pledged|pledges|welcomed|welcomes|condemned|condemns|criticised|criticized|criticises|"
    r"criticizes|maintained|maintains|countered|counters|replied|responded|wrote|writes|tweeted|posted|"
    r"acknowledged|admitted|promised|demanded|demands|threatened|threatens|praised|praises|defended|defends|"
    r"blamed|blames|dismissed|dismisses|hailed|hails|asked|asks"
)
ROLES = (
    r"spokesman|spokeswoman|spokesperson|spokespeople|minister|ministry|secretary|president|premier|chairman|"
    r"chairwoman|chair|chief|head|director|official|officials|government|governments|ambassador|envoy|"
    r"representative|negotiator|leader|lawmakers?|senator|governor|mayor|commissioner|executive|ceo|union|"
    r"company|spokespersons|department|office|agency|embassy|council|committee|board|party|prosecutors?|"
    r"regulator|court|group|association|federation|analysts?|delegation|administration|authorities|police|army|"
    r"military|coalition|campaign|opposition|watchdog|bank|firm|club|league|team|manufacturer|airline|operator|"
    r"producer|presidency|cabinet|parliament|congress|senate|commission|organisation|organization|alliance|"
    r"forces|militia|rebels|insurgents|junta|mission|consulate|foundation|institute|businesses|workers|employers|"
    r"secretariat|bloc|state|states|side|officer|adviser|advisor|aide|lawyer|lawyers|counsel|attorney|activists?|"
    r"campaigners|researchers|scientists|experts|sources|statement|report|readout|people|residents|organisers"
)
PRONOUNS = {"he", "she", "they", "it", "we"}
ABBREV = {"mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "lt", "col", "st", "jan", "feb", "mar",
          "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "no", "co", "corp", "inc", "ltd", "vs",
          "u.s", "u.k", "u.n", "e.g", "i.e", "jr", "sr"}

QUOTE = re.compile(r"[“\"]([^”\"]{1,2000}?)[”\"]")
NAME_TOKEN = r"(?:[A-Z][\w.'’&-]*|of|for|and|de|the|on|(?:" + ROLES + r"))"
NP = rf"(?:[Tt]he\s+)?{NAME_TOKEN}(?:\s+(?:\([^)]{{1,40}}\)\s+)?{NAME_TOKEN}){{0,9}}?(?:\s+\([^)]{{1,40}}\))?"
WHEN = r"(?:\s+(?:yesterday|today|on\s+\w+|last\s+\w+|earlier|later|also|again|separately))?"
SUBJECT_VERB = re.compile(rf"(?:^|,\s+|;\s+|[”\"]\s*,?\s*|\bthat\s+)(?P<np>{NP}|he|she|they|it|we|He|She|They|It|We)"
                          rf"{WHEN}\s+(?:has\s+|had\s+|have\s+)?(?P<verb>{VERBS})\b")
VERB_SUBJECT = re.compile(rf"[”\"],?\s+(?P<verb>said|says|added|told)\s+(?P<np>{NP})")
ACCORDING = re.compile(rf"\baccording to\s+(?P<np>{NP})")


@dataclass
class Segment:
    index: int
    start: int
    end: int
    text: str
    is_statement: bool
    kind: str  # "quote", "reported" or "none"
    speaker: str | None

    def to_dict(self):
        return asdict(self)


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans; boundaries inside quotations, after abbreviations and initials are skipped."""
    inside = [False] * (len(text) + 1)
    for m in QUOTE.finditer(text):
        for i in range(m.start() + 1, m.end() - 1):
            inside[i] = True
    spans, start = [], 0
    for m in re.finditer(r"[.!?]+[”\"’)]*(?=\s+[“\"‘(A-Z0-9])|\n\s*\n", text):
        end = m.end()
        if inside[m.start()]:
            continue
        word = re.search(r"([\w.]+)[.!?]+[”\"’)]*$", text[start:end])
        if word and text[m.start()] == "." and (word.group(1).lower().rstrip(".") in ABBREV or
                                                 re.fullmatch(r"[A-Z]", word.group(1))):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    out = []
    for s, e in spans:  # trim white space, drop empty
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _clean_np(np: str) -> str:
    np = re.sub(r"\s*\([^)]*\)", "", np).strip()
    return re.sub(r"^[Tt]he\s+", "", np)


def _person(np: str) -> str:
    """'Chinese Ministry of Commerce spokesman Gao Feng' -> 'Gao Feng'; an institution stays whole."""
    tokens = np.split()
    for i in range(len(tokens) - 1, -1, -1):
        if re.fullmatch(ROLES, tokens[i].lower()) and tokens[i][0].islower():
            tail = tokens[i + 1 :]
            if tail and all(t[0].isupper() for t in tail):
                return " ".join(tail)
            break
    return np


class _Speakers:
    """Remembers speakers named so far, to resolve pronouns and bare surnames."""

    def __init__(self):
        self.known: list[str] = []
        self.last: str | None = None

    def resolve(self, np: str | None) -> str | None:
        if np is None:
            return self.last
        if np.lower() in PRONOUNS:
            return self.last
        name = _person(_clean_np(np))
        if not name or name[0].islower():
            return self.last if name.lower() in PRONOUNS else name or self.last
        if len(name.split()) == 1:  # "Gao" -> "Gao Feng"
            for full in reversed(self.known):
                if name in full.split():
                    name = full
                    break
        if name not in self.known:
            self.known.append(name)
        self.last = name
        return name


def _attribution(sentence: str) -> str | None:
    for pattern in (VERB_SUBJECT, SUBJECT_VERB, ACCORDING):
        m = pattern.search(sentence)
        if m:
            return m.group("np")
    return None


def segment(text: str) -> list[Segment]:
    """Every sentence of `text` as a `Segment`; statements carry a speaker where the article names one."""
    speakers = _Speakers()
    out: list[Segment] = []
    for i, (s, e) in enumerate(_sentence_spans(text)):
        sent = text[s:e]
        quotes = [q for q in QUOTE.findall(sent) if len(q.split()) >= 4]
        np = _attribution(sent)
        if quotes:
            kind = "quote"
        elif np is not None and (np.lower() in PRONOUNS or np[0].isupper() or np.startswith("the ")):
            kind = "reported"
        else:
            kind = "none"
        speaker = speakers.resolve(np) if kind != "none" else None
        out.append(Segment(i, s, e, sent, kind != "none", kind, speaker))
    return out


def statements(text: str, include_non_statements: bool = False) -> list[Segment]:
    segs = segment(text)
    return segs if include_non_statements else [x for x in segs if x.is_statement]
