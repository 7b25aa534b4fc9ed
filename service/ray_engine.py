"""`stance score --engine ray`: the same job on Ray Data, so a Ray cluster scores archives across machines.

Each committed part is a Ray dataset whose `map_batches` runs on a pool of model actors (the model is loaded once
per actor, not per batch). Reading, committing and resuming stay on the driver, so the output and its
exactly-once guarantee are the same as with the local engine. Point it at a cluster with `--ray-address` or
`RAY_ADDRESS` (e.g. `ray://head:10001`); the model directory must be readable on every worker.
"""

from __future__ import annotations

import os

import numpy as np


class _Predictor:
    def __init__(self, model_dir: str, batch_size: int, threads: int | None):
        from model import StanceClassifier

        self.clf = StanceClassifier.from_pretrained(model_dir, threads=threads)
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        return {"i": batch["i"], "probs": self.clf.predict_proba(texts, batch_size=self.batch_size)}


class RayEngine:
    def __init__(self, model_dir: str, batch_size: int, actors: int = 1, address: str | None = None,
                 threads: int | None = None):
        try:
            import ray
        except ImportError:
            raise SystemExit("stance: error: --engine ray needs Ray: pip install 'stance[ray]'") from None
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": os.cpu_count()}))
        self.ray = ray
        self.model_dir = os.path.abspath(model_dir)
        self.batch_size, self.actors, self.threads = batch_size, actors, threads

    def probs(self, texts: list[str]) -> np.ndarray:
        ds = self.ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        scored = ds.map_batches(
            _Predictor,
            fn_constructor_args=(self.model_dir, self.batch_size, self.threads),
            batch_size=self.batch_size * 8,
            concurrency=self.actors,
            batch_format="numpy",
        )
        out = np.zeros((len(texts), 0))
        rows = scored.take_all()
        if rows:
            out = np.zeros((len(texts), len(rows[0]["probs"])), dtype=np.float32)
            for r in rows:
                out[r["i"]] = r["probs"]
        return out

    def close(self):
        pass
