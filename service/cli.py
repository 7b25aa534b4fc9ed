"""`stance`: the one command-line entry point. Sub-commands import what they need, so `--help` is fast."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "training" / "data" / "corpus"


def _fail(msg: str, code: int = 2):
    print(f"stance: error: {msg}", file=sys.stderr)
    sys.exit(code)


def cmd_train(a):
    from model import DEFAULT_LABELS, ModelLoadError, StanceClassifier
    from training.checkpoint import CheckpointMismatch
    from training.data import DataError, load_labelled, stratified_split
    from training.distill import align
    from training.evaluate import evaluate, format_report
    from training.trainer import TrainConfig, train, write_model

    try:
        if a.from_model:
            labels = StanceClassifier.from_pretrained(a.from_model).labels
        elif a.labels:
            labels = [x.strip() for x in a.labels.split(",") if x.strip()]
        else:
            labels = None
        fields = dict(text_field=a.text_field, label_field=a.label_field)
        data = load_labelled(a.data, labels=labels, **fields)
        if labels is None:  # label set from the data; the default four keep their canonical order
            found = set(data.labels)
            labels = [x for x in DEFAULT_LABELS if x in found] + sorted(found - set(DEFAULT_LABELS))
        if a.dev:
            train_ex, dev_ex = data, load_labelled(a.dev, labels=labels, min_per_label=1, **fields)
        else:
            keep, held = stratified_split(data.labels, 0.1, a.seed)
            train_ex, dev_ex = data.subset(keep), data.subset(held)
        test_ex = load_labelled(a.test, labels=labels, min_per_label=1, **fields) if a.test else None
        held_texts = dev_ex.texts + (test_ex.texts if test_ex else [])
        targets = align(a.distill, train_ex, held_texts, labels) if a.distill else None
    except (DataError, ModelLoadError) as e:
        _fail(str(e))
    cfg = TrainConfig(backbone=a.backbone, from_model=a.from_model, epochs=a.epochs, seed=a.seed, lr=a.lr,
                      batch_size=a.batch_size, name=a.name or f"stance-{a.backbone}", version=a.version,
                      max_steps=a.max_steps, progress=not a.quiet, distill_alpha=a.distill_alpha,
                      distill_temperature=a.distill_temperature, ema_decay=a.ema,
                      checkpoint=f"{Path(a.out)}.checkpoint")
    extra = f", {len(targets.extra_texts)} transfer rows with teacher targets" if targets else ""
    print(f"training on {len(train_ex)} rows{extra}, dev {len(dev_ex)}, labels {labels}, backbone {a.backbone}",
          file=sys.stderr)
    try:
        clf = train(train_ex, dev_ex, labels, cfg, data_sha256=data.sha256(), targets=targets)
    except CheckpointMismatch as e:
        _fail(str(e))
    held_out, split = (test_ex, "test") if test_ex else (dev_ex, "dev")
    m = evaluate(clf, held_out.texts, held_out.labels, baseline_train=(train_ex.texts, train_ex.labels))
    print(format_report(m), file=sys.stderr)
    metrics = {k: v for k, v in m.items() if not k.startswith("_")}
    metrics["split"] = split
    out = write_model(clf, Path(a.out), metrics, a.data)
    shutil.rmtree(cfg.checkpoint, ignore_errors=True)  # the model is safely written; the checkpoint is spent
    print(f"model written to {out}", file=sys.stderr)


def cmd_soft_label(a):
    from training.data import DataError
    from training.distill import drop_near, read_texts, write_targets

    teacher = _load_model(a.model)
    try:
        texts = read_texts(a.data, text_field=a.text_field)
        texts, dropped = drop_near(texts, read_texts(a.exclude, text_field=a.text_field) if a.exclude else [])
    except DataError as e:
        _fail(str(e))
    if dropped:
        print(f"left out {dropped} text(s) within cosine 0.9 of --exclude", file=sys.stderr)
    print(f"scoring {len(texts)} texts with {teacher.name}", file=sys.stderr)
    out = write_targets(teacher, texts, Path(a.out))
    print(f"targets written to {out}", file=sys.stderr)


def _load_model(path, threads=None):
    from model import ModelLoadError, StanceClassifier

    try:
        return StanceClassifier.from_pretrained(path, threads=threads)
    except ModelLoadError as e:
        _fail(str(e))


def cmd_eval(a):
    from training.data import DataError, load_labelled
    from training.evaluate import evaluate, format_report, write_report

    clf = _load_model(a.model)
    try:
        data = load_labelled(a.data, labels=clf.labels, min_per_label=1, text_field=a.text_field,
                             label_field=a.label_field)
        train_files = a.baseline_train or [f for f in clf.manifest.get("training", {}).get("files", [])
                                           if Path(f).is_file()]
        base = load_labelled(train_files, labels=clf.labels, min_per_label=1) if train_files else None
    except DataError as e:
        _fail(str(e))
    m = evaluate(clf, data.texts, data.labels, baseline_train=(base.texts, base.labels) if base else None)
    if a.report:
        write_report(m, Path(a.report))
    if a.json:
        print(json.dumps({k: v for k, v in m.items() if not k.startswith("_")}))
    else:
        print(format_report(m))
        if a.report:
            print(f"report written to {a.report} (metrics.json, report.txt, confusion.png, reliability.png)")


def cmd_classify(a):
    clf = _load_model(a.model)
    texts = a.text or [ln.strip() for ln in sys.stdin if ln.strip()]
    if not texts or any(not t.strip() for t in texts):
        _fail("give one or more non-empty TEXT arguments (or lines on standard input)")
    results = clf.classify(texts)
    for t, r in zip(texts, results):
        if a.json:
            print(json.dumps({"text": t, **r, "model": {"name": clf.name, "version": clf.version}}))
        else:
            scores = "  ".join(f"{k}={v:.2f}" for k, v in r["scores"].items())
            print(f"{r['label']:<13} {scores}  | {t[:80]}")


def cmd_serve(a):
    import os

    import uvicorn

    if a.model:
        os.environ["STANCE_MODEL"] = str(a.model)
    from .app import create_app

    uvicorn.run(create_app(), host=a.host, port=a.port, log_level=a.log_level)


def cmd_score(a):
    from .scoring import run_score

    sys.exit(run_score(a))


def cmd_report(a):
    from .report import build_report

    out = build_report(Path(a.output), Path(a.out))
    print(f"report written to {out}")


def cmd_bench(a):
    from .bench import run_bench

    run_bench(a)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="stance", description="Stance classifier for press statements.")
    sub = ap.add_subparsers(dest="command", required=True)
    model_help = "model directory (default: $STANCE_MODEL or models/stance-minilm)"

    t = sub.add_parser("train", help="fine-tune a model on labelled CSV, JSONL or Parquet")
    t.add_argument("--data", nargs="+", required=True, help="training files (columns text, label)")
    t.add_argument("--dev", nargs="+", help="dev files; default: a stratified 10%% of --data")
    t.add_argument("--test", nargs="+", help="held-out files scored after training (metrics go in the manifest)")
    t.add_argument("--labels", help="comma-separated label set; rows with other labels are errors")
    t.add_argument("--text-field", default="text")
    t.add_argument("--label-field", default="label")
    t.add_argument("--backbone", default="minilm", help="minilm, mpnet, or a Hugging Face model directory")
    t.add_argument("--from", dest="from_model", help="continue from a trained stance model (keeps its labels)")
    t.add_argument("--out", default="models/stance-minilm")
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--lr", type=float, default=8e-5)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--max-steps", type=int, help="stop after this many steps (smoke tests)")
    t.add_argument("--name", help="model name recorded in the manifest")
    t.add_argument("--version", default="1.0.0")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--distill", help="teacher targets from `stance soft-label`: learn from the teacher too")
    t.add_argument("--distill-alpha", type=float, default=0.5, help="weight of the labels against the teacher")
    t.add_argument("--distill-temperature", type=float, default=2.0)
    t.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="keep a moving average of the weights with this decay (e.g. 0.999); 0 turns it off")
    t.set_defaults(func=cmd_train)

    sl = sub.add_parser("soft-label", help="write a teacher model's logits for `stance train --distill`")
    sl.add_argument("--model", required=True, help="the teacher model directory")
    sl.add_argument("--data", nargs="+", required=True, help="files whose texts to score (labels not needed)")
    sl.add_argument("--exclude", nargs="+", help="evaluation files: texts near these (cosine >= 0.9) are left out")
    sl.add_argument("--text-field", default="text")
    sl.add_argument("--out", required=True, help="targets file (JSONL) to write")
    sl.set_defaults(func=cmd_soft_label)

    e = sub.add_parser("eval", help="evaluate a model on labelled data")
    e.add_argument("--model", help=model_help)
    e.add_argument("--data", nargs="+", required=True)
    e.add_argument("--baseline-train", nargs="+", help="train files for the TF-IDF baseline (default: the model's)")
    e.add_argument("--text-field", default="text")
    e.add_argument("--label-field", default="label")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--report", help="write metrics.json, report.txt and PNG pictures to this folder")
    e.set_defaults(func=cmd_eval)

    c = sub.add_parser("classify", help="classify texts given as arguments or on standard input")
    c.add_argument("text", nargs="*")
    c.add_argument("--model", help=model_help)
    c.add_argument("--json", action="store_true", help="one JSON object per line")
    c.set_defaults(func=cmd_classify)

    s = sub.add_parser("serve", help="serve the HTTP API and web page")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--model", help=model_help)
    s.add_argument("--log-level", default="info")
    s.set_defaults(func=cmd_serve)

    from .scoring import add_score_arguments

    sc = sub.add_parser("score", help="batch-score archives of statements or articles")
    add_score_arguments(sc)
    sc.set_defaults(func=cmd_score)

    r = sub.add_parser("report", help="HTML report with charts from a `stance score` output")
    r.add_argument("output", help="a stance score output file (Parquet, JSONL or CSV)")
    r.add_argument("--out", default="stance-report", help="folder for index.html and pictures")
    r.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="benchmarks (see bench/ and docs/performance.md)")
    b.add_argument("what", choices=["score", "predict"])
    b.add_argument("--model", help=model_help)
    b.add_argument("--rows", type=int, nargs="+", default=[10_000])
    b.add_argument("--out", default="bench/results.json")
    b.set_defaults(func=cmd_bench)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
