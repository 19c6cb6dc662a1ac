"""Search the passages: the units that carry each shown topic most, which the page's
search box looks through, with their documents' names and dates."""

from __future__ import annotations

from typing import Any

from pipeline.reporting import summary as S
from pipeline.reporting.data import ReportData, SearchEntry
from pipeline.reporting.inputs import ReportInputs
from pipeline.reporting.views.basis import Basis
from pipeline.reporting.views.topics import unit_date

SEARCH_CHARS = 600  # of each passage: enough for a paragraph, bounded for a page that must stay small


def build(inputs: ReportInputs, basis: Basis) -> tuple[SearchEntry, ...]:
    units = inputs.units
    return tuple(
        SearchEntry(
            basis.ids[c],
            S.citation(units.quoted[i]),
            units.doc_ids[units.doc[i]],
            S.excerpt(units.quoted[i]["text"], SEARCH_CHARS),
            units.names[units.doc[i]],
            unit_date(inputs.config, units.quoted[i]),
        )
        for c in basis.shown
        for _, i in inputs.quotable.search[c]
    )


def page(data: ReportData) -> dict[str, Any] | None:
    if not data.search:
        return None
    entries = [
        {"t": s.topic, "w": s.where, "d": s.doc_id, "x": s.text, "n": s.title, "a": s.date}
        for s in data.search
    ]
    return {"entries": entries, "hint": _placeholder(data)}


def _placeholder(data: ReportData) -> str:
    """A word the page's passages hold: the largest topic's first term found in them."""
    texts = [s.text for s in data.search]
    for t in sorted(data.shown, key=lambda t: (-t.prevalence, t.id)):
        for term in (*t.terms, *t.label_terms):
            if any(term.term in x for x in texts):
                return term.term
    return ""
