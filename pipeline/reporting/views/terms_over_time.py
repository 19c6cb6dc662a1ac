"""How each topic is talked about over time: its top terms in each span of periods, and
the terms whose share of it rose or fell most (dated report.prevalence_field only)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

import numpy as np

from pipeline.reporting import analysis
from pipeline.reporting.data import OverTime, ReportData
from pipeline.reporting.inputs import ReportInputs
from pipeline.reporting.views.basis import Basis

SPANS = 6  # periods grouped into at most this many spans
SPAN_TERMS = 8
TRACKED_TERMS = 200  # a topic's terms followed over time: its most probable ones
BLOCK = 2000  # units per block when counting terms over time


def build(inputs: ReportInputs, basis: Basis, corpus: Callable[[], Iterable[Any]]) -> OverTime | None:
    """Each token's expected topic counted per span, over ``corpus()``: the bag-of-words
    units, streamed once more. None without dates, or with one period."""
    units, cfg = inputs.units, inputs.config.report
    if units.periods is None or cfg.prevalence_period == "category" or len(units.period_names) < 2:
        return None
    cut = analysis.spans(units.period_names, SPANS)
    span_of_period = np.zeros(len(units.period_names), dtype=np.int64)
    for s, (a, b) in enumerate(cut):
        span_of_period[a : b + 1] = s
    span_of_unit = span_of_period[units.periods]
    shown = basis.shown
    sub = basis.phi[shown]
    tracked = np.argsort(-sub, axis=1, kind="stable")[:, :TRACKED_TERMS]
    slot = np.full(sub.shape, -1, dtype=np.int64)
    for t in range(len(shown)):
        slot[t, tracked[t]] = np.arange(tracked.shape[1])
    counts = np.zeros((len(cut), len(shown), tracked.shape[1]))
    it = iter(corpus())
    start = 0
    while block := list(islice(it, BLOCK)):
        rows = slice(start, start + len(block))
        analysis.expected_counts(
            np.asarray(inputs.mixes[rows])[:, shown], block, span_of_unit[rows], sub, slot, counts
        )
        start += len(block)
    names = tuple(
        units.period_names[a] if a == b else f"{units.period_names[a]} – {units.period_names[b]}"
        for a, b in cut
    )
    shifts = analysis.term_shifts(counts, tracked, inputs.dictionary.id2token, basis.shown_ids, SPAN_TERMS)
    return OverTime(str(cfg.prevalence_field), names, shifts)


def page(data: ReportData) -> dict[str, Any] | None:
    return None if data.over_time is None else {"over_time": data.over_time}
