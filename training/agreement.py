"""Inter-annotator agreement: `python -m training.agreement [--disagreements FILE]`.

First labels come from the raw sources (as first annotated, before adjudication); second labels from the blind
second annotation in training/data/agreement/second_*.jsonl (a random 20% of the corpus, chosen by id hash,
labelled by an annotator who never saw the first labels). Prints Cohen's kappa overall and per label (one label
against the rest), and checks that every disagreement has an adjudication naming the deciding guideline rule.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _read(path: Path) -> list[dict]:
    """Rows of a JSONL file; malformed lines are skipped here (`training.data check` reports them)."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def first_labels(data: Path = DATA) -> dict[str, str]:
    labels = {}
    for f in sorted((data / "raw").glob("written_*.jsonl")):
        labels.update({r["id"]: r["label"] for r in _read(f)})
    for f in sorted((data / "raw").glob("wh_labels_*.jsonl")):
        labels.update({r["id"]: r["label"] for r in _read(f) if r.get("include")})
    return labels


def pairs(data: Path = DATA) -> list[tuple[str, str, str]]:
    """(id, first, second) for every corpus row with a second annotation."""
    corpus_ids = {r["id"] for s in ("train", "dev", "test") for r in _read(data / "corpus" / f"{s}.jsonl")}
    first = first_labels(data)
    second = {}
    for f in sorted((data / "agreement").glob("second_*.jsonl")):
        second.update({r["id"]: r["label"] for r in _read(f)})
    return [(i, first[i], second[i]) for i in sorted(second) if i in corpus_ids and i in first]


def kappas(p: list[tuple[str, str, str]]) -> dict:
    from sklearn.metrics import cohen_kappa_score

    a, b = [x[1] for x in p], [x[2] for x in p]
    out = {"n": len(p), "agreement": sum(x == y for x, y in zip(a, b)) / len(p),
           "overall": cohen_kappa_score(a, b), "per_label": {}}
    for lab in sorted(set(a) | set(b)):
        out["per_label"][lab] = cohen_kappa_score([x == lab for x in a], [y == lab for y in b])
    return out


def agreement_summary(data: Path = DATA) -> str | None:
    """Text block for `training.data check`; None when there is no second annotation."""
    p = pairs(data)
    if not p:
        return None
    k = kappas(p)
    adjudicated = {}
    if (data / "agreement" / "adjudication.jsonl").is_file():
        adjudicated = {r["id"]: r for r in _read(data / "agreement" / "adjudication.jsonl")}
    disagreements = [x for x in p if x[1] != x[2]]
    missing = [x[0] for x in disagreements if not adjudicated.get(x[0], {}).get("rule")]
    lines = [f"second annotation: {k['n']} rows, raw agreement {k['agreement']:.3f}, "
             f"Cohen's kappa {k['overall']:.3f}"]
    lines += [f"  kappa {lab:<14} {v:.3f}" for lab, v in k["per_label"].items()]
    finals = Counter(adjudicated[x[0]]["final"] == x[1] for x in disagreements if x[0] in adjudicated)
    lines.append(f"disagreements: {len(disagreements)}, adjudicated {len(disagreements) - len(missing)} "
                 f"(first label kept {finals[True]}, changed {finals[False]})")
    if missing:
        lines.append(f"  NOT adjudicated: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m training.agreement", description=__doc__)
    ap.add_argument("--disagreements", type=Path, help="write the disagreeing rows (id, text, both labels) here")
    args = ap.parse_args(argv)
    summary = agreement_summary()
    if summary is None:
        print("no second annotation found", file=sys.stderr)
        return 1
    print(summary)
    if args.disagreements:
        texts = {r["id"]: r["text"] for s in ("train", "dev", "test") for r in _read(DATA / "corpus" / f"{s}.jsonl")}
        rows = [{"id": i, "text": texts[i], "first": a, "second": b} for i, a, b in pairs() if a != b]
        args.disagreements.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        print(f"{len(rows)} disagreements written to {args.disagreements}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
