"""Evaluation: accuracy, macro-F1, per-class scores, confusion matrix, calibration error, and the TF-IDF baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from model.modeling import softmax


def classification_metrics(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict:
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "per_class": {
            lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4),
                  "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "labels": list(labels),
    }


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-width confidence bins: sum of |accuracy - confidence| weighted by bin size."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return round(float(ece), 4)


def tfidf_baseline(train_texts, train_labels):
    """The reference baseline: word 1-2-gram TF-IDF + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced"),
    )
    return pipe.fit(train_texts, train_labels)


def evaluate(clf, texts: list[str], labels: list[str], baseline_train=None) -> dict:
    """Score `clf` on (texts, labels); with `baseline_train=(texts, labels)` also the TF-IDF baseline."""
    unknown = sorted(set(labels) - set(clf.labels))
    if unknown:
        raise ValueError(f"evaluation data has labels the model does not know: {unknown}; model labels: {clf.labels}")
    logits = clf.logits(texts)
    probs = softmax(logits / clf.temperature)
    pred = [clf.labels[i] for i in probs.argmax(1)]
    y = np.array([clf.labels.index(lab) for lab in labels])
    out = classification_metrics(labels, pred, clf.labels)
    out["ece_before_calibration"] = expected_calibration_error(softmax(logits), y)
    out["ece_after_calibration"] = expected_calibration_error(probs, y)
    out["temperature"] = clf.temperature
    out["model"] = {"name": clf.name, "version": clf.version}
    if baseline_train is not None:
        base = tfidf_baseline(*baseline_train)
        out["baseline"] = classification_metrics(labels, list(base.predict(texts)), clf.labels)
        out["baseline"]["name"] = "tfidf-logreg"
    out["_probs"], out["_pred"], out["_true"] = probs, pred, list(labels)
    return out


def format_report(m: dict) -> str:
    labels = m["labels"]
    base = m.get("baseline")
    lines = [f"n={m['n']}  accuracy={m['accuracy']:.4f}  macro-F1={m['macro_f1']:.4f}"
             + (f"   (TF-IDF baseline macro-F1={base['macro_f1']:.4f})" if base else "")]
    lines.append(f"{'label':<14}{'prec':>7}{'rec':>7}{'f1':>7}{'n':>6}" + ("   baseline f1" if base else ""))
    for lab in labels:
        c = m["per_class"][lab]
        extra = f"   {base['per_class'][lab]['f1']:.4f}" if base else ""
        lines.append(f"{lab:<14}{c['precision']:>7.3f}{c['recall']:>7.3f}{c['f1']:>7.3f}{c['support']:>6}{extra}")
    lines.append("confusion matrix (rows: true, columns: predicted)")
    lines.append(" " * 14 + "".join(f"{lab[:10]:>11}" for lab in labels))
    for lab, row in zip(labels, m["confusion_matrix"]):
        lines.append(f"{lab:<14}" + "".join(f"{v:>11}" for v in row))
    lines.append(f"ECE before calibration {m['ece_before_calibration']:.4f}, after (T={m['temperature']:.3f}) "
                 f"{m['ece_after_calibration']:.4f}")
    return "\n".join(lines)


def plot_confusion(m: dict, path: Path, title: str = "Confusion matrix"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(m["confusion_matrix"])
    labels = m["labels"]
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(f"{title} (macro-F1 {m['macro_f1']:.3f})")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(probs: np.ndarray, y: np.ndarray, path: Path, bins: int = 10):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conf, correct = probs.max(1), probs.argmax(1) == y
    edges = np.linspace(0, 1, bins + 1)
    centers, accs = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            centers.append(conf[sel].mean())
            accs.append(correct[sel].mean())
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(centers, accs, "o-")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability (calibrated)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(m: dict, directory: Path):
    """metrics.json, report.txt, confusion.png (and reliability.png) under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    public = {k: v for k, v in m.items() if not k.startswith("_")}
    (directory / "metrics.json").write_text(json.dumps(public, indent=2) + "\n")
    (directory / "report.txt").write_text(format_report(m) + "\n")
    plot_confusion(m, directory / "confusion.png")
    if "_probs" in m:
        y = np.array([m["labels"].index(t) for t in m["_true"]])
        plot_reliability(m["_probs"], y, directory / "reliability.png")
    return directory
