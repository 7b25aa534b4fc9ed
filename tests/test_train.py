"""`stance train` and `stance eval` end to end on small data (tiny backbone), and one real MiniLM run."""

import json
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, write_jsonl

LABELS = ["conciliatory", "defensive", "accusatory", "neutral"]
WORDS = {"conciliatory": "welcome cooperation thanks partners agreement",
         "defensive": "deny false allegations lawful complied",
         "accusatory": "condemn reckless blame illegal aggression",
         "neutral": "meeting schedule figures released Tuesday"}


def synthetic(n=15, labels=LABELS):
    import random

    rng = random.Random(0)
    return [{"text": f"{' '.join(rng.sample(WORDS[lab].split(), 3))} case {i}", "label": lab}
            for lab in labels for i in range(n)]


def stance(*args, check=True):
    r = subprocess.run([sys.executable, "-m", "service.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                       text=True)
    if check and r.returncode != 0:
        raise AssertionError(r.stderr[-3000:])
    return r


def train_tiny(tiny_model, data, out, *extra):
    return stance("train", "--data", data, "--backbone", tiny_model, "--out", out, "--epochs", "2", "--lr", "1e-3",
                  "--batch-size", "8", "--quiet", *extra)


def test_train_writes_a_complete_model_directory(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", synthetic())
    train_tiny(tiny_model, data, tmp_path / "m")
    m = json.loads((tmp_path / "m" / "stance.json").read_text())
    assert m["labels"] == LABELS and m["metrics"]["split"] == "dev"
    assert m["training"]["n_train"] + m["training"]["n_dev"] == 60 and m["training"]["n_dev"] == 6
    assert len(m["training"]["history"]) == 2 and m["temperature"] > 0
    assert not (tmp_path / "m.checkpoint").exists()  # spent once the model is written
    assert {"baseline", "per_class", "macro_f1", "ece_after_calibration"} <= set(m["metrics"])
    card = (tmp_path / "m" / "README.md").read_text()
    assert "## Intended use" in card and "## Limits" in card and "macro-F1" in card
    r = stance("classify", "--model", tmp_path / "m", "--json", "We condemn this reckless aggression.")
    out = json.loads(r.stdout)
    assert out["label"] in LABELS and abs(sum(out["scores"].values()) - 1) < 1e-4


def test_same_data_and_seed_give_the_same_metrics(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", synthetic())
    for name in ("a", "b"):
        train_tiny(tiny_model, data, tmp_path / name, "--seed", "3")
    a, b = (json.loads((tmp_path / n / "stance.json").read_text()) for n in ("a", "b"))
    assert a["training"]["history"] == b["training"]["history"] and a["metrics"] == b["metrics"]
    assert a["weights_sha256"] == b["weights_sha256"]


def test_label_set_comes_from_the_data(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", synthetic(labels=["neutral", "accusatory"])
                       + [{"text": f"praise {i}", "label": "supportive"} for i in range(15)])
    train_tiny(tiny_model, data, tmp_path / "m")
    assert json.loads((tmp_path / "m" / "stance.json").read_text())["labels"] == ["accusatory", "neutral",
                                                                                   "supportive"]


def test_unknown_labels_are_errors_with_labels_flag_and_with_from(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", synthetic() + [{"text": "odd one", "label": "sarcastic"}])
    r = stance("train", "--data", data, "--labels", ",".join(LABELS), "--backbone", tiny_model, "--out",
           tmp_path / "m", check=False)
    assert r.returncode == 2 and "d.jsonl:61: unknown label 'sarcastic'" in r.stderr
    r = stance("train", "--data", data, "--from", tiny_model, "--out", tmp_path / "m2", check=False)
    assert r.returncode == 2 and "unknown label 'sarcastic'" in r.stderr
    assert not (tmp_path / "m").exists() and not (tmp_path / "m2").exists()


def test_continue_from_a_model_keeps_its_labels(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", synthetic())
    stance("train", "--data", data, "--from", tiny_model, "--out", tmp_path / "m", "--epochs", "1", "--quiet")
    assert json.loads((tmp_path / "m" / "stance.json").read_text())["labels"] == LABELS


def test_eval_json_and_report(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", synthetic())
    train_tiny(tiny_model, data, tmp_path / "m")
    r = stance("eval", "--model", tmp_path / "m", "--data", data, "--json", "--report", tmp_path / "rep")
    m = json.loads(r.stdout)
    assert m["n"] == 60 and 0 <= m["macro_f1"] <= 1 and set(m["per_class"]) == set(LABELS)
    assert m["baseline"]["name"] == "tfidf-logreg"  # trained on the model's own training file
    assert sum(map(sum, m["confusion_matrix"])) == 60
    assert (tmp_path / "rep" / "confusion.png").stat().st_size > 5000
    assert (tmp_path / "rep" / "reliability.png").exists()


def test_missing_model_gives_a_clear_error(tmp_path):
    r = stance("classify", "--model", tmp_path / "nothing", "hello", check=False)
    assert r.returncode == 2 and "does not exist" in r.stderr and "stance train" in r.stderr


@pytest.mark.slow
def test_real_minilm_trains_a_few_steps_and_reloads(tmp_path):
    from model import StanceClassifier

    data = write_jsonl(tmp_path / "d.jsonl", synthetic(12))
    stance("train", "--data", data, "--backbone", "minilm", "--out", tmp_path / "m", "--epochs", "1",
           "--max-steps", "3", "--quiet")
    clf = StanceClassifier.from_pretrained(tmp_path / "m")
    m = clf.manifest
    assert m["backbone"]["name"] == "minilm" and len(m["backbone"]["sha256"]) == 64
    assert m["training"]["history"][0]["step"] == 3
    assert clf.model.config.hidden_size == 384 and clf.labels == LABELS
    p = clf.predict_proba(["We welcome the agreement."])
    assert p.shape == (1, 4) and abs(p.sum() - 1) < 1e-5


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_a_killed_training_resumes_from_its_last_epoch_with_the_same_result(tiny_model, tmp_path, monkeypatch,
                                                                            ema_decay):
    from training import checkpoint
    from training.data import Examples
    from training.trainer import TrainConfig, train

    rows = synthetic(20)
    ex = Examples([r["text"] for r in rows], [r["label"] for r in rows], [str(i) for i in range(len(rows))])
    train_ex, dev_ex = ex.subset(range(0, 80, 2)), ex.subset(range(1, 80, 2))
    cfg = dict(backbone=str(tiny_model), epochs=3, lr=1e-3, batch_size=8, progress=False, ema_decay=ema_decay)
    straight = train(train_ex, dev_ex, LABELS, TrainConfig(**cfg))

    real_save, ckpt = checkpoint.save, tmp_path / "ckpt"

    def save_then_die(*args, **kwargs):  # the process is killed right after epoch 1's checkpoint
        real_save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(train_ex, dev_ex, LABELS, TrainConfig(**cfg, checkpoint=str(ckpt)))
    assert json.loads((ckpt / "state.json").read_text())["epoch"] == 1
    assert (ckpt / "ema.safetensors").exists() == (ema_decay > 0)
    monkeypatch.setattr(checkpoint, "save", real_save)
    resumed = train(train_ex, dev_ex, LABELS, TrainConfig(**cfg, checkpoint=str(ckpt)))

    assert resumed.manifest["training"]["history"] == straight.manifest["training"]["history"]
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(checkpoint.CheckpointMismatch, match="different training job"):
        train(train_ex, dev_ex, LABELS, TrainConfig(**{**cfg, "seed": 7}, checkpoint=str(ckpt)))


def test_weight_ema_averages_the_trainable_weights_and_swaps_back():
    from training.trainer import WeightEMA

    model = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)  # frozen weights are not averaged
    ema = WeightEMA(model, decay=0.5)
    w0 = model[1].weight.detach().clone()
    with torch.no_grad():
        model[1].weight.add_(1.0)
    ema.update(model)  # decay ramps: min(0.5, 2 / 11) = 2/11 kept of the old average
    expected = w0 * 2 / 11 + (w0 + 1.0) * 9 / 11
    assert torch.allclose(ema.shadow["1.weight"], expected)
    assert "0.weight" not in ema.shadow
    ema.swap(model)
    assert torch.allclose(model[1].weight, expected)
    ema.swap(model)
    assert torch.allclose(model[1].weight, w0 + 1.0)
