"""Loading and validating labelled data; the corpus check."""

import csv
import json
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, write_jsonl
from training.data import CORPUS_DIR, DataError, load_labelled, stratified_split

LABELS = ["conciliatory", "defensive", "accusatory", "neutral"]


def rows(n_per_label=12):
    return [{"text": f"Statement {lab} number {i}.", "label": lab} for lab in LABELS for i in range(n_per_label)]


def test_jsonl_csv_parquet_load_the_same(tmp_path):
    data = rows()
    write_jsonl(tmp_path / "a.jsonl", data)
    with open(tmp_path / "a.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "label"])
        w.writeheader()
        w.writerows(data)
    pq.write_table(pa.Table.from_pylist(data), tmp_path / "a.parquet")
    loaded = [load_labelled([tmp_path / f"a.{ext}"]) for ext in ("jsonl", "csv", "parquet")]
    assert all(x.texts == loaded[0].texts and x.labels == loaded[0].labels for x in loaded)
    assert len(loaded[0]) == 48


def test_other_column_names_are_mapped(tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", [{"body": r["text"], "stance": r["label"]} for r in rows()])
    ex = load_labelled([f], text_field="body", label_field="stance")
    assert len(ex) == 48
    with pytest.raises(DataError, match="--text-field"):
        load_labelled([f])


@pytest.mark.parametrize("bad,needle", [
    ({"text": "Fine text.", "label": "hostile"}, "a.jsonl:49: unknown label 'hostile'"),
    ({"text": "   ", "label": "neutral"}, "a.jsonl:49: empty or missing 'text'"),
    ({"text": "Statement neutral number 3.", "label": "neutral"}, "a.jsonl:49: duplicate of the row at"),
    ({"text": "No label here."}, "a.jsonl:49: empty or missing 'label'"),
])
def test_bad_rows_are_named_by_file_and_line(tmp_path, bad, needle):
    f = write_jsonl(tmp_path / "a.jsonl", rows() + [bad])
    with pytest.raises(DataError) as e:
        load_labelled([f], labels=LABELS)
    assert needle in str(e.value)


def test_malformed_json_names_the_line(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps(rows()[0]) + "\n{oops\n")
    with pytest.raises(DataError, match=r"a.jsonl:2: not valid JSON"):
        load_labelled([f])


def test_too_few_examples_of_a_label(tmp_path):
    f = write_jsonl(tmp_path / "a.jsonl", rows() + [{"text": "A lone one.", "label": "sarcastic"}])
    with pytest.raises(DataError, match="label 'sarcastic' has 1 examples; at least 10"):
        load_labelled([f])


def test_stratified_split_is_deterministic_and_stratified():
    labels = [lab for lab in LABELS for _ in range(50)]
    a, b = stratified_split(labels, 0.1, 7), stratified_split(labels, 0.1, 7)
    assert a == b and len(b[1]) == 20
    assert {labels[i] for i in b[1]} == set(LABELS) and all(sum(labels[i] == lab for i in b[1]) == 5 for lab in LABELS)


def test_corpus_check_passes_on_the_committed_corpus():
    r = subprocess.run([sys.executable, "-m", "training.data", "check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Cohen's kappa" in r.stdout and "near-duplicates (TF-IDF cosine > 0.9): 0 pairs" in r.stdout
    n = sum(1 for s in ("train", "dev", "test") for _ in open(CORPUS_DIR / f"{s}.jsonl"))
    assert n >= 3000 and f"corpus: {n} rows" in r.stdout


def test_corpus_check_fails_on_a_malformed_row(tmp_path):
    bad = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, bad)
    lines = (bad / "dev.jsonl").read_text().splitlines()
    row = json.loads(lines[4])
    row["label"] = "angry"
    del row["provenance"]
    lines[4] = json.dumps(row)
    lines.insert(7, "{broken")
    (bad / "dev.jsonl").write_text("\n".join(lines) + "\n")
    r = subprocess.run([sys.executable, "-m", "training.data", "check", "--corpus", str(bad)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "dev.jsonl:5: field 'label' is 'angry'" in r.stderr
    assert "dev.jsonl:5: field 'provenance' missing" in r.stderr
    assert "dev.jsonl:8: not a UTF-8 JSON object" in r.stderr
