"""Distillation: `stance soft-label` writes a teacher's targets, `stance train --distill` learns from them."""

import json

import pytest
import torch

from conftest import write_jsonl
from test_train import LABELS, stance, synthetic, train_tiny


def test_loss_is_label_ce_at_alpha_one_and_teacher_only_for_unlabelled_rows():
    from training.trainer import distill_loss

    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(4, 4, generator=g), torch.randn(4, 4, generator=g)
    labelled = torch.tensor([0, 3, 2, 1])
    ce = torch.nn.functional.cross_entropy(student, labelled)
    assert torch.isclose(distill_loss(student, labelled, teacher, alpha=1.0, t=2.0), ce)
    # a student that matches the teacher has nothing left to learn from it
    assert distill_loss(teacher, torch.full((4,), -1), teacher, alpha=0.5, t=2.0).abs() < 1e-6
    unlabelled = distill_loss(student, torch.full((4,), -1), teacher, alpha=0.9, t=2.0)
    assert unlabelled > 0.01 and torch.isclose(unlabelled, distill_loss(student, labelled, teacher, 0.0, 2.0))
    no_teacher = torch.full((4, 4), float("nan"))  # labelled rows the teacher did not score
    assert torch.isclose(distill_loss(student, labelled, no_teacher, alpha=0.2, t=2.0), ce)


def test_soft_label_then_distil_records_the_teacher_and_the_transfer_rows(tiny_model, tmp_path):
    rows = synthetic(24)
    train = write_jsonl(tmp_path / "train.jsonl", rows[::2])
    dev = write_jsonl(tmp_path / "dev.jsonl", rows[1::2])
    unlabelled = write_jsonl(tmp_path / "more.jsonl", [
        {"text": "The ministry thanked its partners for a constructive round of talks."},
        {"text": "Officials denied the report and said every permit had been issued lawfully."},
        {"text": rows[1]["text"] + "."},  # a dev row with a full stop: must not leak into training
    ])
    targets = tmp_path / "targets.jsonl"
    r = stance("soft-label", "--model", tiny_model, "--data", train, unlabelled, "--exclude", dev,
               "--out", targets)
    got = [json.loads(line) for line in targets.read_text().splitlines()]
    assert "left out" in r.stderr and rows[1]["text"] + "." not in {g["text"] for g in got}
    assert set(got[0]["logits"]) == set(LABELS) and got[0]["teacher"].startswith("tiny-test@")
    assert {g["text"] for g in got} >= {json.loads(line)["text"] for line in unlabelled.read_text().splitlines()[:2]}
    # the synthetic rows are short: some training rows sit near dev rows, are left out, and train on labels alone
    n_unscored = len(rows[::2]) + 2 - len(got)

    train_tiny(tiny_model, train, tmp_path / "m", "--dev", dev, "--distill", targets, "--distill-alpha", "0.3")
    d = json.loads((tmp_path / "m" / "stance.json").read_text())["training"]["distill"]
    assert d["n_transfer"] == 2 and d["n_train_without_target"] == n_unscored
    assert d["alpha"] == 0.3 and d["temperature"] == 2.0 and len(d["sha256"]) == 64
    assert f"Distilled from a teacher's logits in `{targets}`" in (tmp_path / "m" / "README.md").read_text()


@pytest.mark.parametrize("case", ["dev-row", "bad-logits"])
def test_bad_targets_are_refused_naming_file_and_line(tiny_model, tmp_path, case):
    rows = synthetic(24)
    train = write_jsonl(tmp_path / "train.jsonl", rows[::2])
    dev = write_jsonl(tmp_path / "dev.jsonl", rows[1::2])
    logits = dict.fromkeys(LABELS, 0.0)
    targets = [{"text": r["text"], "logits": logits} for r in rows[::2]]
    if case == "dev-row":
        targets.append({"text": rows[1]["text"], "logits": logits})
    else:
        targets[3] = {"text": targets[3]["text"], "logits": {"conciliatory": 1.0}}
    path = write_jsonl(tmp_path / "t.jsonl", targets)
    r = stance("train", "--data", train, "--dev", dev, "--backbone", tiny_model, "--out", tmp_path / "m",
               "--distill", path, check=False)
    assert r.returncode == 2 and not (tmp_path / "m").exists()
    expected = {"dev-row": "1 target text(s) are dev or test rows", "bad-logits": "t.jsonl:4: 'logits' must map"}
    assert expected[case] in r.stderr


def test_data_check_flags_bad_transfer_rows_leaks_and_stale_targets(tmp_path):
    from training.distill import check_transfer

    rows = synthetic(3)
    for sub in ("corpus", "transfer", "distill"):
        (tmp_path / sub).mkdir()
    for split, part in (("train", rows[:4]), ("dev", rows[4:8]), ("test", rows[8:])):
        write_jsonl(tmp_path / "corpus" / f"{split}.jsonl", part)
    (tmp_path / "transfer" / "u.jsonl").write_text("\n".join([
        json.dumps({"text": "The port authority said the terminal would reopen on Monday.", "provenance": "w"}),
        json.dumps({"text": rows[5]["text"], "provenance": "w"}),  # a dev row
        '{"text": "no provenance"',
    ]) + "\n")
    write_jsonl(tmp_path / "distill" / "targets-mpnet.jsonl",  # train only: the two transfer texts are missing
                [{"text": r["text"], "logits": dict.fromkeys(LABELS, 0.0)} for r in rows[:4]])
    summary, problems = check_transfer(tmp_path)
    assert "2 rows in 1 files, 1 near dev/test" in summary
    assert any("u.jsonl:3: needs a JSON object" in p for p in problems)
    assert any("1 transfer text(s) within cosine 0.9" in p for p in problems)
    assert any("no target for 2 train or transfer row(s)" in p for p in problems)
