"""Prevalence by period (report.prevalence_field): each shown topic's share of the tokens
in each period or category, with a bootstrap interval over the documents."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import numpy as np
from markupsafe import Markup

from pipeline.reporting import analysis, axes, charts
from pipeline.reporting.data import Prevalence, ReportData, Topic
from pipeline.reporting.formats import pct
from pipeline.reporting.inputs import ReportInputs
from pipeline.reporting.views.basis import Basis, group_mass

RESAMPLES = 200  # bootstrap resamples of the documents for prevalence intervals
CHART_PERIODS = 40  # a dated chart of more periods draws coarser ones (prevalence.csv keeps all)


def build(inputs: ReportInputs, basis: Basis) -> Prevalence | None:
    """Per report.prevalence_period, as prevalence.csv has it; None without a field."""
    units = inputs.units
    if units.periods is None:
        return None
    return _prevalence(
        inputs, basis, units.periods, units.period_names, inputs.config.report.prevalence_period
    )


def build_chart(inputs: ReportInputs, basis: Basis) -> Prevalence | None:
    """The same shares over coarser periods when a dated series is too long to read
    (month, quarter or year: the finest with at most CHART_PERIODS in its span); None
    when the configured periods are few enough."""
    units = inputs.units
    if units.periods is None or inputs.config.report.prevalence_period == "category":
        return None
    coarse = axes.coarser(units.period_names, CHART_PERIODS)
    if coarse is None:
        return None
    grain, of_period = coarse
    names = sorted(set(of_period))
    index = {n: i for i, n in enumerate(names)}
    remap = np.array([index[n] for n in of_period], dtype=np.int64)
    return _prevalence(inputs, basis, remap[units.periods], names, grain)


def page(data: ReportData) -> dict[str, Any] | None:
    if data.prevalence is None:
        return None
    chart = data.prevalence_chart or data.prevalence
    return {"table": data.prevalence, "chart": chart, "figures": _figures(chart, data.shown)}


def _prevalence(
    inputs: ReportInputs, basis: Basis, periods: np.ndarray, names: list[str], period: str
) -> Prevalence:
    """Topic shares per period, with their bootstrap intervals; ``periods`` gives each
    unit's index into ``names``."""
    config, units = inputs.config, inputs.units
    key = units.doc * max(1, len(names)) + periods  # one group: a document in a period
    groups, group_of = np.unique(key, return_inverse=True)
    prev = analysis.bootstrap_prevalence(
        str(config.report.prevalence_field),
        names,
        groups % max(1, len(names)),
        group_mass(group_of, len(groups), inputs.mixes, inputs.lengths, basis.shown),
        np.bincount(group_of, minlength=len(groups)),
        RESAMPLES,
        config.run.seed,
    )
    return dataclasses.replace(prev, period=period)


def _period_axis(prev: Prevalence) -> tuple[list[float], charts.XAxis]:
    """Each period's place on the x axis and the axis: a time line when the periods are
    dates (so a missing month leaves a gap), else the categories in order."""
    grain = axes.grain_of(prev.periods)
    dates = [axes.period_date(p) for p in prev.periods]
    if grain is None or any(d is None for d in dates):
        return [float(i) for i in range(len(prev.periods))], partial(axes.category_axis, list(prev.periods))
    known = [d for d in dates if d is not None]
    return [axes.year_position(d) for d in known], partial(axes.time_axis, known, grain)


def _figures(prev: Prevalence, shown: tuple[Topic, ...]) -> list[tuple[Topic, Markup]]:
    """One line chart per shown topic, all on one scale so the panels compare at a glance."""
    xs, x_axis = _period_axis(prev)
    name = dict(zip(xs, prev.periods, strict=True))
    hi = float(prev.high.max()) if prev.high.size else 1.0
    out = []
    for c, t in enumerate(shown):
        band = [(x, float(prev.low[i, c]), float(prev.high[i, c])) for i, x in enumerate(xs)]
        chart = charts.line_chart(
            [(x, float(prev.share[i, c])) for i, x in enumerate(xs)],
            x_axis,
            percent=True,
            y_range=(0.0, hi or 1.0),
            band=band if len(xs) > 1 else (),
            tip=lambda x, y: f"{name[x]}: {pct(y)}",
        )
        out.append((t, chart))
    return out
