"""Topic prevalence: each shown topic's share of the tokens, as bars, largest first.

Its data is the topics' (``ReportData.topics``): this view only draws it."""

from __future__ import annotations

from typing import Any

from pipeline.reporting import charts
from pipeline.reporting.data import ReportData
from pipeline.reporting.formats import pct
from pipeline.reporting.summary import excerpt


def page(data: ReportData) -> dict[str, Any] | None:
    ranked = sorted(data.shown, key=lambda t: (-t.prevalence, t.id))
    if not ranked:
        return None
    top = max(t.prevalence for t in ranked) or 1.0
    bars = [
        charts.Bar(
            excerpt(f"{t.id} · {t.label}", 28),
            t.prevalence / top,
            pct(t.prevalence),
            f"#topic-{t.id}",
            f"Topic {t.id}: {pct(t.prevalence)} of tokens",
        )
        for t in ranked
    ]
    return {"chart": charts.row_bars(bars, "Topic prevalence")}
