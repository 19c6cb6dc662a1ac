"""The report's charts as inline SVG: bars, lines with intervals, the topic map, the dendrogram.

Each function takes plain numbers and labels and returns markup that is safe to place
in the page (every label escaped here). No chart needs a script to be read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pipeline.reporting.summary import excerpt

MAX_DOTS = 60  # points drawn as dots in a line chart


def topic_colour(topic: int) -> str:
    """Far-apart hues for neighbouring topic numbers (golden-angle steps)."""
    return f"hsl({(topic * 137.508) % 360:.0f} 62% 52%)"


@dataclass(frozen=True)
class Bar:
    text: str
    fraction: float  # 0..1 of the track
    value: str
    href: str | None = None
    tip: str = ""


def row_bars(rows: Sequence[Bar], label: str) -> Markup:
    """Horizontal bars with the label drawn over each bar.

    Widths are percentages and there is no viewBox, so the chart fills any column width
    while the text stays at its CSS size: no shrinking to unreadable type on a phone.
    """
    h, gap = 22, 4
    parts = [
        f'<svg class="rowbars" width="100%" height="{len(rows) * (h + gap)}" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    for i, r in enumerate(rows):
        y = i * (h + gap)
        width = max(0.0, min(1.0, r.fraction)) * 100
        row = (
            f"<title>{escape(r.tip)}</title>"
            f'<rect class="track" x="0" y="{y}" width="100%" height="{h}" rx="3"/>'
            f'<rect class="bar" x="0" y="{y}" width="{width:.2f}%" height="{h}" rx="3"/>'
            f'<text x="6" y="{y + 15}">{escape(r.text)}</text>'
            f'<text class="val" x="100%" dx="-6" y="{y + 15}" text-anchor="end">{escape(r.value)}</text>'
        )
        parts.append(f'<a href="{escape(r.href)}">{row}</a>' if r.href else f"<g>{row}</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _scale(lo: float, hi: float, a: float, b: float) -> Callable[[float], float]:
    span = hi - lo
    if span <= 0:
        return lambda v: (a + b) / 2
    return lambda v: a + (v - lo) / span * (b - a)


def tick(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}" if a < 1 else f"{v:.2f}"


def line_chart(
    points: Sequence[tuple[float, float]],
    xs: Sequence[float],
    xlabels: Sequence[str],
    *,
    marker: float | None = None,
    y_range: tuple[float, float] | None = None,
    area: bool = False,
    band: Sequence[tuple[float, float, float]] = (),
    tip: Callable[[float, float], str] | None = None,
) -> Markup:
    """A small line chart of the mean y at each x, in a fixed viewBox.

    ``points`` may repeat an x (one model per seed): each is drawn as a faint dot around
    the mean. ``band`` is (x, low, high): an interval drawn as a shaded band.
    """
    w, h, left, right, top, bottom = 300, 150, 46, 22, 10, 24
    ys = [y for _, y in points] + [v for _, lo, hi in band for v in (lo, hi)]
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
        y = sy(v) + 4
        parts.append(
            f'<text class="tick" x="{left - 4}" y="{y:.1f}" text-anchor="end">{escape(tick(v))}</text>'
        )
    step = max(1, math.ceil(len(xs) / 8))  # thin the x labels when there are many periods or Ks
    for i, (x, text) in enumerate(zip(xs, xlabels, strict=True)):
        if i % step == 0 or i == len(xs) - 1:
            short = excerpt(text, 10)
            parts.append(
                f'<text class="tick" x="{sx(x):.1f}" y="{h - 6}" text-anchor="middle">{escape(short)}</text>'
            )
    if marker is not None:
        parts.append(
            f'<line class="guide" x1="{sx(marker):.1f}" y1="{top}" x2="{sx(marker):.1f}" y2="{h - bottom}"/>'
        )
    if band:
        upper = " ".join(f"{sx(x):.1f},{sy(b):.1f}" for x, _, b in band)
        lower = " ".join(f"{sx(x):.1f},{sy(a):.1f}" for x, a, _ in reversed(band))
        parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
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
    # Past a few dozen points a dot each (with its tooltip) weighs more than it tells: the
    # line stays, and the numbers are in the CSV beside the report.
    for x, y in points if len(points) <= MAX_DOTS else ():
        title = f"<title>{escape(tip(x, y))}</title>" if tip else ""
        parts.append(f'<circle class="{cls}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3">{title}</circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Bubble:
    topic: int
    x: float
    y: float
    prevalence: float
    tip: str


def topic_map(bubbles: Sequence[Bubble], size: int = 420) -> Markup:
    """Topics placed by their distances, circle area proportional to prevalence (LDAvis).

    One scale for both axes: the map shows distances, so it must not be stretched. The
    smallest circle keeps a floor so that a topic of almost no weight stays clickable.
    """
    rmax = size * 0.11
    top = max((b.prevalence for b in bubbles), default=0.0) or 1.0
    radius = {b.topic: max(6.0, rmax * math.sqrt(max(b.prevalence, 0.0) / top)) for b in bubbles}
    xs, ys = [b.x for b in bubbles], [b.y for b in bubbles]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    inner = size - 2 * (rmax + 8)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    mid = size / 2
    out = [
        f'<svg viewBox="0 0 {size} {size}" width="100%" role="img" aria-label="Intertopic distance map">'
        f'<line class="axis" x1="0" y1="{mid}" x2="{size}" y2="{mid}"/>'
        f'<line class="axis" x1="{mid}" y1="0" x2="{mid}" y2="{size}"/>'
    ]
    # Largest first so that small topics are drawn on top and stay clickable.
    for b in sorted(bubbles, key=lambda b: -radius[b.topic]):
        px = mid + (b.x - cx) / span * inner
        py = mid - (b.y - cy) / span * inner
        out.append(
            f'<a href="#topic-{b.topic}" data-topic="{b.topic}"><title>{escape(b.tip)}</title>'
            f'<circle class="bubble" cx="{px:.1f}" cy="{py:.1f}" r="{radius[b.topic]:.1f}"/>'
            f'<text class="bubble-id" x="{px:.1f}" y="{py + 5:.1f}" text-anchor="middle">{b.topic}</text></a>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def dendrogram(
    leaves: Sequence[int],
    links: Sequence[tuple[Sequence[float], Sequence[float]]],
    height: float,
    labels: dict[int, str],
) -> Markup:
    """scipy's dendrogram drawn sideways: leaves top to bottom, merge distance to the right.

    scipy places leaf i at 5 + 10 i on its axis; each link is four points (icoord, dcoord).
    """
    row, label_w, w = 22, 240, 640
    n = len(leaves)
    h = n * row + 24
    sx = _scale(0.0, height or 1.0, label_w, w - 12)

    def sy(v: float) -> float:
        return (v - 5) / 10 * row + row / 2

    out = [f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="Topic hierarchy">']
    for i, t in enumerate(leaves):
        text = f"{t} · {labels.get(t, '')}"
        short = excerpt(text, 24)
        out.append(
            f'<a href="#topic-{t}"><text x="{label_w - 8}" y="{sy(5 + 10 * i) + 4:.1f}" '
            f'text-anchor="end">{escape(short)}</text></a>'
        )
    for icoord, dcoord in links:
        pts = " ".join(f"{sx(d):.1f},{sy(ic):.1f}" for ic, d in zip(icoord, dcoord, strict=True))
        out.append(f'<polyline class="link" points="{pts}"/>')
    base = n * row + 4
    for v in (0.0, (height or 1.0) / 2, height or 1.0):
        out.append(f'<text class="tick" x="{sx(v):.1f}" y="{base + 14}" text-anchor="middle">{v:.2f}</text>')
    out.append(f'<line class="axis" x1="{label_w}" y1="{base}" x2="{w - 12}" y2="{base}"/>')
    out.append("</svg>")
    return Markup("".join(out))
