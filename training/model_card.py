"""The model card (`README.md` in a model directory), written from the manifest."""

from __future__ import annotations


def model_card(manifest: dict) -> str:
    tr = manifest.get("training", {})
    metrics = manifest.get("metrics", {})
    backbone = manifest.get("backbone", {})
    rows = ""
    for lab, c in metrics.get("per_class", {}).items():
        rows += f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |\n"
    base = metrics.get("baseline", {})
    d = tr.get("distill")
    distilled = (
        f"\nDistilled from a teacher's logits in `{d['file']}` (sha256 `{d['sha256']}`): alpha {d['alpha']}, "
        f"temperature {d['temperature']}, plus {d['n_transfer']} unlabelled transfer statements.\n"
        if d else ""
    )
    return f"""---
library_name: transformers
pipeline_tag: text-classification
language: en
---
# {manifest.get('name', 'stance')} {manifest.get('version', '')}

Classifies the stance of a statement given to the press: {', '.join(manifest.get('labels', []))}.
Fine-tuned from `{backbone.get('hf_name', '?')}` (weights sha256 `{backbone.get('sha256', '?')}`).

## Use
```python
from model import StanceClassifier
clf = StanceClassifier.from_pretrained("{manifest.get('name', 'stance')}-dir")
clf.predict(["Those are groundless accusations."])
```
or plain transformers: `pipeline("text-classification", model=DIR)` (uncalibrated scores; the calibration
temperature {manifest.get('temperature', 1.0):.3f} lives in `stance.json`).

## Training data
{tr.get('n_train', '?')} training and {tr.get('n_dev', '?')} dev statements from {', '.join(tr.get('files', [])) or '?'}
(sha256 of the labelled rows `{tr.get('data_sha256', '?')}`). Best epoch {tr.get('best_epoch', '?')} of
{tr.get('epochs', '?')}, seed {tr.get('seed', '?')}, {tr.get('seconds', '?')} s on {tr.get('threads', '?')} CPU threads.
{distilled}
## Metrics ({metrics.get('split', 'evaluation')} split, n={metrics.get('n', '?')})
Accuracy {metrics.get('accuracy', float('nan')):.4f}, macro-F1 {metrics.get('macro_f1', float('nan')):.4f}
(TF-IDF + logistic regression baseline: {base.get('macro_f1', float('nan')):.4f}).
Expected calibration error {metrics.get('ece_before_calibration', float('nan')):.4f} before and
{metrics.get('ece_after_calibration', float('nan')):.4f} after temperature scaling.

| label | precision | recall | F1 | n |
|---|---|---|---|---|
{rows}
## Intended use
Sorting English statements by officials, companies, unions, NGOs and politicians, as quoted in the press, into
stances, for analysts who read the results. One statement (1 to 3 sentences) at a time; long texts are scored over
overlapping windows, and articles should be split into statements first (`/v1/documents`, `stance score --unit
documents`).

## Limits
- Trained mostly on statements written for this project in the voice of press quotes, plus real White House
  statements (2021-2025); it has not seen other languages, social media, or long speeches.
- The label says what the speaker does, not whether it is true or fair. Mixed statements get their dominant act;
  sarcasm and statements that depend on context outside the text are the most frequent errors.
- Do not use it to make decisions about people without a human reading the statement.
"""
