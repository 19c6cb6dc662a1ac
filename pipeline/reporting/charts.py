"""The report's charts as inline SVG: bars, lines with intervals, the topic map, the dendrogram.

Each function takes plain numbers and labels and returns markup that is safe to place
in the page (every label escaped here). No chart needs a script to be read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from pipeline.reporting import axes

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
    """Horizontal bars with the label over each bar and the value at its right end.

    HTML, not SVG: the label is cut with an ellipsis where the value begins, so at any
    width, a phone's included, neither runs into the other."""
    parts = [f'<div class="rowbars" role="list" aria-label="{escape(label)}">']
    for r in rows:
        width = max(0.0, min(1.0, r.fraction)) * 100
        inner = (
            f'<span class="fill" style="width:{width:.2f}%"></span>'
            f'<span class="t">{escape(r.text)}</span><span class="v">{escape(r.value)}</span>'
        )
        tip = f' title="{escape(r.tip)}"' if r.tip else ""
        if r.href:
            parts.append(f'<a class="rb" role="listitem" href="{escape(r.href)}"{tip}>{inner}</a>')
        else:
            parts.append(f'<div class="rb" role="listitem"{tip}>{inner}</div>')
    parts.append("</div>")
    return Markup("".join(parts))


XAxis = Callable[[float, float, float, float], axes.Axis]  # (plot start, plot end, width, font) -> axis
W, H, TOP, BOTTOM, RIGHT = 300, 156, 10, 28, 12  # the line chart's viewBox and margins
TICK_FONT = 11  # svg .tick in report.css


def line_chart(
    points: Sequence[tuple[float, float]],
    x_axis: XAxis,
    *,
    percent: bool = False,
    marker: float | None = None,
    y_range: tuple[float, float] | None = None,
    area: bool = False,
    band: Sequence[tuple[float, float, float]] = (),
    tip: Callable[[float, float], str] | None = None,
) -> Markup:
    """A small line chart of the mean y at each x, in a fixed viewBox.

    ``points`` may repeat an x (one model per seed): each is drawn as a faint dot around
    the mean. ``band`` is (x, low, high): an interval drawn as a shaded band. The y axis
    ticks at d3's nice numbers (percents of shares when ``percent``); ``x_axis`` places
    the x ticks in the width left beside the y labels, so that no two labels overlap.
    """
    ys = [y for _, y in points] + [v for _, lo, hi in band for v in (lo, hi)]
    lo, hi = y_range or (min(ys), max(ys))
    if hi - lo < 1e-12:  # a flat series still needs a y scale
        d = abs(lo) * 0.1 or 0.5
        lo, hi = lo - d, hi + d
    y = axes.linear(lo, hi, H - BOTTOM, TOP, TICK_FONT, percent=percent, most=5)
    left = max([axes.text_width(s, TICK_FONT) for _, s in y.ticks] + [18.0]) + 8
    x = x_axis(left, W - RIGHT, W, TICK_FONT)
    sx, sy = x.scale(left, W - RIGHT), y.scale(H - BOTTOM, TOP)
    parts = [f'<svg viewBox="0 0 {W} {H}" width="100%" role="img">']
    for v, text in y.ticks:
        parts.append(
            f'<line class="grid" x1="{left}" y1="{sy(v):.1f}" x2="{W - RIGHT}" y2="{sy(v):.1f}"/>'
            f'<text class="tick" x="{left - 4:.1f}" y="{sy(v) + 4:.1f}" '
            f'text-anchor="end">{escape(text)}</text>'
        )
    parts.append(f'<line class="axis" x1="{left}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}"/>')
    for (v, _), (centre, text) in zip(x.ticks, axes.label_centres(x.ticks, sx, TICK_FONT, W), strict=True):
        parts.append(
            f'<line class="axis" x1="{sx(v):.1f}" y1="{H - BOTTOM}" x2="{sx(v):.1f}" y2="{H - BOTTOM + 4}"/>'
            f'<text class="tick" x="{centre:.1f}" y="{H - 6}" text-anchor="middle">{escape(text)}</text>'
        )
    if marker is not None:
        parts.append(
            f'<line class="guide" x1="{sx(marker):.1f}" y1="{TOP}" x2="{sx(marker):.1f}" y2="{H - BOTTOM}"/>'
        )
    if band:
        upper = " ".join(f"{sx(bx):.1f},{sy(b):.1f}" for bx, _, b in band)
        lower = " ".join(f"{sx(bx):.1f},{sy(a):.1f}" for bx, a, _ in reversed(band))
        parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
    by_x: dict[float, list[float]] = {}
    for px, py in points:
        by_x.setdefault(px, []).append(py)
    line = [(px, sum(v) / len(v)) for px, v in sorted(by_x.items())]
    path = " ".join(f"{sx(px):.1f},{sy(py):.1f}" for px, py in line)
    if area:
        base = f"{sx(line[-1][0]):.1f},{sy(y.lo):.1f} {sx(line[0][0]):.1f},{sy(y.lo):.1f}"
        parts.append(f'<polygon class="area" points="{path} {base}"/>')
    parts.append(f'<polyline class="line" points="{path}"/>')
    cls = "seed" if len(points) > len(by_x) else "dot"
    # Past a few dozen points a dot each (with its tooltip) weighs more than it tells: the
    # line stays, and the numbers are in the CSV beside the report.
    for px, py in points if len(points) <= MAX_DOTS else ():
        title = f"<title>{escape(tip(px, py))}</title>" if tip else ""
        parts.append(f'<circle class="{cls}" cx="{sx(px):.1f}" cy="{sy(py):.1f}" r="3">{title}</circle>')
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
    Circles may overlap; their numbers may not (``place_labels``).
    """
    rmax = size * 0.11
    top = max((b.prevalence for b in bubbles), default=0.0) or 1.0
    radius = {b.topic: max(6.0, rmax * math.sqrt(max(b.prevalence, 0.0) / top)) for b in bubbles}
    xs, ys = [b.x for b in bubbles], [b.y for b in bubbles]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    inner = size - 2 * (rmax + 8)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    mid = size / 2
    centre = {b.topic: (mid + (b.x - cx) / span * inner, mid - (b.y - cy) / span * inner) for b in bubbles}
    # Largest first so that small topics are drawn on top and stay clickable.
    order = sorted(bubbles, key=lambda b: -radius[b.topic])
    spots = place_labels([(centre[b.topic], radius[b.topic], str(b.topic)) for b in order], BUBBLE_FONT, size)
    out = [
        f'<svg viewBox="0 0 {size} {size}" width="100%" role="img" aria-label="Intertopic distance map">'
        f'<line class="axis" x1="0" y1="{mid}" x2="{size}" y2="{mid}"/>'
        f'<line class="axis" x1="{mid}" y1="0" x2="{mid}" y2="{size}"/>'
    ]
    for b, (lx, ly) in zip(order, spots, strict=True):
        px, py = centre[b.topic]
        out.append(
            f'<a href="#topic-{b.topic}" data-topic="{b.topic}"><title>{escape(b.tip)}</title>'
            f'<circle class="bubble" cx="{px:.1f}" cy="{py:.1f}" r="{radius[b.topic]:.1f}"/>'
            f'<text class="bubble-id" x="{lx:.1f}" y="{ly + BUBBLE_FONT * 0.35:.1f}" '
            f'text-anchor="middle">{b.topic}</text></a>'
        )
    out.append("</svg>")
    return Markup("".join(out))


BUBBLE_FONT = 14  # svg .bubble-id in report.css


def place_labels(
    items: Sequence[tuple[tuple[float, float], float, str]], font: float, size: float
) -> list[tuple[float, float]]:
    """Where to centre each label (a circle's centre, its radius, its text) so that no two
    overlap: at the centre when it is free, else the nearest free spot on rings around
    it, in order. Greedy, first come first served, inside the square of side ``size``."""
    placed: list[tuple[float, float, float, float]] = []  # half-width, half-height boxes
    out = []
    for (x, y), r, text in items:
        hw, hh = axes.text_width(text, font) / 2 + 1, font * 0.75
        spots = [(x, y)] + [
            (x + d * math.cos(a), y + d * math.sin(a))
            for d in (hh * 1.6, max(r * 0.6, hh * 2.4), r + hh, r + 3 * hh)
            for a in (k * math.pi / 4 for k in (6, 2, 0, 4, 7, 5, 1, 3))  # above, below, sides
        ]
        free = [
            (sx, sy)
            for sx, sy in spots
            if hw <= sx <= size - hw
            and hh <= sy <= size - hh
            and all(abs(sx - px) >= hw + pw or abs(sy - py) >= hh + ph for px, py, pw, ph in placed)
        ]
        sx, sy = free[0] if free else (x, y)
        placed.append((sx, sy, hw, hh))
        out.append((sx, sy))
    return out


def dendrogram(
    leaves: Sequence[int],
    links: Sequence[tuple[Sequence[float], Sequence[float]]],
    height: float,
    labels: dict[int, str],
) -> Markup:
    """scipy's dendrogram drawn sideways: leaves top to bottom, merge distance to the right.

    The names are HTML beside the tree (cut with an ellipsis, never shrunk) and the tree is
    drawn in percentages of the width left, so it fills any column, a phone's too. The
    distance axis starts a little below the first merge, not at 0: topics are all far
    apart, and from 0 every merge would crowd into the right fifth. scipy places leaf i at
    5 + 10 i on its axis; each link is four points (icoord, dcoord).
    """
    row = 22
    n = len(leaves)
    merges = [d for _, dcoord in links for d in dcoord if d > 0] or [height or 1.0]
    first, last = min(merges), max(height, max(merges))
    start = max(0.0, first - 0.15 * (last - first or last))
    axis = axes.linear(start, last, 0.0, DENDRO_AXIS_PX, TICK_FONT, width=DENDRO_AXIS_PX, most=5)
    lo, hi = axis.lo, axis.hi
    hi = hi if hi > lo else lo + 1.0

    def sx(v: float) -> float:
        return (max(v, lo) - lo) / (hi - lo) * 100

    def sy(v: float) -> float:
        return (v - 5) / 10 * row + row / 2

    names = "".join(
        f'<li><a href="#topic-{t}" title="{t} · {escape(labels.get(t, ""))}">'
        f"{t} · {escape(labels.get(t, ''))}</a></li>"
        for t in leaves
    )
    lines = []
    for icoord, dcoord in links:
        (i0, i1, i2, i3), (d0, d1, d2, d3) = icoord, dcoord
        segments = ((d0, i0, d1, i1), (d1, i1, d2, i2), (d2, i2, d3, i3))  # across, down, back
        lines.append(
            '<g class="link">'
            + "".join(
                f'<line x1="{sx(a):.2f}%" y1="{sy(b):.1f}" x2="{sx(c):.2f}%" y2="{sy(d):.1f}"/>'
                for a, b, c, d in segments
            )
            + "</g>"
        )
    ticks = "".join(
        f'<span style="left:{sx(v):.2f}%">{escape(text)}</span>' for v, text in axis.ticks if lo <= v <= hi
    )
    return Markup(
        f'<div class="dendro"><ol class="dendro-names">{names}</ol><div class="dendro-plot">'
        f'<svg width="100%" height="{n * row}" role="img" aria-label="Topic hierarchy">{"".join(lines)}</svg>'
        f'<div class="dendro-axis">{ticks}</div></div></div>'
    )


DENDRO_AXIS_PX = 220  # the narrowest the tree's column gets (a phone): its ticks fit there
