"""`/v1/jobs` end to end over real HTTP: token, data-folder confinement, upload, progress, result, restart."""

import json
import time

import httpx
import pytest

from conftest import write_jsonl

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def wait_done(url, job_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = httpx.get(f"{url}/v1/jobs/{job_id}", headers=AUTH).json()
        if s["state"] in ("done", "failed"):
            return s
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} not done: {s}")


@pytest.fixture
def env(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "in.jsonl", [{"id": f"d{i}", "text": f"We welcome talks number {i}."} for i in range(40)]
                + [{"id": "bad", "text": ""}])
    return {"jobs_token": TOKEN, "data_dir": data, "jobs_dir": tmp_path / "jobs"}


def test_jobs_are_off_without_a_token(tiny_model, server_factory):
    s = server_factory(tiny_model)
    assert httpx.post(s.url + "/v1/jobs", json={"path": "x"}).status_code == 404


def test_job_on_a_server_file(tiny_model, server_factory, env):
    s = server_factory(tiny_model, **env)
    assert httpx.post(s.url + "/v1/jobs", json={"path": "in.jsonl"}).status_code == 401
    for path in ("../secret.jsonl", "/etc/passwd"):
        r = httpx.post(s.url + "/v1/jobs", json={"path": path}, headers=AUTH)
        assert r.status_code == 403 and "outside the data folder" in r.json()["error"]
    assert httpx.post(s.url + "/v1/jobs", json={"path": "nope.jsonl"}, headers=AUTH).status_code == 404
    r = httpx.post(s.url + "/v1/jobs", json={"path": "in.jsonl", "format": "jsonl"}, headers=AUTH)
    assert r.status_code == 202 and r.json()["state"] in ("queued", "running")
    job = r.json()["id"]
    status = wait_done(s.url, job)
    assert status["state"] == "done" and status["rows_done"] == 41 and status["statements"] == 40
    assert status["errors"] == 1 and status["progress"] == 1.0
    result = httpx.get(f"{s.url}/v1/jobs/{job}/result", headers=AUTH)
    rows = [json.loads(x) for x in result.text.splitlines()]
    assert len(rows) == 40 and {r["doc_id"] for r in rows} == {f"d{i}" for i in range(40)}
    assert httpx.get(f"{s.url}/v1/jobs/unknown", headers=AUTH).status_code == 404


def test_uploaded_file_and_survival_across_restart(tiny_model, server_factory, env, tmp_path):
    s = server_factory(tiny_model, **env)
    body = "".join(json.dumps({"id": f"u{i}", "text": f"These claims are false, case {i}."}) + "\n"
                   for i in range(25))
    r = httpx.post(s.url + "/v1/jobs/upload", params={"filename": "up.jsonl", "format": "csv"}, content=body,
                   headers=AUTH)
    assert r.status_code == 202
    job = r.json()["id"]
    wait_done(s.url, job)
    s.stop()
    s2 = server_factory(tiny_model, **env)  # state is in SQLite: the job is still there
    status = httpx.get(f"{s2.url}/v1/jobs/{job}", headers=AUTH).json()
    assert status["state"] == "done" and status["statements"] == 25
    csv_text = httpx.get(f"{s2.url}/v1/jobs/{job}/result", headers=AUTH).text
    assert csv_text.splitlines()[0].startswith("doc_id,") and len(csv_text.splitlines()) == 26


def test_interrupted_job_resumes_after_restart(tiny_model, server_factory, env):
    from service.jobs import JobOptions, JobStore

    # a job left 'running' by a crash, with nothing committed yet, is picked up on start
    store = JobStore(env["jobs_dir"] / "jobs.sqlite3")
    job = store.add(str((env["data_dir"] / "in.jsonl").resolve()), JobOptions(format="jsonl"))
    store.update(job, state="running")
    s = server_factory(tiny_model, **env)
    status = wait_done(s.url, job)
    assert status["state"] == "done" and status["statements"] == 40, status["error"]
