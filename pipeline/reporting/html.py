"""report.html: the whole run on one self-contained page, readable offline on a laptop or a phone.

Everything is inline (CSS, and charts as SVG drawn here), so the file can be mailed, archived or
opened from a USB stick and shows the same thing years later: no CDN, no web fonts, no script.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

MAX_DOC_ROWS = 200  # a taller heat map stops being readable and makes the page heavy
LABEL_TERMS = 10
CHART_TERMS = 12

# System fonts only: Latin UI fonts first, then the CJK fonts shipped with macOS, Windows,
# Android and common Linux desktops, so Chinese never falls back to boxes or a serif.
FONT_STACK = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", Roboto, "Helvetica Neue", Arial, sans-serif'
)

CSS = """
:root{--bg:#f7f7f5;--fg:#1f2328;--muted:#5f6b76;--line:#d9dee3;--card:#fff;--accent:#2f6fd6;
--soft:rgba(47,111,214,.2);--mark:#ffe58a;--warn:#9a4d00;--warn-bg:#fff1dc;--heat:47,111,214}
@media (prefers-color-scheme:dark){:root{--bg:#0f1318;--fg:#e4e8ec;--muted:#97a3ae;--line:#2e3740;
--card:#171c22;--accent:#6ea8ff;--soft:rgba(110,168,255,.25);--mark:#6a5200;--warn:#ffb366;
--warn-bg:#3a2600;--heat:110,168,255}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.6 FONTS}
main{max-width:1120px;margin:0 auto;padding:0 16px 48px}
header.page{padding:28px 0 8px}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 4px}
h2{font-size:1.25rem;margin:40px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:1.1rem;margin:0}
h4{font-size:.95rem;margin:16px 0 6px;color:var(--muted);font-weight:600}
a{color:var(--accent)}
code{font:.85em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.muted,figcaption,.note-small{color:var(--muted);font-size:.85rem}
nav.toc{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.9rem}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px;margin:0 0 14px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.stat b{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums}
.stat span{color:var(--muted);font-size:.82rem}
.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.panel,.topic-card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.panel h3{font-size:.95rem;margin-bottom:6px}
table.kv{border-collapse:collapse;width:100%;font-size:.9rem}
table.kv td,table.kv th{padding:3px 0;border-bottom:1px solid var(--line);text-align:left;font-weight:400}
table.kv td.n{text-align:right;font-variant-numeric:tabular-nums}
table.kv tr.total td{font-weight:600;border-bottom:0}
svg{display:block;overflow:visible;font-family:inherit}
svg text{fill:var(--fg);font-size:13px}
svg .val,svg .tick{fill:var(--muted);font-size:11px}
svg .track{fill:var(--line);opacity:.35}
svg .bar{fill:var(--soft)}
svg .axis{stroke:var(--line);stroke-width:1}
svg .guide{stroke:var(--muted);stroke-dasharray:4 3;stroke-width:1}
svg .line{fill:none;stroke:var(--accent);stroke-width:2}
svg .area{fill:var(--soft)}
svg .dot{fill:var(--accent)}
svg .seed{fill:var(--accent);opacity:.35}
svg .bubble{fill:var(--soft);stroke:var(--accent);stroke-width:1.5}
svg .bubble-id{font-weight:700;font-size:14px}
svg a:hover .bar,svg a:hover .bubble{fill:var(--accent);opacity:.45}
.topics{display:grid;gap:16px}
.topic-card{scroll-margin-top:12px}
.topic-card>header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px}
.tid{color:var(--accent)}
.flag{font-size:.75rem;padding:1px 8px;border-radius:99px;background:var(--warn-bg);color:var(--warn)}
.note{margin:6px 0 0}
dl.metrics{display:flex;flex-wrap:wrap;gap:4px 18px;margin:8px 0;font-size:.88rem}
dl.metrics div{display:flex;gap:6px}
dl.metrics dt{color:var(--muted)}
dl.metrics dd{margin:0;font-variant-numeric:tabular-nums;font-weight:600}
.labels p{margin:2px 0}
.labels b{display:inline-block;min-width:6.5em;font-size:.82rem;color:var(--muted);font-weight:600}
.cols{display:grid;grid-template-columns:minmax(0,1fr);gap:6px 24px}
@media (min-width:760px){.cols{grid-template-columns:minmax(220px,1fr) minmax(0,2fr)}}
blockquote{margin:0 0 10px;padding:6px 12px;border-left:3px solid var(--soft)}
blockquote p{margin:0}
blockquote footer{font-size:.8rem;color:var(--muted);margin-top:2px}
mark{background:var(--mark);color:inherit;border-radius:2px;padding:0 1px}
.heat-wrap{overflow:auto;max-height:36em;width:fit-content;max-width:100%;border:1px solid var(--line);
border-radius:8px;
background:var(--card)}
table.heat{border-collapse:collapse;font-size:11px;font-variant-numeric:tabular-nums}
table.heat th,table.heat td{padding:1px 4px;height:19px}
table.heat thead th{position:sticky;top:0;background:var(--card);z-index:1;
border-bottom:1px solid var(--line)}
table.heat tbody th{font-weight:400;text-align:left;max-width:14em;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;position:sticky;left:0;background:var(--card)}
table.heat td{min-width:34px;text-align:center;color:transparent}
table.heat td.v{color:var(--fg)}
table.heat td.hi{color:#fff}
.grid-charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.grid-charts figure,.map{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:10px}
.grid-charts figcaption{margin-bottom:4px}
.map{max-width:560px}
@media (min-width:900px){.overview{display:grid;grid-template-columns:1fr 1fr;gap:0 28px;align-items:start}}
.strip-row{display:grid;grid-template-columns:minmax(8em,14em) 1fr 3em;gap:8px;align-items:center}
.strip-row code{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:.8rem}
.strip{display:flex;height:20px;border-radius:3px;overflow:hidden;gap:1px}
.strip span{color:#fff;font-size:.7rem;text-align:center;line-height:20px;min-width:2px;overflow:hidden}
footer.page{margin-top:40px;color:var(--muted);font-size:.8rem}
@media print{nav.toc{display:none}.heat-wrap{max-height:none;overflow:visible}
.topic-card,figure{break-inside:avoid}}
""".replace("FONTS", FONT_STACK)


# -- formatting ------------------------------------------------------------------------------


def _e(x: Any) -> str:
    return escape("" if x is None else str(x), quote=True)


def _finite(x: Any) -> float | None:
    """A plotted or formatted number, or None for anything missing, non-numeric, NaN or infinite."""
    # numbers.Real so that numpy scalars straight from a model count as numbers too.
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _num(x: Any, digits: int = 3) -> str:
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return f"{int(x):,}"
    f = _finite(x)
    if f is not None:
        return f"{f:.{digits}f}"
    return "n/a" if x is None or isinstance(x, float) else str(x)


def _pct(x: Any) -> str:
    f = _finite(x)
    return "n/a" if f is None else f"{100 * f:.1f}%"


def _seconds(x: Any) -> str:
    s = _finite(x)
    if s is None:
        return "n/a"
    if s < 60:
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    m, s = divmod(round(s), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _terms(ranking: Any, key: str) -> list[str]:
    """Term strings of a ranking list, skipping malformed rows rather than failing the report."""
    if not isinstance(ranking, list):
        return []
    return [str(r["term"]) for r in ranking if isinstance(r, dict) and r.get("term") and key in r]


def _label_terms(topic: dict[str, Any]) -> list[str]:
    # Relevance and FREX favour terms specific to the topic; raw probability favours corpus-wide
    # frequent words, so it is only the fallback.
    for key, field in (("relevance", "score"), ("frex", "score"), ("terms", "weight")):
        terms = _terms(topic.get(key), field)
        if terms:
            return terms
    return []


def _short_label(topic: dict[str, Any]) -> str:
    name = topic.get("name")
    return str(name) if name else " ".join(_label_terms(topic)[:3])


def _highlight(text: str, terms: list[str]) -> str:
    """``text`` escaped, with every occurrence of ``terms`` in <mark>.

    Chinese has no spaces between words, so terms are matched as substrings; longer terms go
    first in the alternation so that 疫情防控 wins over 疫情 when both are listed.
    """
    unique = sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    if not unique:
        return _e(text)
    out, last = [], 0
    for m in re.finditer("|".join(map(re.escape, unique)), text):
        out.append(_e(text[last : m.start()]))
        out.append(f"<mark>{_e(m.group())}</mark>")
        last = m.end()
    out.append(_e(text[last:]))
    return "".join(out)


# -- charts ----------------------------------------------------------------------------------


def _row_bars(rows: Sequence[tuple[str, float, str, str | None, str]], label: str) -> str:
    """Horizontal bars with the label drawn over each bar: (text, fraction 0..1, value text, link, tooltip).

    Widths are percentages and there is no viewBox, so the chart fills any column width while the
    text stays at its CSS size: no shrinking to unreadable type on a phone.
    """
    h, gap = 22, 4
    parts = [
        f'<svg class="rowbars" width="100%" height="{len(rows) * (h + gap)}" role="img" '
        f'aria-label="{_e(label)}">'
    ]
    for i, (text, frac, value, href, tip) in enumerate(rows):
        y = i * (h + gap)
        width = max(0.0, min(1.0, frac)) * 100
        row = (
            f"<title>{_e(tip)}</title>"
            f'<rect class="track" x="0" y="{y}" width="100%" height="{h}" rx="3"/>'
            f'<rect class="bar" x="0" y="{y}" width="{width:.2f}%" height="{h}" rx="3"/>'
            f'<text x="6" y="{y + 15}">{_e(text)}</text>'
            f'<text class="val" x="100%" dx="-6" y="{y + 15}" text-anchor="end">{_e(value)}</text>'
        )
        parts.append(f'<a href="{_e(href)}">{row}</a>' if href else f"<g>{row}</g>")
    parts.append("</svg>")
    return "".join(parts)


def _scale(lo: float, hi: float, a: float, b: float) -> Callable[[float], float]:
    span = hi - lo
    if span <= 0:
        return lambda v: (a + b) / 2
    return lambda v: a + (v - lo) / span * (b - a)


def _line_chart(
    points: list[tuple[float, float]],
    xs: list[float],
    xlabels: list[str],
    *,
    marker: float | None = None,
    y_range: tuple[float, float] | None = None,
    area: bool = False,
    tip: Callable[[float, float], str] | None = None,
) -> str:
    """A small line chart of the mean y at each x, in a fixed viewBox.

    ``points`` may repeat an x (one model per seed): each is drawn as a faint dot around the mean.
    """
    w, h, left, right, top, bottom = 300, 150, 46, 22, 10, 24
    ys = [y for _, y in points]
    lo, hi = y_range or (min(ys), max(ys))
    if hi - lo < 1e-12:  # a flat series still needs a y scale
        d = abs(lo) * 0.1 or 0.5
        lo, hi = lo - d, hi + d
    pad = 0.06 * (hi - lo) if y_range is None else 0.0
    lo, hi = lo - pad, hi + pad
    sx = _scale(min(xs), max(xs), left, w - right)
    sy = _scale(lo, hi, h - bottom, top)
    parts = [
        f'<svg viewBox="0 0 {w} {h}" width="100%" role="img">',
        f'<line class="axis" x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}"/>',
    ]
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(
            f'<text class="tick" x="{left - 4}" y="{sy(v) + 4:.1f}" text-anchor="end">{_e(_tick(v))}</text>'
        )
    step = max(1, math.ceil(len(xs) / 8))  # thin the x labels when there are many periods or Ks
    for i, (x, text) in enumerate(zip(xs, xlabels, strict=True)):
        if i % step == 0 or i == len(xs) - 1:
            parts.append(
                f'<text class="tick" x="{sx(x):.1f}" y="{h - 6}" text-anchor="middle">'
                f"{_e(_clip(text, 10))}</text>"
            )
    if marker is not None:
        parts.append(
            f'<line class="guide" x1="{sx(marker):.1f}" y1="{top}" x2="{sx(marker):.1f}" y2="{h - bottom}"/>'
        )
    by_x: dict[float, list[float]] = {}
    for x, y in points:
        by_x.setdefault(x, []).append(y)
    line = [(x, sum(v) / len(v)) for x, v in sorted(by_x.items())]
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
    if area:
        base = f"{sx(line[-1][0]):.1f},{sy(lo):.1f} {sx(line[0][0]):.1f},{sy(lo):.1f}"
        parts.append(f'<polygon class="area" points="{path} {base}"/>')
    parts.append(f'<polyline class="line" points="{path}"/>')
    cls = "seed" if len(points) > len(by_x) else "dot"
    for x, y in points:
        title = f"<title>{_e(tip(x, y))}</title>" if tip else ""
        parts.append(f'<circle class="{cls}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3">{title}</circle>')
    parts.append("</svg>")
    return "".join(parts)


def _tick(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}" if a < 1 else f"{v:.2f}"


# -- sections --------------------------------------------------------------------------------


def _summary(data: dict[str, Any]) -> str:
    corpus = data.get("corpus") or {}
    model = data.get("model") or {}
    timings = data.get("timings") or {}
    stats = [
        ("files", "files"),
        ("documents", "documents"),
        ("units", "paragraph units"),
        ("tokens", "tokens after cleaning"),
        ("terms", "vocabulary terms"),
    ]
    out = ['<section id="summary"><h2>Run summary</h2><div class="stats">']
    out += [
        f'<div class="stat"><b>{_e(_num(corpus[k]))}</b><span>{_e(label)}</span></div>'
        for k, label in stats
        if corpus.get(k) is not None
    ]
    out.append('</div><div class="panels">')
    removed = [("lines (web furniture, titles, headings)", corpus.get("removed_lines"))]
    removed += [(f"{name} tokens", n) for name, n in (corpus.get("removed_tokens") or {}).items()]
    removed = [(k, v) for k, v in removed if v is not None]
    if removed:
        out.append('<div class="panel"><h3>Cleaning removed</h3><table class="kv">')
        out += [f'<tr><th>{_e(k)}</th><td class="n">{_e(_num(v))}</td></tr>' for k, v in removed]
        out.append("</table></div>")
    out.append(_coverage(corpus.get("coverage")))
    if model:
        names = {"num_topics": "topics (K)"}
        out.append('<div class="panel"><h3>Model</h3><table class="kv">')
        out += [
            f'<tr><th>{_e(names.get(k, k))}</th><td class="n">{_e(_num(v))}</td></tr>'
            for k, v in model.items()
            if v is not None
        ]
        out.append("</table></div>")
    if timings:
        out.append('<div class="panel"><h3>Timings</h3><table class="kv">')
        out += [f'<tr><th>{_e(k)}</th><td class="n">{_e(_seconds(v))}</td></tr>' for k, v in timings.items()]
        total = sum(v for v in map(_finite, timings.values()) if v is not None)
        out.append(f'<tr class="total"><td>total</td><td class="n">{_seconds(total)}</td></tr></table></div>')
    out.append("</div></section>")
    return "".join(out)


def _coverage(cov: dict[str, Any] | None) -> str:
    """Where the text's characters went, and the files that kept least of theirs."""
    if not cov:
        return ""
    rows = [("units", cov["units"]), *((f"{k} lines", cov[k]) for k in ("furniture", "title", "heading"))]
    out = ['<div class="panel" id="coverage"><h3>Characters of the text</h3><table class="kv">']
    out += [f'<tr><th>{_e(k)}</th><td class="n">{_e(_pct(v))}</td></tr>' for k, v in rows]
    out.append("</table>")
    if cov["low_count"]:
        out.append(
            f"<p>{_e(_num(cov['low_count']))} files kept less than 90% of their characters "
            '(see <code>segmentation.tsv</code>):</p><table class="kv">'
        )
        out += [
            f'<tr><th>{_e(f["source"])}</th><td class="n">{_e(_pct(f["units"]))}, mostly '
            f"{_e(f['mostly'])}</td></tr>"
            for f in cov["low_files"]
        ]
        out.append("</table>")
    out.append("</div>")
    return "".join(out)


def _prevalence(topics: list[dict[str, Any]]) -> str:
    shown = [t for t in topics if _finite(t.get("prevalence")) is not None]
    if not shown:
        return ""
    shown.sort(key=lambda t: (-t["prevalence"], t["topic"]))
    top = max(t["prevalence"] for t in shown) or 1.0
    rows = [
        (
            _clip(f"{t['topic']} · {_short_label(t)}", 28),
            t["prevalence"] / top,
            _pct(t["prevalence"]),
            f"#topic-{t['topic']}",
            f"Topic {t['topic']}: {_pct(t['prevalence'])} of tokens",
        )
        for t in shown
    ]
    return (
        '<section id="prevalence"><h2>Topic prevalence</h2>'
        '<p class="muted">Share of corpus tokens per topic, largest first; click a bar for the topic.</p>'
        + _row_bars(rows, "Topic prevalence")
        + "</section>"
    )


def _intertopic(points: Any, topics: list[dict[str, Any]]) -> str:
    if not isinstance(points, list):
        return ""
    pts = [
        (p["topic"], _finite(p.get("x")), _finite(p.get("y")))
        for p in points
        if isinstance(p, dict) and "topic" in p
    ]
    pts2 = [(t, x, y) for t, x, y in pts if x is not None and y is not None]
    if not pts2:
        return ""
    by_id = {t["topic"]: t for t in topics}
    prev = {t: _finite(by_id.get(t, {}).get("prevalence")) or 0.0 for t, _, _ in pts2}
    size, rmax = 400, 48
    top = max(prev.values()) or 1.0
    # Area ∝ prevalence; the floor keeps a topic of almost no weight visible and clickable.
    radius = {t: max(6.0, rmax * math.sqrt(p / top)) for t, p in prev.items()}
    xs, ys = [x for _, x, _ in pts2], [y for _, _, y in pts2]
    # One scale for both axes: the map shows distances, so it must not be stretched.
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    inner = size - 2 * (rmax + 8)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    mid = size / 2
    out = [
        '<section id="intertopic"><h2>Intertopic distance map</h2>'
        '<p class="muted">Topics placed so that similar topics are close; circle area is proportional '
        "to prevalence. Click a circle for the topic.</p>"
        f'<figure class="map"><svg viewBox="0 0 {size} {size}" width="100%" role="img" '
        'aria-label="Intertopic distance map">'
        f'<line class="axis" x1="0" y1="{mid}" x2="{size}" y2="{mid}"/>'
        f'<line class="axis" x1="{mid}" y1="0" x2="{mid}" y2="{size}"/>'
    ]
    # Largest first so that small topics are drawn on top and stay clickable.
    for t, x, y in sorted(pts2, key=lambda p: -radius[p[0]]):
        px = mid + (x - cx) / span * inner
        py = mid - (y - cy) / span * inner
        tip = f"Topic {t} · {_short_label(by_id.get(t, {}))} · {_pct(prev[t])}"
        out.append(
            f'<a href="#topic-{_e(t)}"><title>{_e(tip)}</title>'
            f'<circle class="bubble" cx="{px:.1f}" cy="{py:.1f}" r="{radius[t]:.1f}"/>'
            f'<text class="bubble-id" x="{px:.1f}" y="{py + 5:.1f}" text-anchor="middle">{_e(t)}</text></a>'
        )
    out.append("</svg></figure></section>")
    return "".join(out)


def _topic_card(t: dict[str, Any]) -> str:
    tid = t["topic"]
    name = t.get("name")
    flags = [f for f in t.get("flags") or [] if f]
    out = [
        f'<article class="topic-card" id="topic-{_e(tid)}"><header>'
        f'<h3><span class="tid">Topic {_e(tid)}</span>{" · " + _e(name) if name else ""}</h3>'
    ]
    out += [f'<span class="flag">{_e(f)}</span>' for f in flags]
    out.append("</header>")
    if t.get("note"):
        out.append(f'<p class="note">{_e(t["note"])}</p>')
    metrics = [("prevalence", _pct(t.get("prevalence"))), ("coherence", _num(t.get("coherence")))]
    if "stability" in t:
        metrics.append(("stability", _num(t.get("stability"))))
    # Diagnostics may repeat a headline number (coherence, stability); the headline one is canonical.
    named = {k for k, _ in metrics}
    metrics += [(str(k), _num(v)) for k, v in (t.get("diagnostics") or {}).items() if k not in named]
    out.append('<dl class="metrics">')
    out += [f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in metrics]
    out.append('</dl><div class="labels">')
    rankings = [
        ("relevance", "relevance (λ)", "score"),
        ("frex", "FREX", "score"),
    ]
    shown = [(label, _terms(t.get(key), field)) for key, label, field in rankings]
    shown = [(label, terms) for label, terms in shown if terms]
    if not shown:
        shown = [("top terms", _terms(t.get("terms"), "weight"))]
    for label, terms in shown:
        out.append(f"<p><b>{_e(label)}</b>{_e(' '.join(terms[:LABEL_TERMS]))}</p>")
    out.append('</div><div class="cols"><figure style="margin:0">')
    weights = [(r.get("term"), _finite(r.get("weight"))) for r in t.get("terms") or [] if isinstance(r, dict)]
    weights2 = [(str(term), w) for term, w in weights if term and w is not None][:CHART_TERMS]
    if weights2:
        top = max(w for _, w in weights2) or 1.0
        rows = [(term, w / top, f"{w:.3f}", None, f"{term}: {w:.4f}") for term, w in weights2]
        out.append("<h4>Term probabilities</h4>" + _row_bars(rows, f"Term probabilities of topic {tid}"))
    out.append("</figure><div>")
    reps = [r for r in t.get("representatives") or [] if isinstance(r, dict) and r.get("text")]
    if reps:
        marks = [term for _, terms in shown for term in terms[:LABEL_TERMS]]
        marks += [term for term, _ in weights2[:LABEL_TERMS]]
        out.append("<h4>Representative passages</h4>")
        for r in reps:
            meta = [f"<code>{_e(r.get('where', '?'))}</code>"]
            if r.get("heading"):
                meta.append(_e(r["heading"]))
            if _finite(r.get("weight")) is not None:
                meta.append(f"weight {r['weight']:.2f}")
            out.append(
                f"<blockquote><p>{_highlight(str(r['text']), marks)}</p>"
                f"<footer>{' · '.join(meta)}</footer></blockquote>"
            )
    out.append("</div></div></article>")
    return "".join(out)


def _topic_cards(topics: list[dict[str, Any]]) -> str:
    if not topics:
        return ""
    cards = "".join(_topic_card(t) for t in topics)
    return f'<section id="topics"><h2>Topics</h2><div class="topics">{cards}</div></section>'


def _heatmap(documents: Any, topics: list[dict[str, Any]]) -> str:
    if not isinstance(documents, list) or not documents:
        return ""
    docs = [d for d in documents if isinstance(d, dict) and isinstance(d.get("mix"), list)]
    if not docs:
        return ""
    k = max(len(d["mix"]) for d in docs)
    shown = docs[:MAX_DOC_ROWS]

    def dominant(d: dict[str, Any]) -> tuple[int, float]:
        vals = [_finite(v) or 0.0 for v in d["mix"]]
        best = max(range(len(vals)), key=lambda i: vals[i]) if vals else 0
        return best, -(vals[best] if vals else 0.0)

    # Grouping rows by dominant topic turns the map into visible blocks, one per topic.
    shown = sorted(shown, key=dominant)
    note = f"{len(docs)} documents"
    if len(docs) > len(shown):
        note = f"Showing the first {len(shown)} of {len(docs)} documents"
    by_id = {t["topic"]: t for t in topics}
    # mix[i] is the share of topic i (documents.csv's topic_i column), so columns are topic ids.
    out = [
        '<section id="documents"><h2>Documents × topics</h2>'
        f'<p class="muted">{_e(note)}, grouped by dominant topic; darker cells carry more of the topic. '
        'Hover a row for its source.</p><div class="heat-wrap"><table class="heat">'
        "<thead><tr><th>document</th>"
    ]
    out += [
        f'<th><a href="#topic-{i}" title="{_e(_short_label(by_id.get(i, {})))}">{i}</a></th>'
        for i in range(k)
    ]
    out.append("</tr></thead><tbody>")
    for d in shown:
        doc = str(d.get("doc_id", ""))
        cells = []
        for i in range(k):
            v = _finite(d["mix"][i]) if i < len(d["mix"]) else None
            if v is None:
                cells.append("<td></td>")
                continue
            cls = ' class="hi"' if v >= 0.55 else ' class="v"' if v >= 0.1 else ""
            cells.append(
                f'<td{cls} style="background:rgba(var(--heat),{min(1.0, max(0.0, v)):.2f})" '
                f'title="{_e(doc)} · topic {i}: {v:.3f}">{v:.2f}</td>'
            )
        out.append(f'<tr><th title="{_e(d.get("source", ""))}">{_e(doc)}</th>{"".join(cells)}</tr>')
    out.append("</tbody></table></div></section>")
    return "".join(out)


SWEEP_METRICS = [
    ("c_v", "C_V coherence", "higher is better"),
    ("c_npmi", "NPMI coherence", "higher is better"),
    ("u_mass", "UMass coherence", "closer to 0 is better"),
    ("diversity", "topic diversity", "share of unique top terms"),
    ("perplexity", "perplexity", "lower is better"),
    ("stability", "stability across seeds", "higher is better"),
]


def _sweep(rows: Any, chosen: Any) -> str:
    if not isinstance(rows, list):
        return ""
    runs = [r for r in rows if isinstance(r, dict) and _finite(r.get("k")) is not None]
    if not runs:
        return ""
    ks = sorted({float(r["k"]) for r in runs})
    chosen_k = _finite(chosen.get("k")) if isinstance(chosen, dict) else None
    figures = []
    for key, title, hint in SWEEP_METRICS:
        points = [(float(r["k"]), v) for r in runs if (v := _finite(r.get(key))) is not None]
        if not points:
            continue
        chart = _line_chart(
            points,
            ks,
            [f"{k:g}" for k in ks],
            marker=chosen_k,
            tip=lambda x, y: f"K={x:g}: {y:.4g}",
        )
        figures.append(f"<figure><figcaption><b>{_e(title)}</b> · {_e(hint)}</figcaption>{chart}</figure>")
    if not figures:
        return ""
    seeds = len({r.get("seed") for r in runs})
    lead = f"{len(runs)} models over K = {', '.join(f'{k:g}' for k in ks)}"
    lead += f", {seeds} seeds each; dots are single models, the line their mean." if seeds > 1 else "."
    out = ['<section id="sweep"><h2>Choosing K</h2>', f'<p class="muted">{_e(lead)}</p>']
    if chosen_k is not None:
        reason = chosen.get("reason") if isinstance(chosen, dict) else None
        out.append(
            f"<p><b>Chosen K = {chosen_k:g}</b> (dashed line){': ' + _e(reason) if reason else ''}</p>"
        )
    out.append('<div class="grid-charts">' + "".join(figures) + "</div></section>")
    return "".join(out)


def _periods(prev: Any, topics: list[dict[str, Any]]) -> str:
    if not isinstance(prev, dict):
        return ""
    periods = [str(p) for p in prev.get("periods") or []]
    values = prev.get("values") or []
    if not periods or len(values) != len(periods):
        return ""
    k = max((len(v) for v in values if isinstance(v, list)), default=0)
    series = []
    for i in range(k):
        pts = [
            (float(j), v)
            for j, row in enumerate(values)
            if isinstance(row, list) and i < len(row) and (v := _finite(row[i])) is not None
        ]
        if pts:
            series.append((i, pts))
    if not series:
        return ""
    # One y scale for every panel, so a glance compares topics as well as periods.
    hi = max(v for _, pts in series for _, v in pts)
    by_id = {t["topic"]: t for t in topics}
    xs = [float(j) for j in range(len(periods))]
    figures = []
    for i, pts in series:
        chart = _line_chart(
            pts,
            xs,
            periods,
            y_range=(0.0, hi or 1.0),
            area=True,
            tip=lambda x, y: f"{periods[int(x)]}: {100 * y:.1f}%",
        )
        label = _short_label(by_id.get(i, {}))
        figures.append(
            f'<figure><figcaption><a href="#topic-{i}"><b>Topic {i}</b></a> · {_e(label)}</figcaption>'
            f"{chart}</figure>"
        )
    field = prev.get("field") or "period"
    return (
        f'<section id="periods"><h2>Prevalence by {_e(field)}</h2>'
        f'<p class="muted">Each topic\'s share of the tokens in each {_e(field)}; '
        "all panels share one scale.</p>"
        f'<div class="grid-charts">{"".join(figures)}</div></section>'
    )


# -- page ------------------------------------------------------------------------------------


def _topic_colour(topic: int) -> str:
    """Far-apart hues for neighbouring topic numbers (golden-angle steps)."""
    return f"hsl({(topic * 137.508) % 360:.0f} 62% 52%)"


def _segment_strips(segments: Any, topics: list[dict[str, Any]]) -> str:
    docs = (segments or {}).get("documents") or []
    if not docs:
        return ""
    by_id = {t["topic"]: t for t in topics}
    total = segments.get("with_segments", len(docs))
    note = f"{total} documents change topic inside"
    if total > len(docs):
        note += f"; the {len(docs)} longest are shown"
    rows = []
    for d in docs:
        cells = []
        for s in d["segments"]:
            t = s["topic"]
            name = f"topic {t}: {_short_label(by_id.get(t, {}))}" if t is not None else "no tokens"
            title = f"{s['first_unit']} … {s['last_unit']} · {s['units']} units · {name}"
            colour = _topic_colour(t) if t is not None else "var(--line)"
            label = str(t) if t is not None else ""
            cells.append(
                f'<span style="flex:{s["units"]};background:{colour}" title="{_e(title)}">{_e(label)}</span>'
            )
        rows.append(
            f'<div class="strip-row"><code>{_e(d["doc_id"])}</code>'
            f'<div class="strip">{"".join(cells)}</div><span class="muted">{d["units"]}</span></div>'
        )
    return (
        '<section id="segments"><h2>Topic segments of long documents</h2>'
        f'<p class="muted">{_e(note)} (segments.csv). Each strip is one document in reading order, '
        "cut where its units' topic mixes change; a block's width is its units, its number the "
        "segment's dominant topic. Hover a block for its units.</p>" + "".join(rows) + "</section>"
    )


def render_html(data: dict[str, Any]) -> str:
    """One self-contained HTML page of a run: summary, topics, documents, and any model-selection data.

    Pure: the same ``data`` gives the same page. Optional parts of ``data`` that are missing or None
    leave their sections out; every string from the data is HTML-escaped.
    """
    topics = [t for t in data.get("topics") or [] if isinstance(t, dict) and "topic" in t]
    run = data.get("run") or "run"
    sections = [
        ("summary", "Summary", _summary(data)),
        ("prevalence", "Prevalence", _prevalence(topics)),
        ("intertopic", "Topic map", _intertopic(data.get("intertopic"), topics)),
        ("topics", "Topics", _topic_cards(topics)),
        ("documents", "Documents", _heatmap(data.get("documents"), topics)),
        ("segments", "Segments", _segment_strips(data.get("segments"), topics)),
        ("sweep", "Choosing K", _sweep(data.get("sweep"), data.get("chosen_k"))),
        ("periods", "Over time", _periods(data.get("prevalence"), topics)),
    ]
    bodies = {sid: body for sid, _, body in sections if body}
    if "prevalence" in bodies and "intertopic" in bodies:
        # Side by side on wide screens: the bars say how big each topic is, the map how they relate.
        bodies["prevalence"] = f'<div class="overview">{bodies["prevalence"]}{bodies.pop("intertopic")}</div>'
    nav = " ".join(f'<a href="#{sid}">{_e(label)}</a>' for sid, label, body in sections if body)
    k = (data.get("model") or {}).get("num_topics") or len(topics)
    sub = [f"{k} topics"] if k else []
    docs = (data.get("corpus") or {}).get("documents")
    if docs is not None:
        sub.append(f"{_num(docs)} documents")
    by = f"Generated by {_e(data['generated_by'])}." if data.get("generated_by") else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>Topics of run {_e(run)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header class="page"><h1>Topics of run <code>{_e(run)}</code></h1>'
        f'<p class="muted">{_e(" · ".join(sub))}</p><nav class="toc">{nav}</nav></header>\n'
        + "\n".join(bodies.values())
        + f'\n<footer class="page">{by} Self-contained page: no network access needed.</footer>\n'
        "</main>\n</body>\n</html>\n"
    )
