import json
import shutil

import numpy as np
import pytest

from model import ModelLoadError, StanceClassifier
from model.explain import occlusion


def test_predict_proba_sums_to_one_and_matches_predict(tiny_model):
    clf = StanceClassifier.from_pretrained(tiny_model)
    texts = ["We reject these claims.", "Talks resume on Monday.", "They are to blame."]
    p = clf.predict_proba(texts)
    assert p.shape == (3, 4)
    assert np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert clf.predict(texts) == [clf.labels[i] for i in p.argmax(1)]
    assert clf.labels == ["conciliatory", "defensive", "accusatory", "neutral"]
    assert (clf.name, clf.version) == ("tiny-test", "0.0.1")


def test_batches_are_independent_of_order_and_padding(tiny_model):
    clf = StanceClassifier.from_pretrained(tiny_model)
    texts = ["Short.", "A much longer statement about tariffs, talks and the future of trade between partners."]
    together = clf.predict_proba(texts)
    alone = np.vstack([clf.predict_proba([t]) for t in reversed(texts)])[::-1]
    assert np.allclose(together, alone, atol=1e-5)


def test_long_text_is_scored_over_windows_not_cut(tiny_model):
    clf = StanceClassifier.from_pretrained(tiny_model)  # window 32 tokens, stride 8
    text = "We welcome the agreement and thank our partners. " * 3 + "They lied and must be punished. " * 6
    windows, owner = clf._windows([text])
    assert len(windows) >= 3 and set(owner) == {0}
    assert max(len(w) for w in windows) <= clf.max_length
    body = clf.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert windows[-1][-2] == body[-1], "the last window reaches the end of the text"
    # the text's logits are the mean over its windows
    per_window = clf._forward(windows, batch_size=8)
    assert np.allclose(clf.logits([text])[0], per_window.mean(0), atol=1e-5)


def test_save_and_reload_round_trip(tiny_model, tmp_path):
    clf = StanceClassifier.from_pretrained(tiny_model)
    clf.temperature = 1.7
    out = clf.save_pretrained(tmp_path / "copy")
    again = StanceClassifier.from_pretrained(out)
    assert again.temperature == pytest.approx(1.7)
    texts = ["The committee meets on Friday."]
    assert np.allclose(again.logits(texts), clf.logits(texts), atol=1e-6)
    manifest = json.loads((out / "stance.json").read_text())
    assert manifest["labels"] == clf.labels and len(manifest["weights_sha256"]) == 64
    assert not list(tmp_path.glob(".copy*")), "no temporary directory is left behind"


def test_plain_transformers_pipeline_loads_the_directory(tiny_model):
    from transformers import pipeline

    out = pipeline("text-classification", model=str(tiny_model))("We deny it.")
    assert out[0]["label"] in {"conciliatory", "defensive", "accusatory", "neutral"}


@pytest.mark.parametrize("broken", ["missing-dir", "no-manifest", "bad-json", "corrupt-weights", "no-id2label"])
def test_broken_model_directories_name_the_problem(tiny_model, tmp_path, broken):
    d = tmp_path / "m"
    shutil.copytree(tiny_model, d)
    expect = {"missing-dir": "does not exist", "no-manifest": "stance.json is missing",
              "bad-json": "not valid JSON", "corrupt-weights": "sha256", "no-id2label": "id2label"}[broken]
    if broken == "missing-dir":
        d = tmp_path / "nowhere"
    elif broken == "no-manifest":
        (d / "stance.json").unlink()
    elif broken == "bad-json":
        (d / "stance.json").write_text("{not json")
    elif broken == "corrupt-weights":
        with open(d / "model.safetensors", "r+b") as f:
            f.seek(-16, 2)
            f.write(b"\x00" * 16)
    else:
        cfg = json.loads((d / "config.json").read_text())
        del cfg["id2label"]
        (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=expect):
        StanceClassifier.from_pretrained(d)


def test_occlusion_weights_are_probability_drops(tiny_model):
    clf = StanceClassifier.from_pretrained(tiny_model)
    text = "We strongly condemn the reckless shelling of civilians."
    ex = occlusion(clf, text, top_k=3)
    assert ex["label"] == clf.predict([text])[0] and ex["method"] == "occlusion"
    assert 1 <= len(ex["words"]) <= 3
    label = clf.labels.index(ex["label"])
    for w in ex["words"]:
        assert text[w["start"]:w["end"]] == w["word"]
        without = text[: w["start"]] + text[w["end"]:]
        drop = clf.predict_proba([text])[0, label] - clf.predict_proba([without])[0, label]
        assert w["weight"] == pytest.approx(drop, abs=1e-5) and w["weight"] > 0
