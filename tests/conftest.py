"""Shared fixtures: a tiny random model (fast), the real default model (built once), a real HTTP server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SEED = {
    "Those are circumstantial, groundless accusations against Chinese companies and products": "defensive",
    "The ministry said the proposed legislation was due to hysteria and urged lawmakers to stop the bills":
        "accusatory",
    "They will work together to further implement the important consensus reached by the two state leaders":
        "conciliatory",
    "Vice Premier Liu He will visit the US on Jan. 30 to Jan. 31 for trade negotiations": "neutral",
}


def build_tiny_model(path: Path, labels=("conciliatory", "defensive", "accusatory", "neutral"), seed=0):
    """A randomly initialised 2-layer BERT with MiniLM's tokenizer, saved as a stance model directory."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from model import StanceClassifier
    from model.backbones import resolve_backbone

    torch.manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(resolve_backbone("minilm")[0])
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={lab: i for i, lab in enumerate(labels)})
    clf = StanceClassifier(BertForSequenceClassification(config), tok,
                           {"name": "tiny-test", "version": "0.0.1", "max_length": 32, "stride": 8})
    clf.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def default_model() -> Path:
    """The real default model: reused if `make model` built it, else trained once here (several minutes)."""
    path = Path(os.environ.get("STANCE_MODEL", ROOT / "models" / "stance-minilm"))
    if not (path / "stance.json").is_file():
        subprocess.run(["make", "-C", str(ROOT), "model", f"MODEL={path}"], check=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model: Path, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        e = {**os.environ, "STANCE_MODEL": str(model), **{f"STANCE_{k.upper()}": str(v) for k, v in env.items()}}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not become ready in 120 s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def metric(self, name: str) -> float:
        total = 0.0
        for line in httpx.get(self.url + "/metrics").text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture
def server_factory():
    started = []

    def start(model, **env):
        s = Server(model, **env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
