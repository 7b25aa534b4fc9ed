"""Near-duplicate detection: pairs of texts whose TF-IDF cosine similarity exceeds a threshold."""

from __future__ import annotations

import numpy as np


def near_duplicates(texts: list[str], threshold: float = 0.9, chunk: int = 512) -> list[tuple[int, int, float]]:
    """(i, j, cosine) for every pair i < j above `threshold`, most similar first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return []
    m = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    pairs = []
    for start in range(0, m.shape[0], chunk):  # chunked so memory stays O(chunk * n)
        sims = (m[start : start + chunk] @ m.T).toarray()
        rows, cols = np.nonzero(sims > threshold)
        for r, c in zip(rows, cols):
            i = start + r
            if i < c:
                pairs.append((int(i), int(c), float(sims[r, c])))
    return sorted(pairs, key=lambda p: -p[2])
