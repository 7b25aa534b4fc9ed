"""Batch jobs over HTTP: `POST /v1/jobs`, `GET /v1/jobs/{id}`, `GET /v1/jobs/{id}/result`.

Off unless `STANCE_JOBS_TOKEN` is set, and every call needs `Authorization: Bearer <token>`, since jobs read
server files and write results. Inputs are a path inside `STANCE_DATA_DIR` or an uploaded file. Job state lives in
SQLite (`STANCE_JOBS_DIR/jobs.sqlite3`); a runner thread scores jobs one at a time with the same resumable
`scoring.score` as `stance score`, so a job interrupted by a restart continues where its last part was committed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from .settings import Settings

SCHEMA = """CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY, state TEXT NOT NULL, input TEXT NOT NULL, options TEXT NOT NULL,
  created REAL NOT NULL, updated REAL NOT NULL, rows_done INTEGER DEFAULT 0, rows_total INTEGER,
  statements INTEGER DEFAULT 0, errors INTEGER DEFAULT 0, error TEXT)"""


class JobOptions(BaseModel):
    format: Literal["parquet", "jsonl", "csv"] = "jsonl"
    unit: Literal["statements", "documents"] = "statements"
    text_field: str = "text"
    id_field: str = "id"


class JobRequest(JobOptions):
    path: str = Field(description="input file or folder, relative to the server's STANCE_DATA_DIR")


class JobStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    rows_done: int
    rows_total: int | None
    progress: float | None
    statements: int
    errors: int
    error: str | None
    created: float
    updated: float


class JobStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    def _connect(self):
        return sqlite3.connect(self.path, timeout=30)

    def add(self, input_path: str, options: JobOptions) -> str:
        job_id, now = uuid.uuid4().hex[:16], time.time()
        with self._lock, self._connect() as db:
            db.execute("INSERT INTO jobs (id, state, input, options, created, updated) VALUES (?,?,?,?,?,?)",
                       (job_id, "queued", input_path, options.model_dump_json(), now, now))
        return job_id

    def get(self, job_id: str) -> dict | None:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(row) if row else None

    def update(self, job_id: str, **fields):
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._lock, self._connect() as db:
            db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def pending(self) -> list[str]:
        """Jobs to run: queued ones and those a restart interrupted, oldest first."""
        with self._connect() as db:
            return [r[0] for r in db.execute(
                "SELECT id FROM jobs WHERE state IN ('queued', 'running') ORDER BY created")]


class JobRunner:
    def __init__(self, settings: Settings, batcher=None):
        self.settings, self.batcher = settings, batcher
        self.root = Path(settings.jobs_dir)
        self.store = JobStore(self.root / "jobs.sqlite3")
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stance-jobs", daemon=True)
        self._clf = None

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)

    def submit(self, input_path: str, options: JobOptions) -> str:
        job_id = self.store.add(input_path, options)
        self._wake.set()
        return job_id

    def output_dir(self, job_id: str) -> Path:
        return self.root / job_id / "output"

    def result_file(self, job_id: str, fmt: str) -> Path:
        return self.root / job_id / f"result.{fmt}"

    def _run(self):
        if self.batcher is not None:  # load our model copy after the service's: concurrent lazy imports race
            while not (self.batcher.ready.wait(1) or self._stop or self.batcher.error):
                pass
        while not self._stop:
            for job_id in self.store.pending():
                if self._stop:
                    return
                self._run_job(job_id)
            self._wake.wait(timeout=5)
            self._wake.clear()

    def _run_job(self, job_id: str):
        from model import StanceClassifier

        from .scoring import LocalEngine, job_config, score
        from .sources import count_rows, read_rows

        job = self.store.get(job_id)
        opts = JobOptions.model_validate_json(job["options"])
        try:
            if self._clf is None:  # the runner's own copy: jobs never hold up the interactive queue
                self._clf = StanceClassifier.from_pretrained(self.settings.model, threads=self.settings.threads)
            clf = self._clf
            total = count_rows([job["input"]], opts.unit)
            self.store.update(job_id, state="running", rows_total=total)
            config = job_config([job["input"]], clf, part_rows=1024, **opts.model_dump())
            done = [0]

            def progress(n):
                done[0] += n
                self.store.update(job_id, rows_done=done[0])

            out = self.output_dir(job_id)
            state = score(read_rows([job["input"]], opts.unit), out, config, LocalEngine(clf, 64), clf.labels,
                          clf.name, clf.version, resume=True, progress=progress)
            merge_parts(out, self.result_file(job_id, opts.format), opts.format)
            self.store.update(job_id, state="done", rows_done=state["rows_done"], statements=state["statements"],
                              errors=state["errors"])
        except Exception as e:  # a failed job is reported, the runner goes on
            self.store.update(job_id, state="failed", error=f"{type(e).__name__}: {e}")


def merge_parts(out: Path, target: Path, fmt: str):
    """One downloadable file from the committed parts, written atomically."""
    from .scoring import output_files

    tmp = target.with_name(f".{target.name}.tmp")
    files = output_files(out)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(f) for f in files]
        pq.write_table(pa.concat_tables(tables, promote_options="default") if tables else pa.table({}), tmp)
    else:
        with open(tmp, "wb") as w:
            for k, f in enumerate(files):
                data = f.read_bytes()
                if fmt == "csv" and k > 0:  # one header
                    data = data.split(b"\n", 1)[1] if b"\n" in data else b""
                w.write(data)
    os.replace(tmp, target)


# ---- HTTP -------------------------------------------------------------------------------------------------------
router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def require_token(request: Request) -> JobRunner:
    settings: Settings = request.app.state.settings
    expected = f"Bearer {settings.jobs_token}"
    if request.headers.get("authorization") != expected:
        raise HTTPException(401, "missing or wrong token: send 'Authorization: Bearer <STANCE_JOBS_TOKEN>'",
                            headers={"WWW-Authenticate": "Bearer"})
    return request.app.state.jobs


def _status(job: dict) -> JobStatus:
    total = job["rows_total"]
    progress = 1.0 if job["state"] == "done" else (job["rows_done"] / total if total else None)
    return JobStatus(id=job["id"], state=job["state"], rows_done=job["rows_done"], rows_total=total,
                     progress=progress, statements=job["statements"], errors=job["errors"], error=job["error"],
                     created=job["created"], updated=job["updated"])


def _inside(base: Path, candidate: Path) -> bool:
    base, candidate = base.resolve(), candidate.resolve()
    return candidate == base or base in candidate.parents


@router.post("", response_model=JobStatus, status_code=202)
async def create_job(req: JobRequest, runner: JobRunner = Depends(require_token)):
    """Score a file or folder already on the server, inside STANCE_DATA_DIR."""
    data_dir = Path(runner.settings.data_dir)
    path = data_dir / req.path
    if Path(req.path).is_absolute() or not _inside(data_dir, path):
        raise HTTPException(403, f"path {req.path!r} is outside the data folder; give a path relative to it")
    if not path.exists():
        raise HTTPException(404, f"no file or folder {req.path!r} in the data folder")
    job_id = runner.submit(str(path.resolve()), JobOptions(**req.model_dump(exclude={"path"})))
    return _status(runner.store.get(job_id))


@router.post("/upload", response_model=JobStatus, status_code=202)
async def upload_job(request: Request, filename: str, format: Literal["parquet", "jsonl", "csv"] = "jsonl",
                     unit: Literal["statements", "documents"] = "statements", text_field: str = "text",
                     id_field: str = "id", runner: JobRunner = Depends(require_token)):
    """Score an uploaded file: send its bytes as the body, its name (for the format) as `?filename=`."""
    name = Path(filename).name
    if not name or name.startswith("."):
        raise HTTPException(422, "filename must be a plain file name such as statements.jsonl")
    folder = runner.root / "uploads" / uuid.uuid4().hex[:16]
    folder.mkdir(parents=True)
    tmp = folder / f".{name}.part"
    try:
        with open(tmp, "wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
    except ValueError as e:  # over STANCE_MAX_UPLOAD_BYTES: nothing is kept
        tmp.unlink(missing_ok=True)
        folder.rmdir()
        raise HTTPException(413, str(e)) from None
    os.replace(tmp, folder / name)
    opts = JobOptions(format=format, unit=unit, text_field=text_field, id_field=id_field)
    return _status(runner.store.get(runner.submit(str(folder / name), opts)))


@router.get("/{job_id}", response_model=JobStatus)
async def job_status(job_id: str, runner: JobRunner = Depends(require_token)):
    job = runner.store.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return _status(job)


@router.get("/{job_id}/result")
async def job_result(job_id: str, runner: JobRunner = Depends(require_token)):
    job = runner.store.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    if job["state"] != "done":
        raise HTTPException(409, f"job {job_id} is {job['state']}; the result is ready when state is done")
    fmt = json.loads(job["options"])["format"]
    media = {"parquet": "application/vnd.apache.parquet", "jsonl": "application/x-ndjson", "csv": "text/csv"}[fmt]
    return FileResponse(runner.result_file(job_id, fmt), media_type=media, filename=f"stance-{job_id}.{fmt}")
