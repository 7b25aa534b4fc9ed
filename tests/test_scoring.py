"""`stance score`: every input format, documents mode, bad rows, kill-and-resume, report, Ray engine."""

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import FIXTURES, ROOT, write_jsonl
from service.scoring import iter_output
from service.sources import read_rows

STATEMENTS = [f"Statement {i}: the ministry said talks on tariffs would resume in round {i}." for i in range(30)]


def score(tiny_model, *args, check=True):
    cmd = [sys.executable, "-m", "service.cli", "score", *map(str, args), "--model", str(tiny_model), "--quiet"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=check)


def rows_of(out: Path):
    return sorted(iter_output(out), key=lambda r: (r["doc_id"], r["statement_index"]))


@pytest.fixture
def inputs(tmp_path):
    """The same 30 statements in every format the scorer reads."""
    d = tmp_path / "in"
    d.mkdir()
    recs = [{"id": f"s{i:02d}", "text": t, "date": f"2024-0{1 + i % 3}-01", "source": "wire"}
            for i, t in enumerate(STATEMENTS)]
    write_jsonl(d / "a.jsonl", recs)
    with open(d / "a.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text", "date", "source"])
        w.writeheader()
        w.writerows(recs)
    pq.write_table(pa.Table.from_pylist(recs), d / "a.parquet")
    (d / "a.txt").write_text("\n".join(STATEMENTS) + "\n")
    with gzip.open(d / "a.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in recs))
    with zipfile.ZipFile(d / "a.zip", "w") as z:
        z.write(d / "a.jsonl", "inner/a.jsonl")
        z.write(d / "a.csv", "inner/b.csv")
    with tarfile.open(d / "a.tar.gz", "w:gz") as t:
        t.add(d / "a.jsonl", "x/a.jsonl")
    return d


@pytest.mark.parametrize("name", ["a.jsonl", "a.csv", "a.parquet", "a.txt", "a.jsonl.gz", "a.zip", "a.tar.gz"])
def test_every_input_format_scores_every_row(tiny_model, inputs, tmp_path, name):
    out = tmp_path / "out"
    score(tiny_model, inputs / name, "--out", out, "--format", "jsonl")
    rows = rows_of(out)
    expected = 60 if name == "a.zip" else 30
    assert len(rows) == expected
    assert sorted({r["text"] for r in rows}) == sorted(STATEMENTS)
    for r in rows:
        probs = [r[f"p_{lab}"] for lab in ("conciliatory", "defensive", "accusatory", "neutral")]
        assert abs(sum(probs) - 1) < 1e-4 and r["label"] in ("conciliatory", "defensive", "accusatory", "neutral")
        assert r["model_name"] == "tiny-test" and r["model_version"] == "0.0.1"
    if name in ("a.jsonl", "a.csv", "a.parquet"):  # other columns are carried through
        assert {r["source"] for r in rows} == {"wire"} and rows[0]["doc_id"] == "s00"
        assert rows[0]["date"] == "2024-01-01"


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_output_formats_hold_the_same_rows(tiny_model, inputs, tmp_path, fmt):
    out = tmp_path / f"out-{fmt}"
    score(tiny_model, inputs / "a.jsonl", "--out", out, "--format", fmt, "--part-rows", "7")
    rows = rows_of(out)
    assert [r["doc_id"] for r in rows] == [f"s{i:02d}" for i in range(30)]
    assert len(list(out.glob(f"part-*.{fmt}"))) == 5  # 30 rows in parts of 7
    assert (out / "_SUCCESS").exists()
    if fmt == "parquet":
        assert pq.read_table(out).num_rows == 30  # the folder reads as one data set


def test_folder_input_reads_every_file(tiny_model, inputs, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("a.jsonl", "a.csv"):
        (folder / name).write_bytes((inputs / name).read_bytes())
    score(tiny_model, folder, "--out", tmp_path / "o", "--format", "jsonl")
    assert len(rows_of(tmp_path / "o")) == 60


def test_bad_rows_go_to_the_side_file(tiny_model, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_bytes(b'{"id": "ok1", "text": "We welcome the talks."}\n'
                  b'{"id": "bad-utf8", "text": "caf\xe9"}\n'
                  b'{"id": "nofield", "body": "x"}\n'
                  b'{"id": "empty", "text": "   "}\n'
                  b'not json at all\n'
                  b'{"id": "ok2", "text": "These claims are false."}\n')
    r = score(tiny_model, f, "--out", tmp_path / "o", "--format", "jsonl")
    assert "4 bad rows" in r.stderr
    assert [x["doc_id"] for x in rows_of(tmp_path / "o")] == ["ok1", "ok2"]
    errors = [json.loads(x) for e in sorted((tmp_path / "o").glob("_errors-*.jsonl")) for x in e.read_text().splitlines()]
    reasons = {e["location"].rsplit(":", 1)[1]: e["reason"] for e in errors}
    assert set(reasons) == {"2", "3", "4", "5"}
    assert "UTF-8" in reasons["2"] and "missing" in reasons["3"] and "empty" in reasons["4"] and "JSON" in reasons["5"]


def test_documents_mode_on_the_seed_article(tiny_model, tmp_path):
    article = (FIXTURES / "seed_article.txt").read_text()
    f = write_jsonl(tmp_path / "docs.jsonl", [{"id": "seed", "text": article, "source": "Bloomberg"}])
    score(tiny_model, f, "--out", tmp_path / "o", "--unit", "documents", "--format", "jsonl")
    rows = rows_of(tmp_path / "o")
    assert len(rows) >= 8 and {r["doc_id"] for r in rows} == {"seed"}
    assert [r["statement_index"] for r in rows] == list(range(len(rows)))
    for r in rows:
        assert article[r["start"]:r["end"]] == r["text"] and r["source"] == "Bloomberg"
    speakers = {r["speaker"] for r in rows if "groundless" in r["text"] or "hysteria" in r["text"]}
    assert speakers == {"Gao Feng", "Chinese Ministry of Foreign Affairs"}


def test_existing_output_is_not_overwritten_without_resume(tiny_model, inputs, tmp_path):
    score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "o")
    r = score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "o", check=False)
    assert r.returncode == 2 and "--resume" in r.stderr


def test_resume_with_other_settings_is_refused(tiny_model, inputs, tmp_path):
    score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "o", "--part-rows", "5")
    r = score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "o", "--part-rows", "6", "--resume", check=False)
    assert r.returncode == 2 and "other settings" in r.stderr


def test_sigkill_then_resume_scores_every_row_exactly_once(tiny_model, tmp_path):
    n = 3000
    f = write_jsonl(tmp_path / "big.jsonl",
                    [{"id": f"r{i:05d}", "text": f"Row {i}: " + STATEMENTS[i % 30]} for i in range(n)])
    reference = tmp_path / "ref"
    score(tiny_model, f, "--out", reference, "--format", "jsonl", "--part-rows", "100")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "service.cli", "score", str(f), "--out", str(out), "--format", "jsonl",
           "--part-rows", "100", "--model", str(tiny_model), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("part-*.jsonl"))) < 5:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = json.loads((out / "_state.json").read_text())
    assert not state["done"] and 0 < state["rows_done"] < n, "killed mid-run"
    score(tiny_model, f, "--out", out, "--format", "jsonl", "--part-rows", "100", "--resume")
    got, want = rows_of(out), rows_of(reference)
    assert len(got) == n and len({r["doc_id"] for r in got}) == n
    assert [(r["doc_id"], r["label"]) for r in got] == [(r["doc_id"], r["label"]) for r in want]
    assert not list(out.glob(".*.tmp")), "no temporary files left"


def test_report_has_charts_and_examples(tiny_model, inputs, tmp_path):
    score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "o", "--report", tmp_path / "rep")
    page = (tmp_path / "rep" / "index.html").read_text()
    for png in ("overall.png", "sources.png", "over_time.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 1000 and png in page
    assert "Most confident examples" in page
    assert any(s in page for s in STATEMENTS), "the most confident examples are listed"
    subprocess.run([sys.executable, "-m", "service.cli", "report", str(tmp_path / "o"), "--out",
                        str(tmp_path / "rep2")], cwd=ROOT, capture_output=True, text=True, check=True)
    assert (tmp_path / "rep2" / "index.html").exists()


def test_reader_streams_rows_lazily(tmp_path):
    f = write_jsonl(tmp_path / "x.jsonl", [{"text": str(i)} for i in range(5)])
    it = read_rows([str(f)])
    assert next(it).fields == {"text": "0"} and next(it).location.endswith(":2")


@pytest.mark.slow
def test_ray_engine_gives_the_same_labels(tiny_model, inputs, tmp_path):
    pytest.importorskip("ray")
    score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "local", "--format", "jsonl")
    score(tiny_model, inputs / "a.jsonl", "--out", tmp_path / "ray", "--format", "jsonl", "--engine", "ray",
          "--part-rows", "16")
    local, ray_rows = rows_of(tmp_path / "local"), rows_of(tmp_path / "ray")
    assert [(r["doc_id"], r["label"]) for r in ray_rows] == [(r["doc_id"], r["label"]) for r in local]
    for a, b in zip(local, ray_rows):
        assert abs(a["p_neutral"] - b["p_neutral"]) < 1e-5
