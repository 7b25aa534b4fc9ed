"""Statement segmentation and speaker attribution."""

from conftest import FIXTURES
from model.segment import segment, statements

ARTICLE = (FIXTURES / "seed_article.txt").read_text()


def by_fragment(segs, fragment):
    return next(s for s in segs if fragment in s.text)


def test_seed_article_statements_and_speakers():
    segs = segment(ARTICLE)
    for s in segs:
        assert ARTICLE[s.start:s.end] == s.text
    expect = {
        "will visit the US on Jan. 30": "Gao Feng",
        "They will work together": "Gao Feng",  # bare quote: the last speaker
        "not a threat to the world": "Gao Feng",  # "he said"
        "groundless accusations": "Gao Feng",  # "Gao said": surname resolved
        "slowing global demand": "Gao Feng",
        "hysteria": "Chinese Ministry of Foreign Affairs",
    }
    for fragment, speaker in expect.items():
        s = by_fragment(segs, fragment)
        assert s.is_statement and s.speaker == speaker, (fragment, s)
    assert by_fragment(segs, "hysteria").kind == "reported"
    assert by_fragment(segs, "groundless").kind == "quote"
    for fragment in ("Liu is a top economic aide", "On top of the uncertainty", "This time, Liu travels"):
        s = by_fragment(segs, fragment)
        assert not s.is_statement and s.speaker is None


def test_quotes_with_inner_full_stops_stay_one_sentence():
    text = '“We will not accept this. It is unfair,” the minister said. Markets rose.'
    segs = segment(text)
    assert segs[0].text == '“We will not accept this. It is unfair,” the minister said.'
    assert segs[0].speaker == "minister" or segs[0].speaker is not None


def test_abbreviations_do_not_split_sentences():
    segs = segment("Mr. Smith met Dr. Jones on Jan. 5 in Washington. The U.S. delegation said talks would resume.")
    assert len(segs) == 2 and segs[1].is_statement


def test_statements_filter_and_empty_text():
    assert statements("") == []
    assert [s.is_statement for s in statements(ARTICLE)] == [True] * len(statements(ARTICLE))
    assert len(statements(ARTICLE, include_non_statements=True)) == len(segment(ARTICLE))
