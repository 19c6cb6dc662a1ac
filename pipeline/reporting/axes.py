"""Chart axes: where the ticks go and what they say, so that labels never overlap.

Numeric ticks are d3-array's "nice numbers" (``ticks``, ``tickIncrement`` and ``nice``
of d3-array 3.2.4, src/ticks.js and src/nice.js, ISC licence, Mike Bostock), ported line
for line: steps of 1, 2 or 5 times a power of ten, chosen so that about ``count`` of
them span the domain. A label's width is estimated from its characters (a CJK character
is one em, anything else at most 0.62 em), and an axis takes the densest ticks whose
labels fit the width it is drawn in, so density follows the space, not the data.

Time axes (periods such as 2019, 2019-07, 2019 Q3, 2019-07-01) place each period at its
start on a continuous time line, in years, and label day, month or year boundaries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

E10, E5, E2 = math.sqrt(50), math.sqrt(10), math.sqrt(2)
LABEL_GAP = 6.0  # space between two tick labels, in the units of the chart
LINE_GAP = 1.8  # vertical labels' distance in font sizes: a CJK font's line box is 1.45
CJK_EM, OTHER_EM = 1.0, 0.62  # a label character's advance, in ems: CJK, and the widest digits


def _round(x: float) -> int:
    """JavaScript's Math.round: halves go up, not to the even neighbour."""
    return math.floor(x + 0.5)


def _tick_spec(start: float, stop: float, count: float) -> tuple[int, int, float]:
    step = (stop - start) / max(0.0, count)
    if not step > 0 or not math.isfinite(step):  # JavaScript's log10(0) is -Infinity: d3 gives NaN
        return 0, -1, math.nan
    power = math.floor(math.log10(step))
    error = step / 10.0**power
    factor = 10 if error >= E10 else 5 if error >= E5 else 2 if error >= E2 else 1
    if power < 0:
        inc = 10.0**-power / factor
        i1, i2 = _round(start * inc), _round(stop * inc)
        if i1 / inc < start:
            i1 += 1
        if i2 / inc > stop:
            i2 -= 1
        inc = -inc
    else:
        inc = 10.0**power * factor
        i1, i2 = _round(start / inc), _round(stop / inc)
        if i1 * inc < start:
            i1 += 1
        if i2 * inc > stop:
            i2 -= 1
    if i2 < i1 and 0.5 <= count < 2:
        return _tick_spec(start, stop, count * 2)
    return i1, i2, inc


def _usable(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


def ticks(start: float, stop: float, count: float) -> list[float]:
    """About ``count + 1`` nicely rounded values in [start, stop] (d3-array ``ticks``).

    A negative increment -n stands for the step 1/n, so that a tick is i / n and 0.3
    prints as 0.3, not 0.30000000000000004."""
    if not _usable(start, stop, count) or not count > 0:
        return []
    if start == stop:
        return [start]
    reverse = stop < start
    i1, i2, inc = _tick_spec(stop, start, count) if reverse else _tick_spec(start, stop, count)
    if not i2 >= i1:
        return []
    steps = range(i2, i1 - 1, -1) if reverse else range(i1, i2 + 1)
    return [(i / -inc if inc < 0 else i * inc) + 0.0 for i in steps]  # + 0.0: no negative zero


def tick_increment(start: float, stop: float, count: float) -> float:
    """The step of ``ticks``: positive, or -n for a step of 1/n (d3-array ``tickIncrement``)."""
    return _tick_spec(start, stop, count)[2]


def tick_step(start: float, stop: float, count: float) -> float:
    """The step of ``ticks`` as a number (d3-array ``tickStep``)."""
    reverse = stop < start
    inc = tick_increment(stop, start, count) if reverse else tick_increment(start, stop, count)
    return (-1 if reverse else 1) * (1 / -inc if inc < 0 else inc)


def nice(start: float, stop: float, count: float) -> tuple[float, float]:
    """The domain widened to whole steps of its ticks (d3-array ``nice``)."""
    if not _usable(start, stop, count) or start == stop or not count > 0:
        return start, stop
    prestep = None
    while True:
        step = tick_increment(start, stop, count)
        if step == prestep or step == 0 or not math.isfinite(step):
            return start, stop
        if step > 0:
            start, stop = math.floor(start / step) * step, math.ceil(stop / step) * step
        else:
            start, stop = math.ceil(start * step) / step, math.floor(stop * step) / step
        prestep = step


def decimals(step: float) -> int:
    """Digits after the point that tell ticks ``step`` apart (d3-format ``precisionFixed``)."""
    return max(0, -math.floor(math.log10(abs(step)) + 1e-9)) if step else 0


def text_width(text: str, size: float) -> float:
    """A generous estimate of a label's width at font size ``size``."""
    em = sum(CJK_EM if unicodedata.east_asian_width(c) in "WF" else OTHER_EM for c in text)
    return em * size


@dataclass(frozen=True)
class Axis:
    """A scale's domain and its labelled ticks, at positions in that domain."""

    lo: float
    hi: float
    ticks: tuple[tuple[float, str], ...]

    def scale(self, a: float, b: float) -> Callable[[float], float]:
        """Domain to [a, b] (a flat domain maps to the middle)."""
        span = self.hi - self.lo
        if span <= 0:
            return lambda v: (a + b) / 2
        return lambda v: a + (v - self.lo) / span * (b - a)


def label_centres(
    ticks_: Sequence[tuple[float, str]], to_px: Callable[[float], float], size: float, width: float
) -> list[tuple[float, str]]:
    """Where each horizontal label is centred: on its tick, or pushed just inside [0, width]
    when it would stick out at an edge (Vega's ``labelFlush``)."""
    out = []
    for x, label in ticks_:
        half = text_width(label, size) / 2
        out.append((min(max(to_px(x), half), width - half), label))
    return out


def fits(
    ticks_: Sequence[tuple[float, str]], to_px: Callable[[float], float], size: float, width: float
) -> bool:
    """Whether the labels of ``ticks_`` leave LABEL_GAP between neighbours in [0, width]."""
    boxes = sorted((c, text_width(label, size) / 2) for c, label in label_centres(ticks_, to_px, size, width))
    return all(a + wa + LABEL_GAP <= b - wb for (a, wa), (b, wb) in itertools.pairwise(boxes))


def _densest(
    candidates: Sequence[Sequence[tuple[float, str]]],
    to_px: Callable[[float], float],
    size: float,
    width: float,
) -> tuple[tuple[float, str], ...]:
    """The first candidate (densest first) with two or more labels that fit; else one label."""
    for cand in candidates:
        if len(cand) > 1 and fits(cand, to_px, size, width):
            return tuple(cand)
    return next((tuple(c[:1]) for c in candidates if c), ())


def format_number(v: float, step: float) -> str:
    """A tick value with just the digits its step needs, thousands grouped."""
    return f"{v:,.{decimals(step)}f}"


def linear(
    lo: float,
    hi: float,
    a: float,
    b: float,
    size: float,
    *,
    width: float | None = None,
    percent: bool = False,
    integer: bool = False,
    most: int = 10,
    extend: bool = True,
) -> Axis:
    """A numeric axis over [lo, hi] drawn from ``a`` to ``b``, widened to whole ticks
    (d3's ``nice``): the densest ticks, at most about ``most``, whose labels do not overlap.
    Horizontal labels (``width``: the chart's, which they must stay inside) need their
    width each, vertical ones LINE_GAP lines. Shares tick at nice percents when ``percent``;
    ``integer`` keeps whole numbers only (K in a sweep); ``extend=False`` keeps the domain.
    """
    factor = 100.0 if percent else 1.0
    if hi == lo:  # one value (a sweep over one K): an axis one step either side of it
        pad = 1.0 if integer or lo == 0 else abs(lo) / 10
        lo, hi = lo - pad, hi + pad
    for count in range(most, 0, -1):
        na, nb = nice(lo * factor, hi * factor, count) if extend else (lo * factor, hi * factor)
        values = [v for v in ticks(na, nb, count) if not integer or float(v).is_integer()]
        if not values:
            continue
        step = max(abs(tick_step(na, nb, count)), 1.0 if integer else 0.0)
        unit = "%" if percent else ""
        axis = Axis(
            na / factor, nb / factor, tuple((v / factor, format_number(v, step) + unit) for v in values)
        )
        px = axis.scale(a, b)
        if width is not None:
            if fits(axis.ticks, px, size, width):
                return axis
        elif all(
            abs(px(x) - px(y)) >= LINE_GAP * size
            for (x, _), (y, _) in zip(axis.ticks, axis.ticks[1:], strict=False)
        ):
            return axis
    na, nb = nice(lo * factor, hi * factor, 1) if extend else (lo * factor, hi * factor)
    return Axis(na / factor, nb / factor, ())


# -- time -----------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?| Q([1-4]))?$")


def period_date(name: str) -> dt.date | None:
    """The first day of a period named YYYY, YYYY-MM, YYYY-MM-DD or YYYY Qn; None otherwise."""
    m = _PERIOD.match(name)
    if not m:
        return None
    year, month, day, quarter = m.groups()
    try:
        if quarter:
            return dt.date(int(year), 3 * int(quarter) - 2, 1)
        return dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


def year_position(d: dt.date) -> float:
    """A date on a continuous line of years: 2019-07-02 is 2019.5."""
    start = dt.date(d.year, 1, 1).toordinal()
    days = dt.date(d.year + 1, 1, 1).toordinal() - start
    return d.year + (d.toordinal() - start) / days


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _labelled(days: Sequence[dt.date]) -> list[tuple[float, str]]:
    """d3's multi-scale time format: a year on its first day, a month on its first, else
    the day; the first tick also says the year (and month) it starts in."""
    out = []
    for i, d in enumerate(days):
        if d.month == 1 and d.day == 1:
            label = str(d.year)
        elif d.day == 1:
            label = MONTHS[d.month - 1] + (f" {d.year}" if i == 0 else "")
        else:
            label = f"{MONTHS[d.month - 1]} {d.day}" + (f", {d.year}" if i == 0 else "")
        out.append((year_position(d), label))
    return out


def _month_ticks(first: dt.date, last: dt.date, every: int) -> list[tuple[float, str]]:
    starts = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        d = dt.date(y, m, 1)
        if (m - 1) % every == 0 and first <= d:
            starts.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return _labelled(starts)


def _day_ticks(first: dt.date, last: dt.date, every: int) -> list[tuple[float, str]]:
    return _labelled([dt.date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1, every)])


def time_axis(dates: Sequence[dt.date], grain: str, a: float, b: float, width: float, size: float) -> Axis:
    """Periods from their first day to the last one's, drawn from ``a`` to ``b``; ticks on
    period starts no finer than the data's ``grain`` (day, month, quarter, year): every
    1, 2, 7 or 14 days, months every 1, 3 or 6, then years at d3's nice steps; the densest
    whose labels fit between each other and inside [0, ``width``]."""
    first, last = min(dates), max(dates)
    lo, hi = year_position(first), year_position(last)
    if hi <= lo:
        return Axis(lo - 0.5, lo + 0.5, ((lo, _date_label(first, grain)),))
    px = Axis(lo, hi, ()).scale(a, b)
    candidates: list[list[tuple[float, str]]] = []
    if grain == "day":
        candidates += [_day_ticks(first, last, n) for n in (1, 2, 7, 14)]
    if grain in ("day", "month"):
        candidates.append(_month_ticks(first, last, 1))
    if grain in ("day", "month", "quarter"):
        candidates += [_month_ticks(first, last, n) for n in (3, 6)]
    start = math.ceil(lo - 1e-9)
    for count in range(max(1, int(hi - lo) + 1), 0, -1):
        years = [y for y in ticks(start, math.floor(hi + 1e-9), count) if float(y).is_integer()]
        if years and (not candidates or candidates[-1] != [(y, f"{y:.0f}") for y in years]):
            candidates.append([(y, f"{y:.0f}") for y in years])
    return Axis(lo, hi, _densest(candidates, px, size, width))


def _date_label(d: dt.date, grain: str) -> str:
    if grain == "year":
        return str(d.year)
    if grain == "quarter":
        return f"{d.year} Q{(d.month - 1) // 3 + 1}"
    return f"{d.year}-{d.month:02d}" if grain == "month" else d.isoformat()


def category_axis(
    labels: Sequence[str], a: float, b: float, width: float, size: float, chars: int = 10
) -> Axis:
    """Categories at 0, 1, 2, … drawn from ``a`` to ``b``: every n-th labelled, n the
    smallest whose labels fit."""
    n = len(labels)
    short = [s if len(s) <= chars else s[: chars - 1] + "…" for s in labels]
    axis = Axis(0.0, float(max(n - 1, 0)), ())
    px = axis.scale(a, b)
    candidates = [[(float(i), short[i]) for i in range(0, n, step)] for step in range(1, n + 1)]
    return Axis(axis.lo, axis.hi, _densest(candidates, px, size, width))


# -- aggregation of long series ---------------------------------------------------------------

GRAINS = ("day", "month", "quarter", "year")


def grain_of(names: Sequence[str]) -> str | None:
    """The period kind of a series of period names (all the same kind), or None."""
    kinds = set()
    for name in names:
        m = _PERIOD.match(name)
        if not m or period_date(name) is None:
            return None
        kinds.add("day" if m.group(3) else "month" if m.group(2) else "quarter" if m.group(4) else "year")
    return kinds.pop() if len(kinds) == 1 else None


def periods_between(first: dt.date, last: dt.date, grain: str) -> int:
    """How many periods of ``grain`` the calendar span first..last covers, ends included."""
    if grain == "day":
        return last.toordinal() - first.toordinal() + 1
    months = (last.year - first.year) * 12 + last.month - first.month
    if grain == "month":
        return months + 1
    if grain == "quarter":
        return (last.year - first.year) * 4 + (last.month - 1) // 3 - (first.month - 1) // 3 + 1
    return last.year - first.year + 1


def coarser(names: Sequence[str], most: int) -> tuple[str, list[str]] | None:
    """A readable grain for a long dated series: the finest of day, month, quarter and year
    (no finer than the names' own) whose calendar span holds at most ``most`` periods, and
    each name's period at that grain. None when the series is not dated or already short."""
    grain = grain_of(names)
    if grain is None or not names:
        return None
    dates = [period_date(n) for n in names]
    first, last = min(d for d in dates if d), max(d for d in dates if d)
    if periods_between(first, last, grain) <= most:
        return None
    for g in GRAINS[GRAINS.index(grain) + 1 :]:
        if periods_between(first, last, g) <= most or g == "year":
            return g, [_date_label(d, g) for d in dates if d]
    return None
