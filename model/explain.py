"""Word attributions by occlusion: how much the predicted label's probability drops when a word is removed.

Occlusion needs no gradients and works for any backbone; its cost is one extra row per word, batched together.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[\w’'-]+")


def occlusion(clf, text: str, top_k: int = 8, max_words: int = 200) -> dict:
    """`{"label", "method", "words": [{"word", "start", "end", "weight"}]}` for the predicted label.

    Weights are probability drops (positive: the word pushed toward the label); the `top_k` largest are kept.
    Texts longer than `max_words` words are explained on their first `max_words` words only, and say so."""
    words = [m for m in WORD.finditer(text)][:max_words]
    variants = [text] + [text[: m.start()] + text[m.end() :] for m in words]
    probs = clf.predict_proba(variants)
    label = int(probs[0].argmax())
    drops = probs[0, label] - probs[1:, label]
    ranked = sorted(((m, round(float(w), 6)) for m, w in zip(words, drops)), key=lambda x: -x[1])[:top_k]
    return {
        "label": clf.labels[label],
        "method": "occlusion",
        "truncated": len(words) == max_words and WORD.search(text, words[-1].end()) is not None,
        "words": [
            {"word": m.group(), "start": m.start(), "end": m.end(), "weight": w}
            for m, w in ranked
            if w > 0
        ],
    }
