"""The run's topic tables from a stream of units and their topic mixes: assignments.csv,
documents.csv and segments.csv, curated. Shared by the assign stage and ``pipeline
infer``, so both write the same format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from pipeline import tiling
from pipeline.artifacts import RunStore
from pipeline.curation import Curation

BLOCK = 2000  # rows curated and rounded at a time: each row's numbers are its own

DIGITS = 6


def rounded_rows(thetas: np.ndarray) -> list[list[str]]:
    """Each row as six-decimal strings whose sum is exactly 1: the rounding residue goes
    to the row's largest value."""
    one = 10**DIGITS
    scaled = np.round(thetas * one).astype(np.int64)
    scaled[np.arange(len(thetas)), np.argmax(thetas, axis=1)] += one - scaled.sum(axis=1)
    return [[f"{v // one}.{v % one:0{DIGITS}d}" for v in row] for row in scaled.tolist()]


def rounded(theta: np.ndarray) -> list[str]:
    """One distribution as six-decimal strings summing to exactly 1."""
    return rounded_rows(theta[None, :])[0]


def _curated(
    rows: Iterable[tuple[dict[str, Any], np.ndarray, int]], curation: Curation
) -> Iterator[tuple[dict[str, Any], np.ndarray, int, list[str], int]]:
    """The rows with their curated mixes, those as strings, and their dominant topics,
    a block of rows at a time."""
    it = iter(rows)
    while block := list(islice(it, BLOCK)):
        mixes = curation.apply(np.array([theta for _, theta, _ in block]))
        weights, tops = rounded_rows(mixes), curation.dominant(mixes)
        for (unit, _, n_tok), mix, w, top in zip(block, mixes, weights, tops, strict=True):
            yield unit, mix, n_tok, w, int(top)


def segment_topic(segment: tiling.Segment, curation: Curation) -> int | None:
    """A segment's topic among the curated ones (its mix has their columns): the largest
    that is not dropped; None for a segment without tokens."""
    return int(curation.dominant(segment.mix)[0]) if segment.tokens else None


UNIT_PLACE = ("unit_id", "line_start", "line_end", "text_line_start", "text_line_end")
SEGMENT_COLUMNS = [
    "doc_id", "title", "segment", "first_unit", "last_unit", "units",
    "line_start", "line_end", "text_line_start", "text_line_end", "dominant_topic", "weight",
]  # fmt: skip


@dataclass
class _Document:
    """The units of one document, gathered until its last unit has passed."""

    first: dict[str, Any]
    units: list[dict[str, Any]] = field(default_factory=list)
    thetas: list[np.ndarray] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)  # assignments.csv rows, less the segment


def write_assignments(
    store: RunStore,
    rows: Iterable[tuple[dict[str, Any], np.ndarray, int]],
    curation: Curation,
    meta_fields: list[str],
    mixes: np.ndarray | None = None,
    duplicate_of: dict[str, str] | None = None,
) -> dict[str, int]:
    """Write assignments.csv, documents.csv and segments.csv from a stream of (unit,
    distribution over the model's topics, tokens), curated; and each unit's curated mix
    into the rows of ``mixes`` (an array on disk), when it is given.

    A unit without tokens keeps its distribution (the model's prior, it has nothing
    else) but no dominant topic: its ``dominant_topic`` and ``dominant_weight`` are
    empty. A unit's ``segment`` and ``segment_topic`` are its segment in segments.csv
    and that segment's dominant topic: the topic of the unit in its context, which
    matches story labels better than its own mix does. A document's units arrive one
    after another (segment writes them so), so each document is written when its last
    unit has passed: memory grows with the longest document, not the corpus. Shared by
    the assign stage and ``pipeline infer``, so both write the same format.
    """
    topic_cols = curation.columns()
    column = {t: j for j, t in enumerate(curation.kept)}
    n_units = n_docs = n_segments = 0
    doc: _Document | None = None

    with (
        store.open_csv(
            "assignments.csv",
            [
                "unit_id",
                "doc_id",
                "dominant_topic",
                "dominant_weight",
                "segment",
                "segment_topic",
                *topic_cols,
                *meta_fields,
            ],
        ) as unit_out,
        store.open_csv(
            "documents.csv",
            [
                "doc_id",
                "source",
                "title",
                "n_units",
                "duplicate_of",
                "dominant_topic",
                *topic_cols,
                *meta_fields,
            ],
        ) as doc_out,
        store.open_csv("segments.csv", SEGMENT_COLUMNS) as segment_out,
    ):

        def finish(d: _Document) -> int:
            thetas, tokens = np.array(d.thetas), np.array(d.tokens)
            total = int(tokens.sum())
            mix = (thetas * tokens[:, None]).sum(axis=0) / total if total else thetas.mean(axis=0)
            meta = [d.first["meta"].get(f, "") for f in meta_fields]
            top = int(curation.dominant(mix)[0]) if total else ""
            doc_id, title = d.first["doc_id"], d.first["title"]
            original = (duplicate_of or {}).get(doc_id, "")
            doc_out.writerow(
                [doc_id, d.first["source"], title, len(d.units), original, top, *rounded(mix), *meta]
            )
            segments = tiling.topic_tiling(thetas, tokens)
            for number, seg in enumerate(segments):
                a, b = d.units[seg.first], d.units[seg.last]
                dominant = segment_topic(seg, curation)
                for row in d.rows[seg.first : seg.last + 1]:
                    unit_out.writerow([*row[:4], number, "" if dominant is None else dominant, *row[4:]])
                segment_out.writerow(
                    [
                        doc_id, title, number, a["unit_id"], b["unit_id"], seg.last - seg.first + 1,
                        a["line_start"], b["line_end"], a.get("text_line_start"), b.get("text_line_end"),
                        "" if dominant is None else dominant,
                        "" if dominant is None else f"{seg.mix[column[dominant]]:.{DIGITS}f}",
                    ]
                )  # fmt: skip
            return len(segments)

        for unit, mix, n_tok, weights, top in _curated(rows, curation):
            if doc is None or doc.first["doc_id"] != unit["doc_id"]:
                if doc is not None:
                    n_segments += finish(doc)
                n_docs += 1
                doc = _Document(unit)
            if mixes is not None:
                mixes[n_units] = mix
            doc.units.append({key: unit.get(key) for key in UNIT_PLACE})
            doc.thetas.append(mix)
            doc.tokens.append(n_tok)
            dominant = [top, weights[column[top]]] if n_tok else ["", ""]
            meta = [unit["meta"].get(f, "") for f in meta_fields]
            doc.rows.append([unit["unit_id"], unit["doc_id"], *dominant, *weights, *meta])
            n_units += 1
        if doc is not None:
            n_segments += finish(doc)
    return {"units": n_units, "documents": n_docs, "segments": n_segments}
