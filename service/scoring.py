"""`stance score`: stream archives through the model in bounded memory, resumable after any kill.

The output is a folder: `part-NNNNN.<fmt>` files, each covering a fixed range of input rows, plus `_errors-NNNNN.jsonl`
with that range's bad rows, and `_state.json`, the commit record. A part is written to a temporary name and
renamed; only then is `_state.json` replaced (also by rename). Input order is deterministic, so `--resume` skips
the rows of committed parts and redoes at most one part: every row ends up scored exactly once. `_SUCCESS` marks a
finished job. Pandas, pyarrow, Spark and DuckDB read the folder as one Parquet data set; JSONL and CSV parts
concatenate with `cat`.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .sources import Row, count_rows, read_rows

STATE = "_state.json"
RESERVED = ("doc_id", "statement_index", "start", "end", "speaker", "text", "label", "model_name", "model_version")


def add_score_arguments(p):
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="JSONL, CSV, Parquet or .txt files, folders of them, or .zip/.tar.gz/.jsonl.gz archives")
    p.add_argument("--out", required=True, help="output folder (parts + _state.json)")
    p.add_argument("--format", choices=["parquet", "jsonl", "csv"], default="parquet")
    p.add_argument("--text-field", default="text")
    p.add_argument("--id-field", default="id", help="document id column (default id; row location if absent)")
    p.add_argument("--unit", choices=["statements", "documents"], default="statements",
                   help="each row is a statement, or an article to split into statements with speakers")
    p.add_argument("--model", help="model directory (default: $STANCE_MODEL or models/stance-minilm)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted job in --out")
    p.add_argument("--part-rows", type=int, default=2048, help="input rows per committed part")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--engine", choices=["local", "ray"], default="local")
    p.add_argument("--ray-address", help="Ray cluster address (default: $RAY_ADDRESS or a local instance)")
    p.add_argument("--ray-actors", type=int, default=1, help="model actors for --engine ray")
    p.add_argument("--report", help="also write an HTML report to this folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# ---- turning input rows into statements -------------------------------------------------------------------------
def prepare(rows: list[Row], unit: str, text_field: str, id_field: str):
    """(statements, errors): statements are dicts with text and carried columns; errors name location + reason."""
    from model.segment import statements as split_statements

    out, errors = [], []
    for row in rows:
        if row.error:
            errors.append({"location": row.location, "reason": row.error})
            continue
        text = row.fields.get(text_field)
        if not isinstance(text, str):
            errors.append({"location": row.location, "reason": f"field {text_field!r} missing or not text"})
            continue
        if not text.strip():
            errors.append({"location": row.location, "reason": f"field {text_field!r} is empty"})
            continue
        carried = {(k if k not in RESERVED else f"input_{k}"): v for k, v in row.fields.items()
                   if k not in (text_field, id_field)}
        doc_id = str(row.fields.get(id_field) or row.location)
        if unit == "statements":
            out.append({"doc_id": doc_id, "statement_index": 0, "start": 0, "end": len(text), "speaker": None,
                        "text": text, **carried})
            continue
        found = split_statements(text)
        if not found:
            errors.append({"location": row.location, "reason": "no statements found in the document"})
        for k, s in enumerate(found):
            out.append({"doc_id": doc_id, "statement_index": k, "start": s.start, "end": s.end,
                        "speaker": s.speaker, "text": s.text, **carried})
    return out, errors


def label_rows(stmts: list[dict], probs, labels, name, version) -> list[dict]:
    for s, p in zip(stmts, probs):
        s["label"] = labels[int(p.argmax())]
        for lab, v in zip(labels, p):
            s[f"p_{lab}"] = float(v)
        s["model_name"], s["model_version"] = name, version
    return stmts


# ---- writing committed parts ------------------------------------------------------------------------------------
def _atomic_write(path: Path, write: Callable[[Path], None]):
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_part(path: Path, rows: list[dict], fmt: str):
    def write(tmp: Path):
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp)
        elif fmt == "jsonl":
            tmp.write_text("".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
        else:
            import csv

            cols = list(dict.fromkeys(k for r in rows for k in r))
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=cols)
                w.writeheader()
                w.writerows(rows)

    _atomic_write(path, write)


def _save_state(out: Path, state: dict):
    _atomic_write(out / STATE, lambda tmp: tmp.write_text(json.dumps(state, indent=1)))


def job_config(inputs, clf, *, format, unit, text_field, id_field, part_rows) -> dict:
    """What a job's output depends on; `--resume` refuses a folder made with anything else."""
    return {"inputs": [str(Path(i).resolve()) for i in inputs], "format": format, "unit": unit,
            "text_field": text_field, "id_field": id_field, "part_rows": part_rows,
            "model": {"name": clf.name, "version": clf.version, "weights_sha256": clf.manifest.get("weights_sha256")}}


class LocalEngine:
    def __init__(self, clf, batch_size):
        self.clf, self.batch_size = clf, batch_size

    def probs(self, texts: list[str]):
        return self.clf.predict_proba(texts, batch_size=self.batch_size)

    def close(self):
        pass


def score(inputs_rows: Iterable[Row], out: Path, config: dict, engine, labels, name, version, *, resume=False,
          progress: Callable[[int], None] = lambda n: None) -> dict:
    """Score rows into `out`; return the final state. Shared by the CLI and the service's job runner."""
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE
    if state_path.exists():
        state = json.loads(state_path.read_text())
        if not resume:
            raise FileExistsError(f"{out} already holds a scoring job; pass --resume to continue it, "
                                  "or choose another --out")
        if state["config"] != config:
            raise ValueError(f"{out} holds a job with other settings ({state['config']}); "
                             "resume with the same inputs, model and options")
    else:
        if resume and any(out.iterdir()):
            raise FileExistsError(f"{out} has files but no {STATE}; it is not a stance score output")
        state = {"config": config, "parts": [], "rows_done": 0, "statements": 0, "errors": 0, "done": False}
        _save_state(out, state)
    if state["done"]:
        return state
    rows = iter(inputs_rows)
    skipped = sum(1 for _ in itertools.islice(rows, state["rows_done"]))
    progress(skipped)
    ext = config["format"]
    part_rows = config["part_rows"]
    while True:
        chunk = list(itertools.islice(rows, part_rows))
        if not chunk:
            break
        k = len(state["parts"])
        stmts, errors = prepare(chunk, config["unit"], config["text_field"], config["id_field"])
        if stmts:
            probs = engine.probs([s["text"] for s in stmts])
            write_part(out / f"part-{k:05d}.{ext}", label_rows(stmts, probs, labels, name, version), ext)
        write_part(out / f"_errors-{k:05d}.jsonl", errors, "jsonl")
        state["parts"].append({"part": k, "rows": len(chunk), "statements": len(stmts), "errors": len(errors),
                               "file": f"part-{k:05d}.{ext}" if stmts else None})
        state["rows_done"] += len(chunk)
        state["statements"] += len(stmts)
        state["errors"] += len(errors)
        _save_state(out, state)  # the commit point
        progress(len(chunk))
    state["done"] = True
    _save_state(out, state)
    (out / "_SUCCESS").write_text("")
    return state


def output_files(out: Path) -> list[Path]:
    state = json.loads((out / STATE).read_text())
    return [out / p["file"] for p in state["parts"] if p["file"]]


def run_score(a) -> int:
    from tqdm.auto import tqdm

    from model import ModelLoadError, StanceClassifier

    try:
        clf = StanceClassifier.from_pretrained(a.model, threads=a.threads)
    except ModelLoadError as e:
        print(f"stance: error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    try:
        total = count_rows(a.inputs, a.unit)
    except FileNotFoundError as e:
        print(f"stance: error: {e}", file=sys.stderr)
        return 2
    if a.engine == "ray":
        from .ray_engine import RayEngine

        from model import default_model_dir

        engine = RayEngine(str(a.model or default_model_dir()), a.batch_size, a.ray_actors, a.ray_address,
                           a.threads)
    else:
        engine = LocalEngine(clf, a.batch_size)
    bar = tqdm(total=total, unit="row", desc="scoring", disable=a.quiet, smoothing=0.1)
    t0 = time.time()
    try:
        config = job_config(a.inputs, clf, format=a.format, unit=a.unit, text_field=a.text_field,
                            id_field=a.id_field, part_rows=a.part_rows)
        state = score(read_rows(a.inputs, a.unit), out, config, engine, clf.labels, clf.name, clf.version,
                      resume=a.resume, progress=bar.update)
    except (FileExistsError, ValueError, FileNotFoundError) as e:
        print(f"stance: error: {e}", file=sys.stderr)
        return 2
    finally:
        bar.close()
        engine.close()
    secs = time.time() - t0
    print(f"{state['rows_done']} rows -> {state['statements']} statements in {out} ({state['errors']} bad rows in "
          f"errors-*.jsonl), {secs:.1f} s", file=sys.stderr)
    if a.report:
        from .report import build_report

        print(f"report: {build_report(out, Path(a.report))}", file=sys.stderr)
    return 0


def iter_output(out: Path) -> Iterator[dict]:
    """Every scored row of an output folder (or a single output file), part by part."""
    files = output_files(out) if out.is_dir() else [out]
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(f).iter_batches(batch_size=4096):
                yield from batch.to_pylist()
        elif f.suffix == ".jsonl":
            with open(f, encoding="utf-8") as fh:
                yield from (json.loads(line) for line in fh if line.strip())
        else:
            import csv

            with open(f, newline="", encoding="utf-8") as fh:
                yield from csv.DictReader(fh)
