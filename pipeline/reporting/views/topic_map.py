"""Intertopic distance map: the shown topics placed by metric MDS of their Jensen-Shannon
distances, circles sized by prevalence (as LDAvis)."""

from __future__ import annotations

from typing import Any

from pipeline.reporting import charts
from pipeline.reporting import summary as S
from pipeline.reporting.data import ReportData
from pipeline.reporting.formats import pct
from pipeline.reporting.inputs import ReportInputs
from pipeline.reporting.views.basis import Basis


def build(inputs: ReportInputs, basis: Basis) -> dict[int, tuple[float, float]] | None:
    """Each shown topic's place; None under two topics, where a map says nothing."""
    ids = basis.shown_ids
    if len(ids) < 2:
        return None
    coords = S.topic_map(1.0 - basis.similarity, inputs.config.run.seed)
    return {t: (float(x), float(y)) for t, (x, y) in zip(ids, coords, strict=True)}


def page(data: ReportData) -> dict[str, Any] | None:
    if data.topic_map is None:
        return None
    bubbles = [
        charts.Bubble(
            t.id, *data.topic_map[t.id], t.prevalence, f"Topic {t.id} · {t.label} · {pct(t.prevalence)}"
        )
        for t in data.shown
    ]
    return {"chart": charts.topic_map(bubbles)}
