"""The report's data files, formatted from ReportData: topics.json, topics.csv, prevalence.csv."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.reporting.data import Prevalence, ReportData, Topic


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(x, digits)


def topic_json(t: Topic) -> dict[str, Any]:
    """One topic as topics.json lists it."""
    return {
        "topic": t.id,
        "name": t.name,
        "note": t.note,
        "terms": [{"term": x.term, "weight": round(x.score, 6)} for x in t.terms],
        "relevance": [{"term": x.term, "score": round(x.score, 6)} for x in t.relevance],
        "frex": [{"term": x.term, "score": round(x.score, 6)} for x in t.frex],
        "prevalence": round(t.prevalence, 6),
        "coherence": _r(t.coherence),
        "stability": _r(t.stability, 4),
        "diagnostics": {
            **{k: None if v is None else round(v, 4) for k, v in t.diagnostics.items()},
            "rank1_units": t.rank1_units,
        },
        "flags": list(t.flags),
        "merged": list(t.merged),
        "dropped": t.dropped,
        "representatives": [
            {
                "unit_id": p.unit_id,
                "weight": round(p.weight, 6),
                "source": p.source,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "where": p.where,
                "heading": p.heading,
                "text": p.text,
            }
            for p in t.passages
        ],
    }


TOPICS_CSV = ["topic", "rank", "term", "weight"]


def topics_csv(data: ReportData) -> Iterator[list[Any]]:
    for t in data.topics:
        for rank, x in enumerate(t.terms, start=1):
            yield [t.id, rank, x.term, f"{x.score:.6f}"]


def prevalence_header(data: ReportData) -> list[str]:
    ids = [t.id for t in data.shown]
    return [
        "period",
        "units",
        "documents",
        *[f"topic_{i}" for i in ids],
        *[f"topic_{i}_low" for i in ids],
        *[f"topic_{i}_high" for i in ids],
    ]


def prevalence_csv(prev: Prevalence) -> Iterator[list[Any]]:
    """One row per period: its units and documents, each shown topic's share of its tokens,
    then the bootstrap interval's bounds."""
    for i, period in enumerate(prev.periods):
        yield [
            period,
            prev.units[i],
            prev.documents[i],
            *[f"{v:.6f}" for v in prev.share[i]],
            *[f"{v:.6f}" for v in prev.low[i]],
            *[f"{v:.6f}" for v in prev.high[i]],
        ]
