"""The default model (MiniLM fine-tuned on the corpus): seed examples and its recorded test-split quality."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, SEED

pytestmark = pytest.mark.slow


def test_seed_examples(default_model):
    from model import StanceClassifier

    clf = StanceClassifier.from_pretrained(default_model)
    texts = list(SEED)
    assert clf.predict(texts) == [SEED[t] for t in texts]


def test_recorded_test_macro_f1_meets_the_bar(default_model):
    m = json.loads((default_model / "stance.json").read_text())
    assert m["metrics"]["split"] == "test" and m["backbone"]["name"] == "minilm"
    assert m["metrics"]["macro_f1"] >= 0.85
    assert m["metrics"]["macro_f1"] > m["metrics"]["baseline"]["macro_f1"]
    assert m["training"]["distill"]["n_transfer"] > 10000  # `make model` distils mpnet (docs/model.md)


@pytest.mark.xfail(strict=True, reason="open (issue 3, docs/model.md): the default model beats the TF-IDF baseline "
                   "by 5.9 points on the test split, not 8")
def test_beats_the_tfidf_baseline_by_eight_points(default_model):
    m = json.loads((default_model / "stance.json").read_text())["metrics"]
    assert m["macro_f1"] - m["baseline"]["macro_f1"] >= 0.08


def test_eval_cli_reproduces_the_recorded_metrics(default_model):
    r = subprocess.run([sys.executable, "-m", "service.cli", "eval", "--model", str(default_model), "--data",
                        "training/data/corpus/test.jsonl", "--json"], cwd=ROOT, capture_output=True, text=True,
                       check=True)
    got = json.loads(r.stdout)
    recorded = json.loads((default_model / "stance.json").read_text())["metrics"]
    assert got["n"] == recorded["n"] and got["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=1e-4)
    assert got["baseline"]["macro_f1"] == pytest.approx(recorded["baseline"]["macro_f1"], abs=1e-4)
