"""How the topics relate: a hierarchy of their term distributions, the pairs most worth
merging, and which topics occur together in the units."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.reporting import analysis, charts
from pipeline.reporting.data import Relations, ReportData
from pipeline.reporting.inputs import ReportInputs
from pipeline.reporting.views.basis import Basis


def build(inputs: ReportInputs, basis: Basis) -> Relations | None:
    thetas = np.asarray(inputs.mixes[basis.has_tokens][:, basis.shown])  # units with tokens only
    return analysis.relations(basis.similarity, basis.shown_ids, thetas)


def page(data: ReportData) -> dict[str, Any] | None:
    rel = data.relations
    if rel is None:
        return None
    labels = {t.id: t.label for t in data.topics}
    return {"relations": rel, "dendrogram": charts.dendrogram(rel.leaves, rel.links, rel.height, labels)}
