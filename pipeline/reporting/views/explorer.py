"""Terms of a topic by relevance (LDAvis): the terms the page's slider re-ranks, and the
topics that hold a chosen term."""

from __future__ import annotations

import math
from typing import Any

from pipeline.reporting import analysis
from pipeline.reporting.data import Explorer, ReportData, Topic
from pipeline.reporting.inputs import ReportInputs
from pipeline.reporting.views.basis import Basis

EXPLORER_TERMS = 30  # terms per topic the relevance explorer ranks (LDAvis's R)
EXPLORER_BARS = 15  # terms the relevance explorer draws at once


def build(inputs: ReportInputs, basis: Basis) -> Explorer | None:
    shown = basis.shown
    return analysis.explorer(
        basis.phi[shown],
        basis.term_share,
        basis.term_count,
        basis.topics.mass[shown],
        inputs.dictionary.id2token,
        inputs.config.report.relevance_lambda,
        EXPLORER_TERMS,
        inputs.config.report.relevance_min_count,
    )


def page(data: ReportData) -> dict[str, Any] | None:
    ex, shown = data.explorer, data.shown
    if ex is None or not shown:
        return None
    return {"explorer": _explorer_json(ex, shown), "rows": _explorer_rows(ex, 0)}


def _explorer_json(ex: Explorer, topics: tuple[Topic, ...]) -> dict[str, Any]:
    """The numbers the script ranks and lists: phi only where a view reads it, as
    [index, phi] pairs (a topic's candidate terms; a term's holders)."""
    return {
        "lambda": ex.lam,
        "min_count": ex.min_count,
        "bars": EXPLORER_BARS,
        "listed": analysis.LISTED,
        "topics": [t.id for t in topics],
        "labels": [t.label for t in topics],
        "terms": list(ex.terms),
        "share": ex.share.tolist(),
        "count": [int(v) for v in ex.count],
        "tokens": ex.topic_tokens.tolist(),
        "mass": ex.mass.tolist(),
        "candidates": [[[j, float(ex.phi[c, j])] for j in cand] for c, cand in enumerate(ex.candidates)],
        "holders": [[[c, float(ex.phi[c, j])] for c in held] for j, held in enumerate(ex.holders)],
    }


def explorer_ranking(ex: Explorer, topic: int, lam: float, n: int = EXPLORER_BARS) -> list[int]:
    """The indices into ``ex.terms`` the explorer shows for a topic at λ, best first: the
    same ranking the page's script computes (relevance, ties by term)."""
    phi, share = ex.phi[topic], ex.share
    scores = {
        j: lam * math.log(max(phi[j], 1e-300)) + (1 - lam) * math.log(max(phi[j], 1e-300) / share[j])
        for j in ex.candidates[topic]
    }
    return sorted(scores, key=lambda j: (-scores[j], ex.terms[j]))[:n]


def _explorer_rows(ex: Explorer, c: int) -> list[dict[str, Any]]:
    """The bars the page shows before its script runs: topic ``c`` at the starting λ."""
    ranked = explorer_ranking(ex, c, ex.lam)
    top = max((float(ex.count[j]) for j in ranked), default=1.0) or 1.0
    return [
        {
            "term": ex.terms[j],
            "all": 100 * float(ex.count[j]) / top,
            "in": 100 * min(float(ex.phi[c, j] * ex.topic_tokens[c]), float(ex.count[j])) / top,
            "label": f"{ex.phi[c, j] * ex.topic_tokens[c]:,.0f} / {ex.count[j]:,.0f}",
        }
        for j in ranked
    ]
