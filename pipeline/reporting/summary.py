"""Pure helpers for summaries: excerpts and citations, periods, the topic map, strips."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

import numpy as np

from pipeline.dates import DATE as _DATE
from pipeline.dates import period as _period
from pipeline.errors import DataError


def excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def period_of(value: Any, period: str, field: str) -> str:
    """The period a meta value falls in: a date cut to day, month or year, or the value itself."""
    text = "" if value is None else str(value)
    if period == "category":
        return text
    found = _period(text, period)
    if found is None:  # segment's values are checked before training: a run reaches this no more
        raise DataError(
            f"report.prevalence_field: {field} value {text!r} is not a date with a {period} "
            "(use YYYY-MM-DD, or set report.prevalence_period: category)"
        )
    return found


def date_text(value: Any) -> str:
    """A meta value as a date to cite: 20120702 and 2012/7/2 read 2012-07-02, 2012-7 reads
    2012-07; anything that is not a date stays as it is; None is ""."""
    text = "" if value is None else str(value).strip()
    m = _DATE.match(text)
    if not m or m.end() != len(text.rstrip()) or not m.group(2):
        return text
    year, month, day = m.groups()
    if not 1 <= int(month) <= 12 or (day and not 1 <= int(day) <= 31):
        return text
    return f"{year}-{int(month):02d}" + (f"-{int(day):02d}" if day else "")


def topic_map(distance: np.ndarray, seed: int) -> np.ndarray:
    """2-D coordinates for topics from their distances (metric MDS, as in LDAvis)."""
    k = distance.shape[0]
    if k < 3:
        return np.array([[-distance[0, -1] / 2, 0.0], [distance[0, -1] / 2, 0.0]][:k])
    from sklearn.manifold import MDS

    mds = MDS(n_components=2, metric="precomputed", init="classical_mds", random_state=seed, n_init=1)
    return np.asarray(mds.fit_transform(distance))


def citation(unit: dict[str, Any]) -> str:
    """Where a unit's text is: ``file:line–line`` for a text file, and
    ``file:record line:text line–line`` for a csv/jsonl record."""

    def span(start: int, end: int) -> str:
        return f"{start}" if end == start else f"{start}–{end}"

    where = f"{unit['source']}:{span(unit['line_start'], unit['line_end'])}"
    if unit.get("text_line_start") is not None:
        where += f":{span(unit['text_line_start'], unit['text_line_end'])}"
    return where


COVERAGE_KINDS = ("furniture", "title", "heading", "boilerplate")
LOW_COVERAGE = 0.9  # files keeping less of their characters are listed


def coverage(files: dict[str, dict[str, Any]], listed: int = 20) -> dict[str, Any] | None:
    """The corpus-wide shares of characters in units and in each removed kind, and the
    files that kept least (below ``LOW_COVERAGE``), from segment's per-file shares."""
    chars = sum(row["chars"] for row in files.values())
    if not chars:
        return None
    # A run from before boilerplate was learned has no share for it.
    shares = {
        kind: round(sum(row["chars"] * row.get(kind, 0) for row in files.values()) / chars, 4)
        for kind in ("units", *COVERAGE_KINDS)
    }
    low = sorted(
        (row["units"], source, max(COVERAGE_KINDS, key=lambda k: row.get(k, 0)))
        for source, row in files.items()
        if row["chars"] and row["units"] < LOW_COVERAGE
    )
    return {
        "chars": chars,
        **shares,
        "low_files": [{"source": s, "units": u, "mostly": k} for u, s, k in low[:listed]],
        "low_count": len(low),
    }


def segment_strips(rows: Iterable[dict[str, str]], limit: int) -> tuple[list[dict[str, Any]], int]:
    """The ``limit`` documents with the most units among those whose segments carry two
    or more dominant topics (segments.csv rows, a document's rows together), longest
    first, ties in file order; and how many documents change topic so."""
    kept: list[tuple[int, int, dict[str, Any]]] = []  # a heap of (units, -order, document)
    multi = 0

    def close(doc: dict[str, Any] | None, order: int) -> None:
        nonlocal multi
        if doc is None or len({s["topic"] for s in doc["segments"]}) < 2:
            return
        multi += 1
        item = (doc["units"], -order, doc)
        if len(kept) < limit:
            heapq.heappush(kept, item)
        elif item[:2] > kept[0][:2]:
            heapq.heapreplace(kept, item)

    doc: dict[str, Any] | None = None
    order = 0
    for row in rows:
        if doc is None or doc["doc_id"] != row["doc_id"]:
            close(doc, order)
            order += 1
            doc = {"doc_id": row["doc_id"], "units": 0, "segments": []}
        units = int(row["units"])
        doc["units"] += units
        doc["segments"].append(
            {
                "units": units,
                "topic": int(row["dominant_topic"]) if row["dominant_topic"] else None,
                "weight": float(row["weight"]) if row["weight"] else None,
                "first_unit": row["first_unit"],
                "last_unit": row["last_unit"],
            }
        )
    close(doc, order)
    return [d for _, _, d in sorted(kept, key=lambda x: (-x[0], -x[1]))], multi
