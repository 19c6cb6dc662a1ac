"""Documents × topics: a heat map of the documents that carry each topic most."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline import measures
from pipeline.reporting.data import DocumentRows, ReportData
from pipeline.reporting.inputs import ReportInputs, Units
from pipeline.reporting.views.basis import Basis

HEATMAP_DOCS = 200  # the most representative documents; a taller heat map stops being readable


def build(inputs: ReportInputs, basis: Basis) -> DocumentRows | None:
    return rows(inputs.units, basis.doc_mass, basis.doc_tokens, basis.shown)


def page(data: ReportData) -> dict[str, Any] | None:
    return None if data.documents is None else {"documents": data.documents}


def rows(units: Units, mass: np.ndarray, tokens: np.ndarray, shown: list[int]) -> DocumentRows | None:
    """The documents that carry each shown topic most, in turn, up to HEATMAP_DOCS,
    grouped by dominant topic; ``mass`` is each document's token-weighted mix."""
    has = np.flatnonzero(tokens > 0)
    if not len(has) or not shown:
        return None
    # A topic's first HEATMAP_DOCS documents are all the turns below can take from it:
    # the first topic alone gives a new document each turn.
    need = min(HEATMAP_DOCS, len(has))
    per_topic = [_first(has, mass[has, c] / tokens[has], need) for c in shown]
    chosen: list[int] = []
    seen: set[int] = set()
    for rank in range(need):
        for order in per_topic:
            d = int(order[rank])
            if d not in seen:
                seen.add(d)
                chosen.append(d)
        if len(chosen) >= HEATMAP_DOCS:
            break
    chosen = chosen[:HEATMAP_DOCS]
    table = mass[chosen][:, shown] / tokens[chosen, None]
    dominant = table.argmax(axis=1)
    order = np.lexsort((-table[np.arange(len(table)), dominant], dominant))
    chosen = [chosen[i] for i in order]
    return DocumentRows(
        doc_ids=tuple(units.doc_ids[d] for d in chosen),
        sources=tuple(units.sources[d] for d in chosen),
        mixes=table[order],
        total=len(units.doc_ids),
        names=tuple(units.names[d] for d in chosen),
    )


def _first(ids: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` ids of highest score, ties by id, in the order a sort of them all gives,
    without sorting them all (a topic's order of 264,000 documents is 2 MB, and K of them)."""
    keep = measures.contenders(score, n)
    return ids[keep][np.lexsort((ids[keep], -score[keep]))][:n]
