"""Reading archives for batch scoring: a stream of rows from JSONL, CSV, Parquet and text files, folders of them,
and `.zip`, `.tar.gz`/`.tgz` and `.gz` archives of them. Order is deterministic (sorted names), which is what makes
`stance score --resume` exact: row N is always the same row.

Each item is `Row(location, fields, error)`: a bad row (not UTF-8, bad JSON, missing or empty text) carries an
error and its location instead of failing the run.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet",
         ".txt": "txt"}


@dataclass
class Row:
    location: str  # "file:line" or "archive!member:line"
    fields: dict | None
    error: str | None = None


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".gz") and not lower.endswith((".tar.gz",)):
        lower = lower[:-3]
    for ext, kind in KINDS.items():
        if lower.endswith(ext):
            return kind
    return None


def _text_rows(stream: IO[bytes], where: str, kind: str, unit: str) -> Iterator[Row]:
    if kind == "txt" and unit == "documents":  # one article per file
        raw = stream.read()
        try:
            yield Row(f"{where}:1", {"text": raw.decode("utf-8")})
        except UnicodeDecodeError as e:
            yield Row(f"{where}:1", None, f"not UTF-8 (byte {e.start})")
        return
    if kind == "csv":
        yield from _csv_rows(stream, where)
        return
    for n, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield Row(f"{where}:{n}", None, f"not UTF-8 (byte {e.start})")
            continue
        if kind == "txt":
            yield Row(f"{where}:{n}", {"text": line.rstrip("\r\n")})
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Row(f"{where}:{n}", None, f"invalid JSON ({e.msg})")
            continue
        if not isinstance(obj, dict):
            yield Row(f"{where}:{n}", None, "not a JSON object")
            continue
        yield Row(f"{where}:{n}", obj)


def _csv_rows(stream: IO[bytes], where: str) -> Iterator[Row]:
    # Decode line by line so one bad byte costs one row, not the file.
    header = None
    for n, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as e:
            if header is None:
                yield Row(f"{where}:{n}", None, f"header not UTF-8 (byte {e.start}); file skipped")
                return
            yield Row(f"{where}:{n}", None, f"not UTF-8 (byte {e.start})")
            continue
        if not line.strip():
            continue
        values = next(csv.reader([line]))
        if header is None:
            header = values
            continue
        if len(values) != len(header):
            yield Row(f"{where}:{n}", None, f"{len(values)} fields, header has {len(header)}")
            continue
        yield Row(f"{where}:{n}", dict(zip(header, values)))


def _parquet_rows(source, where: str) -> Iterator[Row]:
    import pyarrow.parquet as pq

    f = pq.ParquetFile(source)
    n = 0
    for batch in f.iter_batches(batch_size=2048):  # bounded memory for large files
        for rec in batch.to_pylist():
            n += 1
            yield Row(f"{where}:row {n}", rec)


def _member_rows(stream: IO[bytes], name: str, where: str, unit: str) -> Iterator[Row]:
    kind = _kind(name)
    if kind is None:
        return
    if name.lower().endswith(".gz"):
        stream = gzip.GzipFile(fileobj=stream)
    if kind == "parquet":
        yield from _parquet_rows(io.BytesIO(stream.read()), where)
    else:
        yield from _text_rows(stream, where, kind, unit)


def expand(inputs: list[str]) -> list[Path]:
    """Files named, and the files inside folders named (recursively, sorted)."""
    out = []
    for p in map(Path, inputs):
        if p.is_dir():
            out += sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith("."))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def read_rows(inputs: list[str], unit: str = "statements") -> Iterator[Row]:
    for path in expand(inputs):
        name = path.name.lower()
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                for member in sorted(z.namelist()):
                    if not member.endswith("/"):
                        with z.open(member) as m:
                            yield from _member_rows(m, member, f"{path}!{member}", unit)
        elif name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(path, "r:*") as t:
                for member in sorted((m for m in t.getmembers() if m.isfile()), key=lambda m: m.name):
                    yield from _member_rows(t.extractfile(member), member.name, f"{path}!{member.name}", unit)
        elif name.endswith(".parquet"):
            yield from _parquet_rows(str(path), str(path))
        elif _kind(name):
            with open(path, "rb") as f:
                yield from _member_rows(f, name, str(path), unit)


def count_rows(inputs: list[str], unit: str = "statements") -> int | None:
    """Rows to expect, for the progress bar's time estimate: cheap for plain files, None inside archives."""
    import pyarrow.parquet as pq

    total = 0
    for path in expand(inputs):
        name = path.name.lower()
        kind = _kind(name)
        if name.endswith((".zip", ".tar.gz", ".tgz", ".tar")) or kind is None:
            return None
        if kind == "parquet":
            total += pq.ParquetFile(path).metadata.num_rows
        elif kind == "txt" and unit == "documents":
            total += 1
        else:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as f:
                total += sum(1 for line in f if line.strip()) - (1 if kind == "csv" else 0)
    return total
