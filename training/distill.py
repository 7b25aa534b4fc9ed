"""Distillation targets: a teacher model's logits, written once by `stance soft-label`, read by `stance train
--distill`.

A targets file is JSONL, one row per text: {"text": ..., "logits": {label: float, ...}, "teacher": ...}. A row
whose text is also a labelled training row gives that row a soft target as well as its label; the other rows are
a transfer set the student learns from the soft target alone (Hinton et al., 2015). Writing the targets once lets
the small model be rebuilt without the teacher, which takes an hour of CPU to train.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .corpus import write_jsonl_atomic
from .data import DataError, iter_jsonl, read_rows, text_key


def read_texts(files, text_field: str = "text") -> list[str]:
    """Non-empty texts of CSV, JSONL or Parquet files, first occurrence kept."""
    seen, texts = set(), []
    for f in files:
        rows, where = read_rows(f)
        for i, row in enumerate(rows):
            text = row.get(text_field)
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{where(i)}: empty or missing {text_field!r}")
            if text_key(text) not in seen:
                seen.add(text_key(text))
                texts.append(text.strip())
    return texts


def drop_near(texts: list[str], avoid: list[str], threshold: float = 0.9) -> tuple[list[str], int]:
    """Texts whose TF-IDF cosine to every text in `avoid` is below `threshold` (keeps evaluation data out)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts or not avoid:
        return texts, 0
    vec = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True).fit(texts + avoid)
    sims = (vec.transform(texts) @ vec.transform(avoid).T).max(axis=1).toarray().ravel()
    keep = [t for t, s in zip(texts, sims) if s < threshold]
    return keep, len(texts) - len(keep)


def write_targets(teacher, texts: list[str], out: Path, batch_size: int = 32) -> Path:
    """Score `texts` with `teacher` (a StanceClassifier) and write the targets file atomically."""
    z = teacher.logits(texts, batch_size=batch_size)
    tag = f"{teacher.name}@{teacher.manifest.get('weights_sha256', '')[:12]}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"text": t, "logits": {lab: round(float(v), 4) for lab, v in zip(teacher.labels, r)}, "teacher": tag}
            for t, r in zip(texts, z)]
    write_jsonl_atomic(out, rows)
    return out


def read_targets(path: str | Path, labels: list[str]) -> tuple[list[str], np.ndarray, str]:
    """Texts, logits (rows in `labels` order) and the file's sha256; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    texts, rows, seen = [], [], {}
    for n, row in iter_jsonl(path):
        text, logits = row.get("text"), row.get("logits")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{path}:{n}: empty or missing 'text'")
        if not isinstance(logits, dict) or set(logits) != set(labels):
            got = sorted(logits) if isinstance(logits, dict) else logits
            raise DataError(f"{path}:{n}: 'logits' must map each of {labels} to a number, got {got}")
        if not all(isinstance(logits[lab], (int, float)) for lab in labels):
            raise DataError(f"{path}:{n}: 'logits' values must be numbers")
        if text_key(text) in seen:
            raise DataError(f"{path}:{n}: duplicate of the text at line {seen[text_key(text)]}")
        seen[text_key(text)] = n
        texts.append(text.strip())
        rows.append([float(logits[lab]) for lab in labels])
    if not texts:
        raise DataError(f"{path}: no targets")
    return texts, np.array(rows, dtype=np.float32), hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Targets:
    """Teacher logits lined up with the training rows, plus the transfer rows that have no label."""

    soft: np.ndarray  # (n_train, n_labels), in training-row order
    extra_texts: list[str]
    extra_soft: np.ndarray
    file: str
    sha256: str


def align(path, train_ex, held_out: list[str], labels: list[str]) -> Targets:
    """Match a targets file to the training rows (a row without a target learns from its label alone); refuse a
    file that contains held-out text."""
    texts, z, sha = read_targets(path, labels)
    held = {text_key(t) for t in held_out}
    leaked = [i for i, t in enumerate(texts) if text_key(t) in held]
    if leaked:
        raise DataError(f"{path}: {len(leaked)} target text(s) are dev or test rows, first {texts[leaked[0]]!r}")
    index = {text_key(t): i for i, t in enumerate(texts)}
    soft = np.full((len(train_ex), len(labels)), np.nan, dtype=np.float32)
    for r, t in enumerate(train_ex.texts):
        if text_key(t) in index:
            soft[r] = z[index[text_key(t)]]
    train_keys = {text_key(t) for t in train_ex.texts}
    extra = [i for i, t in enumerate(texts) if text_key(t) not in train_keys]
    return Targets(soft, [texts[i] for i in extra], z[extra], str(path), sha)


def check_transfer(data_dir: Path) -> tuple[str, list[str]]:
    """Transfer files well formed, clear of dev/test, and covered by the committed targets (for `data check`)."""
    files = sorted((data_dir / "transfer").glob("*.jsonl"))
    if not files:
        return "", []
    problems, texts = [], []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict) or not str(row.get("text", "")).strip() or not row.get("provenance"):
                problems.append(f"{f}:{n}: needs a JSON object with 'text' and 'provenance'")
            else:
                texts.append(row["text"])
    held = read_texts([data_dir / "corpus" / "dev.jsonl", data_dir / "corpus" / "test.jsonl"])
    _, near = drop_near(texts, held)
    if near:
        problems.append(f"{near} transfer text(s) within cosine 0.9 of a dev or test row")
    summary = f"transfer set: {len(texts)} rows in {len(files)} files, {near} near dev/test"
    targets = data_dir / "distill" / "targets-mpnet.jsonl"
    if targets.is_file():
        scored = {text_key(json.loads(line)["text"]) for line in targets.read_text(encoding="utf-8").splitlines()}
        train = read_texts([data_dir / "corpus" / "train.jsonl"])
        stale = sum(text_key(t) not in scored for t in train + texts)
        summary += f"; teacher targets: {len(scored)} rows, {stale} train or transfer rows missing"
        if stale:
            problems.append(f"{targets}: no target for {stale} train or transfer row(s); run `make distill-targets`")
    return summary, problems
