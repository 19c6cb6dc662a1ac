"""Chart axes: d3's nice-number ticks, label density from the width, time axes, coarser periods.

The tables of ``ticks`` and ``nice`` are d3-array 3.2.4's own tests (test/ticks-test.js,
test/nice-test.js, github.com/d3/d3-array), so the port answers as d3 does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest

from pipeline.reporting import axes


@pytest.mark.parametrize(
    ("start", "stop", "count", "expected"),
    [
        (0, 1, 10, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        (0, 1, 7, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 1, 3, [0.0, 0.5, 1.0]),
        (0, 1, 1, [0.0, 1.0]),
        (0, 10, 8, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        (0, 10, 4, [0, 2, 4, 6, 8, 10]),
        (0, 10, 2, [0, 5, 10]),
        (-10, 10, 7, [-10, -8, -6, -4, -2, 0, 2, 4, 6, 8, 10]),
        (-10, 10, 3, [-10, -5, 0, 5, 10]),
        (-10, 10, 1, [0]),
        (0, 2.2, 3, [0, 1, 2]),  # remains within the domain
        (0.98, 1.14, 10, [0.98, 1, 1.02, 1.04, 1.06, 1.08, 1.1, 1.12, 1.14]),  # no 1.0000000000000002
        (1, 364, 0.5, [200]),  # at least one tick when count >= 0.5
        (1, 364, 0.499, []),
        (1, 499, 1, [200, 400]),
        (1, 0, 3, [1.0, 0.5, 0.0]),  # reversed
        (1, 1, 10, [1]),
        (0, 1, 0, []),
        (0, 1, math.inf, []),
        (math.nan, 1, 1, []),
    ],
)
def test_ticks_are_d3s(start: float, stop: float, count: float, expected: list[float]) -> None:
    assert axes.ticks(start, stop, count) == expected


def test_ticks_do_not_include_negative_zero() -> None:
    assert math.copysign(1, axes.ticks(-1, 0, 5)[-1]) == 1


@pytest.mark.parametrize(
    ("start", "stop", "count", "expected"),
    [
        (0.132, 0.876, 1000, (0.132, 0.876)),
        (0.132, 0.876, 100, (0.13, 0.88)),
        (0.132, 0.876, 30, (0.12, 0.88)),
        (0.132, 0.876, 10, (0.1, 0.9)),
        (0.132, 0.876, 5, (0, 1)),
        (132, 876, 100, (130, 880)),
        (132, 876, 10, (100, 900)),
        (132, 876, 1, (0, 1000)),
        (1, 1, 10, (1, 1)),
        (0, 1, 0, (0, 1)),
    ],
)
def test_nice_is_d3s(start: float, stop: float, count: float, expected: tuple[float, float]) -> None:
    assert axes.nice(start, stop, count) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("start", "stop", "count", "increment", "step"),
    [(0, 1, 10, -10, 0.1), (0, 10, 4, 2, 2), (0, 1000, 4, 200, 200), (1, 0, 10, -10, -0.1)],
)
def test_tick_increment_and_step(
    start: float, stop: float, count: float, increment: float, step: float
) -> None:
    if stop > start:
        assert axes.tick_increment(start, stop, count) == increment
    assert axes.tick_step(start, stop, count) == pytest.approx(step)


def _no_overlap(axis: axes.Axis, a: float, b: float, width: float, size: float = 11) -> bool:
    centres = axes.label_centres(axis.ticks, axis.scale(a, b), size, width)
    boxes = sorted((c - axes.text_width(s, size) / 2, c + axes.text_width(s, size) / 2) for c, s in centres)
    inside = all(lo >= 0 and hi <= width for lo, hi in boxes)
    return inside and all(x[1] <= y[0] for x, y in itertools.pairwise(boxes))


@pytest.mark.parametrize(
    ("lo", "hi", "percent", "expected"),
    [
        (0.0, 0.246, True, ["0%", "5%", "10%", "15%", "20%", "25%"]),  # shares tick at nice percents
        (0.0, 0.0123, True, ["0.0%", "0.5%", "1.0%", "1.5%"]),  # 0.2% steps: 8 labels, too tight
        (-0.43, 0.02, False, ["-0.5", "-0.4", "-0.3", "-0.2", "-0.1", "0.0", "0.1"]),
        (880.0, 1530.0, False, ["800", "1,000", "1,200", "1,400", "1,600"]),
    ],
)
def test_vertical_axis_labels_carry_the_digits_their_step_needs(
    lo: float, hi: float, percent: bool, expected: list[str]
) -> None:
    axis = axes.linear(lo, hi, 140, 10, 11, percent=percent, most=5)
    assert [s for _, s in axis.ticks] == expected
    assert axis.lo <= lo and axis.hi >= hi  # widened to whole ticks (d3's nice)
    ys = [axis.scale(140, 10)(x) for x, _ in axis.ticks]
    assert all(a - b >= axes.LINE_GAP * 11 for a, b in itertools.pairwise(ys))


def test_horizontal_axis_thins_its_labels_to_the_width() -> None:
    wide = axes.linear(2, 60, 40, 1000, 11, width=1010, integer=True, extend=False, most=59)
    narrow = axes.linear(2, 60, 40, 160, 11, width=170, integer=True, extend=False, most=59)
    assert len(wide.ticks) > len(narrow.ticks) >= 2
    for axis, (a, b, w) in ((wide, (40, 1000, 1010)), (narrow, (40, 160, 170))):
        assert _no_overlap(axis, a, b, w)
        assert all(float(x).is_integer() for x, _ in axis.ticks)  # K is a whole number


@pytest.mark.parametrize(
    ("first", "last", "grain", "labels"),
    [
        # 14 years in 250 units: every other year would crowd, so every fifth
        (dt.date(2012, 1, 1), dt.date(2026, 1, 1), "year", ["2015", "2020", "2025"]),
        # half a year of months: a month tick each would overlap; quarters, the first with its year
        (dt.date(2012, 7, 1), dt.date(2013, 1, 1), "month", ["Jul 2012", "Oct", "2013"]),
        (dt.date(2020, 3, 2), dt.date(2020, 3, 30), "day", ["Mar 2, 2020", "Mar 16", "Mar 30"]),
    ],
)
def test_time_axis_labels_period_starts_as_densely_as_the_width_allows(
    first: dt.date, last: dt.date, grain: str, labels: list[str]
) -> None:
    axis = axes.time_axis([first, last], grain, 34, 250, 260, 11)
    assert [s for _, s in axis.ticks] == labels
    assert _no_overlap(axis, 34, 250, 260)


def test_time_axis_gets_denser_with_width() -> None:
    dates = [dt.date(2012, 1, 1), dt.date(2026, 1, 1)]
    counts = [len(axes.time_axis(dates, "year", 30, w - 10, w, 11).ticks) for w in (150, 300, 600, 1200)]
    assert counts == sorted(counts) and counts[0] < counts[-1]


def test_category_axis_labels_every_nth_category() -> None:
    labels = [f"类别{i}" for i in range(30)]
    axis = axes.category_axis(labels, 30, 290, 300, 11)
    step = int(axis.ticks[1][0] - axis.ticks[0][0])
    assert step > 1 and [s for _, s in axis.ticks] == labels[::step]
    assert _no_overlap(axis, 30, 290, 300)


MONTHS_2012_2025 = [f"{y}-{m:02d}" for y in range(2012, 2026) for m in range(1, 13)]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (MONTHS_2012_2025, ("year", "2012", "2025")),  # 168 months, 56 quarters: too many
        (MONTHS_2012_2025[:96], ("quarter", "2012 Q1", "2019 Q4")),  # 96 months, 32 quarters
        (MONTHS_2012_2025[:40], None),  # few enough already
        ([f"2020-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in (1, 15)], ("month", "2020-01", "2020-03")),
        ([str(y) for y in range(1900, 2000)], None),  # years are as coarse as it gets
        (["经济", "社会"], None),  # categories are left alone
    ],
)
def test_long_dated_series_are_cut_into_coarser_periods(
    names: list[str], expected: tuple[str, str, str] | None
) -> None:
    coarse = axes.coarser(names, 40)
    if expected is None:
        assert coarse is None
        return
    assert coarse is not None
    grain, periods = coarse
    assert (grain, periods[0], periods[-1]) == expected
    assert len(periods) == len(names) and len(set(periods)) <= 40
    assert periods == sorted(periods)  # the coarse periods keep the order of the fine ones


@pytest.mark.parametrize(
    ("text", "width"),
    [("2019", 24.8), ("学校学生", 40.0), ("12 · 学校", 51.0), ("２０１９", 40.0)],  # full-width digits
)
def test_text_width_counts_cjk_as_one_em_and_others_as_less(text: str, width: float) -> None:
    assert axes.text_width(text, 10) == pytest.approx(width)


def test_an_axis_over_one_value_is_drawn_around_it() -> None:
    """A sweep over one K gives a domain of one value; d3's arithmetic would take log10(0)."""
    assert math.isnan(axes.tick_increment(5, 5, 10))
    axis = axes.linear(8.0, 8.0, 0.0, 100.0, 20.0, width=300.0, integer=True, extend=False, most=5)
    values = [v for v, _ in axis.ticks]
    assert 8.0 in values and all(float(v).is_integer() for v in values)
