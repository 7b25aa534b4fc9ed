"""`stance bench score|predict`: throughput and peak memory of batch scoring, recorded as JSON.

`score` writes N synthetic statement rows (corpus test sentences with a row number, so every row is distinct),
then times (1) the raw loop: `StanceClassifier.predict_proba` over the same texts in the same chunks, in this
process, and (2) `stance score` as a subprocess, whose peak RSS comes from the kernel's rusage. The ratio of the
two rates is the pipeline's efficiency (goal: >= 0.9). `predict` times the raw loop alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS_TEST = Path(__file__).resolve().parent.parent / "training" / "data" / "corpus" / "test.jsonl"


def synthetic_rows(n: int) -> list[str]:
    base = [json.loads(x)["text"] for x in CORPUS_TEST.read_text().splitlines() if x.strip()]
    return [f"{base[i % len(base)]} (row {i})" for i in range(n)]


def write_input(path: Path, n: int):
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(synthetic_rows(n)):
            f.write(json.dumps({"id": f"r{i}", "text": t, "source": "bench"}) + "\n")


def raw_loop(model: str | None, n: int, chunk: int = 2048, batch_size: int = 64) -> float:
    from model import StanceClassifier

    clf = StanceClassifier.from_pretrained(model)
    texts = synthetic_rows(n)
    clf.predict_proba(texts[:64])  # warm-up, as the scorer's first part is not timed apart either
    t0 = time.perf_counter()
    for i in range(0, n, chunk):
        clf.predict_proba(texts[i : i + chunk], batch_size=batch_size)
    return n / (time.perf_counter() - t0)


def score_subprocess(model: str | None, n: int, workdir: Path) -> dict:
    src, out = workdir / f"in-{n}.jsonl", workdir / f"out-{n}"
    write_input(src, n)
    cmd = [sys.executable, "-m", "service.cli", "score", str(src), "--out", str(out), "--quiet"]
    if model:
        cmd += ["--model", model]
    t0 = time.perf_counter()
    log = workdir / f"score-{n}.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"stance score failed with status {status}: {log.read_text()[-2000:]}")
    # the scorer reports its own time from the first row to the last commit (model loading excluded)
    scoring_secs = float(re.search(r"([0-9.]+) s$", log.read_text().strip().splitlines()[-1]).group(1))
    return {"rows": n, "wall_seconds": round(secs, 1), "wall_rows_per_s": round(n / secs, 1),
            "rows_per_s": round(n / scoring_secs, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def run_bench(a):
    import torch

    from model import default_model_dir

    model = a.model or str(default_model_dir())
    results = {"model": model, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.rows:
            entry = {"rows": n}
            if a.what in ("predict", "score"):
                entry["raw_predict_rows_per_s"] = round(raw_loop(model, min(n, 20_000)), 1)
            if a.what == "score":
                entry["score"] = score_subprocess(model, n, Path(tmp))
                entry["efficiency"] = round(entry["score"]["rows_per_s"] / entry["raw_predict_rows_per_s"], 3)
            results["runs"].append(entry)
            print(json.dumps(entry), flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {a.out}")
