"""Service settings, read from `STANCE_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STANCE_", protected_namespaces=())

    model: Path = Path("models/stance-minilm")  # STANCE_MODEL, as for the CLI
    threads: int | None = None  # torch threads for the model worker
    max_texts: int = 64  # texts per /v1/classify request
    max_chars: int = 20_000  # characters per text (documents: per article x 10)
    max_body_bytes: int = 2_000_000  # request bodies, enforced by middleware
    max_batch_texts: int = 64  # micro-batch bound, in texts
    max_batch_tokens: int = 8_192  # micro-batch bound, in tokens (padding included)
    max_wait_ms: float = 10.0  # how long the worker waits to fill a micro-batch
    queue_size: int = 1_024  # texts waiting for the model; beyond it requests get 429
    retry_after_s: int = 1
    explain_top_k: int = 8
    # Batch jobs (/v1/jobs): off unless a token is set, since they read server files and write results.
    jobs_token: str | None = None
    data_dir: Path = Path("data")  # server-side inputs must lie inside this folder
    jobs_dir: Path = Path("jobs")  # SQLite state and outputs
    max_upload_bytes: int = 1_000_000_000  # /v1/jobs/upload bodies, streamed to disk
