"""`stance report OUTPUT`: an HTML page of charts from a scoring output, readable from disk without a server.

One streaming pass over the output (bounded memory): counts by label overall, by speaker, by source and by month
when a date column exists, and the most confident examples of each stance. Charts are PNG files made with
matplotlib beside `index.html`.
"""

from __future__ import annotations

import heapq
import html
from collections import Counter, defaultdict
from pathlib import Path

COLOURS = {"conciliatory": "#2e9d5b", "defensive": "#3b6fd1", "accusatory": "#d1453b", "neutral": "#9a9a9a"}
DATE_FIELDS = ("date", "published", "published_at", "timestamp", "time")
SOURCE_FIELDS = ("source", "outlet", "publisher", "site")


def _first(row: dict, names) -> str | None:
    for n in names:
        if row.get(n) not in (None, ""):
            return str(row[n])
    return None


def aggregate(rows, top_examples: int = 5) -> dict:
    overall, by_speaker, by_source, by_month = Counter(), defaultdict(Counter), defaultdict(Counter), \
        defaultdict(Counter)
    best: dict[str, list] = defaultdict(list)
    labels: list[str] = []
    for n, r in enumerate(rows):
        lab = r["label"]
        if not labels:
            labels = [k[2:] for k in r if k.startswith("p_")]
        overall[lab] += 1
        if r.get("speaker"):
            by_speaker[r["speaker"]][lab] += 1
        if (src := _first(r, SOURCE_FIELDS)) is not None:
            by_source[src][lab] += 1
        if (d := _first(r, DATE_FIELDS)) is not None and len(d) >= 7:
            by_month[d[:7]][lab] += 1
        p = float(r.get(f"p_{lab}", 0))
        heap = best[lab]
        item = (p, -n, {"text": r["text"], "speaker": r.get("speaker"), "doc_id": r.get("doc_id"), "p": p})
        (heapq.heappush if len(heap) < top_examples else heapq.heappushpop)(heap, item)
    return {"labels": labels or sorted(overall), "overall": overall, "by_speaker": by_speaker,
            "by_source": by_source, "by_month": by_month,
            "examples": {k: [x[2] for x in sorted(v, reverse=True)] for k, v in best.items()}}


def _stacked(ax, groups: dict[str, Counter], labels, horizontal=True):
    names = list(groups)
    left = [0.0] * len(names)
    for lab in labels:
        vals = [groups[g][lab] / max(1, sum(groups[g].values())) for g in names]
        kw = dict(color=COLOURS.get(lab), label=lab)
        if horizontal:
            ax.barh(names, vals, left=left, **kw)
        else:
            ax.bar(names, vals, bottom=left, **kw)
        left = [a + b for a, b in zip(left, vals)]


def build_report(output: Path, out_dir: Path, top_speakers: int = 15) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .scoring import iter_output

    agg = aggregate(iter_output(Path(output)))
    labels = agg["labels"]
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []

    def save(fig, name, title):
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)
        figures.append((name, title))

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(labels, [agg["overall"][lab] for lab in labels], color=[COLOURS.get(lab) for lab in labels])
    ax.set_ylabel("statements")
    save(fig, "overall.png", "Stance distribution")
    for key, title, fname in (("by_speaker", "By speaker (top speakers, share of their statements)", "speakers.png"),
                              ("by_source", "By source", "sources.png")):
        groups = agg[key]
        if groups:
            top = dict(sorted(groups.items(), key=lambda kv: -sum(kv[1].values()))[:top_speakers])
            fig, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1.2))
            _stacked(ax, dict(reversed(list(top.items()))), labels)
            ax.legend(loc="lower right", fontsize=7)
            ax.set_xlim(0, 1)
            save(fig, fname, title)
    if agg["by_month"]:
        months = dict(sorted(agg["by_month"].items()))
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for lab in labels:
            ax.plot(list(months), [m[lab] / max(1, sum(m.values())) for m in months.values()], marker="o",
                    color=COLOURS.get(lab), label=lab)
        ax.set_ylabel("share of statements")
        ax.tick_params(axis="x", rotation=45)
        ax.legend(fontsize=7)
        save(fig, "over_time.png", "Over time (by month)")

    total = sum(agg["overall"].values())
    parts = [f"<h1>Stance report</h1><p>{total} statements from <code>{html.escape(str(output))}</code></p>"]
    parts += [f'<h2>{html.escape(t)}</h2><img src="{n}" alt="{html.escape(t)}">' for n, t in figures]
    parts.append("<h2>Most confident examples</h2>")
    for lab in labels:
        items = "".join(f"<li><b>{e['p']:.2f}</b> {html.escape(e['text'])}"
                        f"{' — <i>' + html.escape(e['speaker']) + '</i>' if e.get('speaker') else ''}</li>"
                        for e in agg["examples"].get(lab, []))
        parts.append(f'<h3 style="color:{COLOURS.get(lab, "#333")}">{lab}</h3><ol>{items}</ol>')
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>Stance report</title><style>body{font:15px "
            "system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem}img{max-width:100%}</style></head><body>"
            + "".join(parts) + "</body></html>")
    (out_dir / "index.html").write_text(page, encoding="utf-8")
    return out_dir / "index.html"
