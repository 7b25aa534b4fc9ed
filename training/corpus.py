"""Build the corpus from its raw sources: `python -m training.corpus build`.

Sources (under training/data/raw/): statements written for the project (`written_*.jsonl`) and the first
annotation of the real White House statements in ../shared/data (`wh_labels_*.jsonl`). Adjudicated labels from
the second annotation (training/data/agreement/adjudication.jsonl) override first labels. The build drops
near-duplicates, writes fixed stratified train/dev/test splits (80/10/10) and lists every real row left out,
with its reason, in training/data/excluded.jsonl. It is deterministic: the same sources give the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

from .data import CORPUS_DIR, SPLITS, stratified_split
from .dedup import near_duplicates

DATA = Path(__file__).parent / "data"
RAW = DATA / "raw"
AGREEMENT = DATA / "agreement"
SHARED_WH = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "white-house-statements.jsonl"
SPLIT_SEED = 13
WH_SPEAKERS = {"MS. PSAKI": "Jen Psaki, White House Press Secretary",
               "MS. JEAN-PIERRE": "Karine Jean-Pierre, White House Press Secretary",
               "MR. KIRBY": "John Kirby, National Security Council", "THE PRESIDENT": "The President",
               "MR. SULLIVAN": "Jake Sullivan, National Security Advisor"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl_atomic(path: Path, rows: list[dict]):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def n_sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])[”\"]?\s+(?=[A-Z“\"])", text) if s.strip()])


def in_second_sample(row_id: str) -> bool:
    """The random 20% for the second annotation, fixed by the id's hash so it is known before the corpus is."""
    return int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % 5 == 0


def written_rows() -> list[dict]:
    rows = []
    for f in sorted(RAW.glob("written_*.jsonl")):
        for r in read_jsonl(f):
            r["source"] = {"kind": "written", "file": f"training/data/raw/{f.name}"}
            r["license"] = "CC-BY-4.0"
            rows.append(r)
    return rows


def wh_rows(shared: Path = SHARED_WH) -> tuple[list[dict], list[dict]]:
    """First-annotated White House rows kept for the corpus, and the excluded ones with reasons."""
    source = {r["id"]: r for r in read_jsonl(shared)}
    keep, excluded = [], []
    for f in sorted(RAW.glob("wh_labels_*.jsonl")):
        annotator = f.stem.replace("wh_labels_", "wh-")
        for a in read_jsonl(f):
            s = source[a["id"]]
            reason = None
            if not a["include"]:
                reason = f"not a statement: {a.get('exclude_reason')}"
            elif a.get("confidence") != "high":
                reason = "first annotator was not confident of the label"
            elif n_sentences(s["text"]) > 3:
                reason = "longer than 3 sentences"
            elif not re.search(r"\b(the|and|of|to|is)\b", s["text"]):
                reason = "not English"
            if reason:
                excluded.append({"id": a["id"], "text": s["text"], "reason": reason})
                continue
            keep.append({
                "id": a["id"], "text": s["text"], "label": a["label"],
                "speaker": WH_SPEAKERS.get(s["speaker"], (s["speaker"] or "The White House").title()),
                "speaker_type": a["speaker_type"], "topic": a["topic"], "country": "United States",
                "hard_case": a.get("hard_case"),
                "provenance": (f"real: {s['source_repo']}@{s['source_commit'][:12]} {s['source_path']}:"
                               f"{s['source_line']} ({s['date']}, {s['kind']}); labelled by annotator session "
                               f"{annotator} per docs/annotation-guidelines.md v1"),
                "source": {k: s[k] for k in ("source_repo", "source_path", "source_commit", "source_line", "date",
                                             "kind")},
                "license": s["license"],
            })
    return keep, excluded


def build(shared: Path = SHARED_WH) -> dict:
    rows = written_rows()
    wh, excluded = wh_rows(shared)
    rows += wh
    adjudicated = {}
    if (AGREEMENT / "adjudication.jsonl").is_file():
        adjudicated = {a["id"]: a for a in read_jsonl(AGREEMENT / "adjudication.jsonl")}
    for r in rows:
        a = adjudicated.get(r["id"])
        if a and a["final"] != r["label"]:
            r["provenance"] += f"; label changed from {r['label']} to {a['final']} by adjudication ({a['rule']})"
            r["label"] = a["final"]
    # exact and near duplicates: keep the first, record the rest
    drop = set()
    for i, j, sim in near_duplicates([r["text"] for r in rows], threshold=0.9):
        if i not in drop and j not in drop:
            drop.add(j)
            excluded.append({"id": rows[j]["id"], "text": rows[j]["text"],
                             "reason": f"near-duplicate of {rows[i]['id']} (TF-IDF cosine {sim:.2f})"})
    rows = [r for k, r in enumerate(rows) if k not in drop]
    rows.sort(key=lambda r: r["id"])
    rest, test = stratified_split([r["label"] for r in rows], 0.1, SPLIT_SEED)
    train_i, dev_i = stratified_split([rows[i]["label"] for i in rest], 1 / 9, SPLIT_SEED)
    splits = {"train": [rows[rest[i]] for i in train_i], "dev": [rows[rest[i]] for i in dev_i],
              "test": [rows[i] for i in test]}
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        write_jsonl_atomic(CORPUS_DIR / f"{name}.jsonl", splits[name])
    write_jsonl_atomic(DATA / "excluded.jsonl", sorted(excluded, key=lambda r: r["id"]))
    return {name: Counter(r["label"] for r in splits[name]) for name in SPLITS}


def blind_sample(out: Path, parts: int = 2, skip: set[str] = frozenset()) -> list[Path]:
    """The second-annotation sample without labels, shuffled, in `parts` files (id, text, speaker only)."""
    rows = [r for s in SPLITS for r in read_jsonl(CORPUS_DIR / f"{s}.jsonl")
            if in_second_sample(r["id"]) and r["id"] not in skip]
    rows.sort(key=lambda r: hashlib.sha256(("blind" + r["id"]).encode()).hexdigest())
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(parts):
        p = out / f"blind_{k + 1}.jsonl"
        write_jsonl_atomic(p, [{"id": r["id"], "text": r["text"], "speaker": r["speaker"]} for r in rows[k::parts]])
        paths.append(p)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m training.corpus", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="rebuild the corpus splits from training/data/raw")
    b.add_argument("--shared", type=Path, default=SHARED_WH)
    s = sub.add_parser("blind", help="write the blind second-annotation sample")
    s.add_argument("--out", type=Path, default=Path("/tmp/stance-blind"))
    s.add_argument("--parts", type=int, default=2)
    s.add_argument("--skip", type=Path, nargs="*", default=[], help="second-annotation files already done")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        for name, counts in build(args.shared).items():
            print(name, sum(counts.values()), dict(counts))
    else:
        done = {r["id"] for p in args.skip for r in read_jsonl(p)}
        for p in blind_sample(args.out, args.parts, done):
            print(p, sum(1 for _ in open(p)))


if __name__ == "__main__":
    sys.exit(main())
