"""How the topics relate: a hierarchy of their term distributions, the pairs most worth
merging, and which topics occur together in the units."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from pipeline.reporting import analysis, charts
from pipeline.reporting.data import Relations, ReportData
from pipeline.reporting.inputs import MIX_BLOCK, ReportInputs
from pipeline.reporting.views.basis import Basis


def build(inputs: ReportInputs, basis: Basis) -> Relations | None:
    return analysis.relations(basis.similarity, basis.shown_ids, _shown(inputs, basis))


def _shown(inputs: ReportInputs, basis: Basis) -> Iterator[np.ndarray]:
    """The shown topics' columns of the mixes of the units with tokens, a block at a time."""
    start = 0
    for block in inputs.mixes.blocks(MIX_BLOCK):
        yield block[basis.has_tokens[start : start + len(block)]][:, basis.shown]
        start += len(block)


def page(data: ReportData) -> dict[str, Any] | None:
    rel = data.relations
    if rel is None:
        return None
    labels = {t.id: t.label for t in data.topics}
    return {"relations": rel, "dendrogram": charts.dendrogram(rel.leaves, rel.links, rel.height, labels)}
