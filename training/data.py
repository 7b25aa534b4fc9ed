"""Loading and validating labelled data, and checking the project's corpus.

`load_labelled(files)` reads CSV, JSONL or Parquet with `datasets` and validates every row; errors name the file
and line. `python -m training.data check` validates the corpus and prints its counts, balance, agreement and
duplicate check (exit 1 on any problem).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CORPUS_DIR = Path(__file__).parent / "data" / "corpus"
SPLITS = ("train", "dev", "test")
TOPICS = ("trade", "technology", "security", "human rights", "climate", "labour", "corporate dispute", "health",
          "sport", "other")
SPEAKER_TYPES = ("government", "ministry", "company", "NGO", "union", "politician", "international body", "other")
CORPUS_FIELDS = ("id", "text", "label", "speaker", "speaker_type", "topic", "provenance")
MIN_PER_LABEL = 10


class DataError(ValueError):
    """Bad training data; the message lists each problem as `file:line: what`."""


@dataclass
class Examples:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # "file:line" of each row, for error messages

    def __len__(self):
        return len(self.texts)

    def subset(self, idx):
        return Examples([self.texts[i] for i in idx], [self.labels[i] for i in idx], [self.where[i] for i in idx])

    def sha256(self) -> str:
        h = hashlib.sha256()
        for t, lab in zip(self.texts, self.labels):
            h.update(f"{lab}\t{t}\n".encode())
        return h.hexdigest()


def _format(path: Path) -> str:
    name = path.name.lower()
    for ext, fmt in ((".jsonl", "json"), (".json", "json"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(ext) or name.endswith(ext + ".gz"):
            return fmt
    raise DataError(f"{path}: unsupported file type; use .csv, .jsonl or .parquet")


def _line_of(fmt: str, path: Path):
    """Map a row index to the line a user sees in an editor."""
    if fmt == "json":
        lines = [i + 1 for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines()) if ln.strip()]
        return lambda r: f"{path}:{lines[r] if r < len(lines) else r + 1}"
    if fmt == "csv":
        return lambda r: f"{path}:{r + 2}"  # header is line 1; assumes no multi-line fields
    return lambda r: f"{path}: row {r + 1}"


def text_key(text: str) -> str:
    """What makes two texts the same row: case and runs of whitespace do not count."""
    return " ".join(text.split()).lower()


def iter_jsonl(path: Path):
    """(line number, object) per non-blank line; a line that is not a JSON object is a DataError naming it."""
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="strict").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}:{n}: each line must be a JSON object")
        yield n, obj


def read_rows(path: str | Path) -> tuple[list[dict], callable]:
    """All rows of one file as dicts, with a function mapping row index to `file:line`."""
    from datasets import load_dataset

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = _format(path)
    try:
        if fmt == "json":
            for _ in iter_jsonl(path):  # datasets' own JSON errors name no line
                pass
        ds = load_dataset(fmt, data_files=str(path), split="train")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except DataError:
        raise
    except Exception as e:  # datasets wraps parser errors in many types
        raise DataError(f"{path}: cannot be read as {fmt}: {e}") from None
    return ds.to_list(), _line_of(fmt, path)


def load_labelled(files, text_field="text", label_field="label", labels=None, min_per_label=MIN_PER_LABEL):
    """Read and validate labelled files. `labels` (if given) is the allowed label set."""
    ex, problems, seen = Examples(), [], {}
    allowed = set(labels) if labels else None
    for f in files:
        rows, where = read_rows(f)
        if rows and (text_field not in rows[0] or label_field not in rows[0]):
            raise DataError(
                f"{f}: needs columns {text_field!r} and {label_field!r}, found {sorted(rows[0])}; "
                "map other names with --text-field / --label-field"
            )
        for i, row in enumerate(rows):
            loc, text, label = where(i), row.get(text_field), row.get(label_field)
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{loc}: empty or missing {text_field!r}")
                continue
            if label is None or str(label).strip() == "":
                problems.append(f"{loc}: empty or missing {label_field!r}")
                continue
            label = str(label).strip()
            if allowed is not None and label not in allowed:
                problems.append(f"{loc}: unknown label {label!r}; allowed: {sorted(allowed)}")
                continue
            key = text_key(text)
            if key in seen:
                problems.append(f"{loc}: duplicate of the row at {seen[key]}")
                continue
            seen[key] = loc
            ex.texts.append(text.strip())
            ex.labels.append(label)
            ex.where.append(loc)
    counts = Counter(ex.labels)
    for label, n in sorted(counts.items()):
        if n < min_per_label:
            problems.append(f"label {label!r} has {n} examples; at least {min_per_label} are needed")
    if problems:
        shown = "\n  ".join(problems[:25])
        more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
        raise DataError(f"{len(problems)} problem(s) in the training data:\n  {shown}{more}")
    if not ex.texts:
        raise DataError(f"no rows found in {', '.join(map(str, files))}")
    return ex


def stratified_split(labels, fraction, seed):
    """Indices (keep, held) with `fraction` of each label held out; deterministic for a seed."""
    from sklearn.model_selection import train_test_split

    idx = list(range(len(labels)))
    keep, held = train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels)
    return sorted(keep), sorted(held)


# ---- corpus check -------------------------------------------------------------------------------------------
def validate_corpus_rows(path: Path) -> tuple[list[dict], list[str]]:
    """Parse a corpus file; return rows and a list of `file:line: problem` strings."""
    from model import DEFAULT_LABELS

    rows, problems = [], []
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return [], [f"{path}: missing"]
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            problems.append(f"{path}:{n}: not a UTF-8 JSON object ({e})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path}:{n}: not a JSON object")
            continue
        for f in CORPUS_FIELDS:
            if f not in row:
                problems.append(f"{path}:{n}: field {f!r} missing")
        if not isinstance(row.get("text"), str) or not row.get("text", "").strip():
            problems.append(f"{path}:{n}: field 'text' empty")
        if row.get("label") not in DEFAULT_LABELS:
            problems.append(f"{path}:{n}: field 'label' is {row.get('label')!r}, not one of {list(DEFAULT_LABELS)}")
        if row.get("topic") not in TOPICS:
            problems.append(f"{path}:{n}: field 'topic' is {row.get('topic')!r}, not one of {list(TOPICS)}")
        if row.get("speaker_type") not in SPEAKER_TYPES:
            problems.append(f"{path}:{n}: field 'speaker_type' is {row.get('speaker_type')!r}")
        if not row.get("provenance"):
            problems.append(f"{path}:{n}: field 'provenance' empty")
        row["_where"] = f"{path}:{n}"
        rows.append(row)
    return rows, problems


def table(counter: Counter, total: int) -> str:
    return "\n".join(f"  {k:<20} {v:>5}  {100 * v / total:5.1f}%" for k, v in counter.most_common())


def check(corpus_dir: Path = CORPUS_DIR) -> int:
    from .agreement import agreement_summary
    from .dedup import near_duplicates
    from .distill import check_transfer

    all_rows, problems = [], []
    for split in SPLITS:
        rows, p = validate_corpus_rows(corpus_dir / f"{split}.jsonl")
        for r in rows:
            r["_split"] = split
        all_rows += rows
        problems += p
    ids = Counter(r.get("id") for r in all_rows)
    problems += [f"id {i!r} appears {n} times" for i, n in ids.items() if n > 1]
    n = len(all_rows)
    print(f"corpus: {n} rows in {corpus_dir}")
    for split in SPLITS:
        print(f"  {split:<6} {sum(r['_split'] == split for r in all_rows):>5}")
    if n:
        labels, topics = Counter(r.get("label") for r in all_rows), Counter(r.get("topic") for r in all_rows)
        print("labels:\n" + table(labels, n))
        print("topics:\n" + table(topics, n))
        print("speaker types:\n" + table(Counter(r.get("speaker_type") for r in all_rows), n))
        countries = {c for r in all_rows for c in (r.get("country") or "").split(";") if c.strip()}
        hard = sum(1 for r in all_rows if r.get("hard_case"))
        print(f"countries/regions: {len(countries)}; hard cases: {hard} ({100 * hard / n:.1f}%)")
        problems += [f"label {k!r} holds {100 * v / n:.1f}% of rows (< 15%)" for k, v in labels.items() if v < 0.15 * n]
        problems += [f"topic {k!r} holds {100 * v / n:.1f}% of rows (> 30%)" for k, v in topics.items() if v > 0.30 * n]
        if len(countries) < 25:
            problems.append(f"only {len(countries)} countries/regions (< 25)")
        for split in SPLITS:  # stratification: each split's label shares within 3 points of the whole
            rows = [r for r in all_rows if r["_split"] == split]
            for k, v in labels.items():
                share = sum(r.get("label") == k for r in rows) / max(1, len(rows))
                if abs(share - v / n) > 0.03:
                    problems.append(f"split {split}: label {k!r} share {share:.1%} is off the corpus {v / n:.1%}")
        dups = near_duplicates([r["text"] for r in all_rows], threshold=0.9)
        cross = [(i, j, s) for i, j, s in dups if all_rows[i]["_split"] != all_rows[j]["_split"]]
        print(f"near-duplicates (TF-IDF cosine > 0.9): {len(dups)} pairs, {len(cross)} across splits")
        for i, j, s in dups[:10]:
            problems.append(f"near-duplicate ({s:.2f}): {all_rows[i]['_where']} ~ {all_rows[j]['_where']}")
        agree = agreement_summary(corpus_dir.parent)
        if agree:
            print(agree)
        else:
            problems.append("no second annotation found (training/data/agreement/)")
        transfer, p = check_transfer(corpus_dir.parent)
        if transfer:
            print(transfer)
        problems += p
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems[:50]:
            print("  " + p, file=sys.stderr)
        return 1
    print("\nOK")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m training.data", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="validate the corpus and print its statistics")
    c.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    args = ap.parse_args(argv)
    if args.cmd == "check":
        return check(args.corpus)


if __name__ == "__main__":
    sys.exit(main())
