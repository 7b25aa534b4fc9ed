"""`StanceClassifier`: a Hugging Face sequence-classification model plus a `stance.json` manifest.

The directory is a plain transformers directory (config with id2label, model.safetensors, tokenizer files), so
`transformers.pipeline("text-classification", model=DIR)` loads it too. `stance.json` adds what a service needs:
labels, backbone and its sha256, calibration temperature, training-data hash, metrics, version.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .errors import ModelLoadError

DEFAULT_LABELS = ("conciliatory", "defensive", "accusatory", "neutral")
MANIFEST = "stance.json"
REQUIRED_FILES = ("config.json", "model.safetensors", MANIFEST)


def default_model_dir() -> Path:
    """`STANCE_MODEL` if set, else `models/stance-minilm` under the current directory."""
    return Path(os.environ.get("STANCE_MODEL", "models/stance-minilm"))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{path} is not valid JSON: {e}") from None


class StanceClassifier:
    """Predicts the stance of statements. Load with `from_pretrained`, save with `save_pretrained`."""

    def __init__(self, model, tokenizer, manifest: dict, threads: int | None = None):
        if threads:
            torch.set_num_threads(threads)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.labels: list[str] = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.temperature = float(manifest.get("temperature", 1.0))
        window = manifest.get("max_length") or 256
        self.max_length = min(window, tokenizer.model_max_length or window)
        self.stride = int(manifest.get("stride", self.max_length // 4))
        self.model_calls = 0  # forward passes run; the service and benchmarks report it

    # ---- identity -------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest.get("name", "stance")

    @property
    def version(self) -> str:
        return self.manifest.get("version", "0")

    # ---- loading and saving ---------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, threads: int | None = None, verify: bool = True):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path) if path else default_model_dir()
        if not path.is_dir():
            raise ModelLoadError(
                f"model directory {path} does not exist; train one with `stance train` or `make model`, "
                "or point --model / STANCE_MODEL at an existing one"
            )
        for f in REQUIRED_FILES:
            if not (path / f).is_file():
                raise ModelLoadError(f"model directory {path} is incomplete: {f} is missing")
        manifest = _read_json(path / MANIFEST)
        config = _read_json(path / "config.json")
        if "id2label" not in config:
            raise ModelLoadError(f"{path / 'config.json'} has no id2label; it is not a classification model")
        from .backbones import sha256_file

        expected = manifest.get("weights_sha256")
        if verify and expected and sha256_file(path / "model.safetensors") != expected:
            raise ModelLoadError(f"{path / 'model.safetensors'} does not match the sha256 in {MANIFEST}: corrupt copy")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            model = AutoModelForSequenceClassification.from_pretrained(
                path, use_safetensors=True, trust_remote_code=False
            )
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"cannot load model from {path}: {e}") from None
        return cls(model, tokenizer, manifest, threads=threads)

    def save_pretrained(self, path: str | Path, extra_files: dict[str, str] | None = None) -> Path:
        """Write the directory atomically: a reader never sees a half-written model.

        `extra_files` maps file names (a model card, say) to their text."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from .backbones import sha256_file

        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            self.manifest["weights_sha256"] = sha256_file(tmp / "model.safetensors")
            self.manifest.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
            self.manifest["labels"] = self.labels
            self.manifest["temperature"] = self.temperature
            (tmp / MANIFEST).write_text(json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n")
            for name, text in (extra_files or {}).items():
                (tmp / name).write_text(text, encoding="utf-8")
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    # ---- inference ------------------------------------------------------------------------------------------
    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token windows for every text and, for each window, the index of its text.

        Texts longer than the window are cut into windows overlapping by `stride` tokens whose logits are averaged
        later, so nothing past the model's limit is silently dropped."""
        enc = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, stride=self.stride,
            return_overflowing_tokens=True, verbose=False,
        )
        return enc["input_ids"], list(enc["overflow_to_sample_mapping"])

    @torch.inference_mode()
    def _forward(self, windows: list[list[int]], batch_size: int) -> np.ndarray:
        """Logits for each window, batched by length so padding stays small."""
        pad = self.tokenizer.pad_token_id or 0
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        out = np.zeros((len(windows), len(self.labels)), dtype=np.float32)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            width = max(len(windows[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, : len(windows[i])] = torch.tensor(windows[i])
                mask[row, : len(windows[i])] = 1
            logits = self.model(input_ids=ids, attention_mask=mask).logits
            self.model_calls += 1
            out[idx] = logits.float().numpy()
        return out

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Uncalibrated logits, shape (n_texts, n_labels); long texts averaged over their windows."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        windows, owner = self._windows(texts)
        win_logits = self._forward(windows, batch_size)
        owner = np.asarray(owner)
        sums = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        np.add.at(sums, owner, win_logits)
        counts = np.bincount(owner, minlength=len(texts))[:, None]
        return (sums / counts).astype(np.float32)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Calibrated probabilities, shape (n_texts, n_labels), columns in `self.labels` order."""
        return softmax(self.logits(texts, batch_size) / self.temperature)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts, batch_size).argmax(axis=1)]

    def classify(self, texts: Sequence[str], batch_size: int = 32) -> list[dict]:
        """`[{"label": ..., "scores": {label: p}}]`: the shape the CLI and the service return."""
        return scores_to_dicts(self.predict_proba(texts, batch_size), self.labels)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def scores_to_dicts(probs: np.ndarray, labels: Sequence[str]) -> list[dict]:
    return [
        {"label": labels[int(p.argmax())], "scores": {lab: round(float(v), 6) for lab, v in zip(labels, p)}}
        for p in probs
    ]
