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
from pipeline.artifacts import ArrayWriter, RunStore
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


class _Writer:
    """The three tables' open files, and how one finished document is written to them."""

    def __init__(
        self,
        outs: tuple[Any, Any, Any],
        curation: Curation,
        meta_fields: list[str],
        duplicate_of: dict[str, str],
        document_mixes: Iterator[np.ndarray] | None,
    ) -> None:
        self.unit_out, self.doc_out, self.segment_out = outs
        self.curation, self.meta_fields = curation, meta_fields
        self.column = {t: j for j, t in enumerate(curation.kept)}
        self.duplicate_of, self.document_mixes = duplicate_of, document_mixes

    def document(self, d: _Document) -> int:
        """documents.csv's row, then the document's segments and its units' rows; the
        number of segments."""
        thetas, tokens = np.array(d.thetas), np.array(d.tokens)
        total = int(tokens.sum())
        mix = (thetas * tokens[:, None]).sum(axis=0) / total if total else thetas.mean(axis=0)
        if self.document_mixes is not None:  # model.document_mix: whole
            whole = self.curation.apply(np.asarray(next(self.document_mixes))[None, :])[0]
            mix = whole if total else mix
        meta = [d.first["meta"].get(f, "") for f in self.meta_fields]
        top = int(self.curation.dominant(mix)[0]) if total else ""
        doc_id, title = d.first["doc_id"], d.first["title"]
        original = self.duplicate_of.get(doc_id, "")
        self.doc_out.writerow(
            [doc_id, d.first["source"], title, len(d.units), original, top, *rounded(mix), *meta]
        )
        topic = lambda seg: segment_topic(seg, self.curation)  # noqa: E731
        segments = tiling.merge_same_topic(tiling.topic_tiling(thetas, tokens), topic)
        for number, seg in enumerate(segments):
            self._segment(d, number, seg, topic(seg))
        return len(segments)

    def _segment(self, d: _Document, number: int, seg: tiling.Segment, dominant: int | None) -> None:
        a, b = d.units[seg.first], d.units[seg.last]
        shown = "" if dominant is None else dominant
        for row in d.rows[seg.first : seg.last + 1]:
            self.unit_out.writerow([*row[:4], number, shown, *row[4:]])
        weight = "" if dominant is None else f"{seg.mix[self.column[dominant]]:.{DIGITS}f}"
        self.segment_out.writerow(
            [
                d.first["doc_id"], d.first["title"], number, a["unit_id"], b["unit_id"],
                seg.last - seg.first + 1, a["line_start"], b["line_end"],
                a.get("text_line_start"), b.get("text_line_end"), shown, weight,
            ]
        )  # fmt: skip


def write_assignments(
    store: RunStore,
    rows: Iterable[tuple[dict[str, Any], np.ndarray, int]],
    curation: Curation,
    meta_fields: list[str],
    mixes: ArrayWriter | None = None,
    duplicate_of: dict[str, str] | None = None,
    document_mixes: Iterator[np.ndarray] | None = None,
) -> dict[str, int]:
    """Write assignments.csv, documents.csv and segments.csv from a stream of (unit,
    distribution over the model's topics, tokens), curated; and each unit's curated mix
    into the rows of ``mixes`` (an array on disk), when it is given. ``duplicate_of``
    names the document each near-duplicate repeats (documents.csv's ``duplicate_of``).
    ``document_mixes``, one per document in order, over the model's topics, are
    documents.csv's mixes when given (``model.document_mix: whole``); else a document's
    mix is the token-weighted mean of its units'.

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
    unit_header = ["unit_id", "doc_id", "dominant_topic", "dominant_weight", "segment", "segment_topic"]
    doc_header = ["doc_id", "source", "title", "n_units", "duplicate_of", "dominant_topic"]
    n_units = n_docs = n_segments = 0
    doc: _Document | None = None
    with (
        store.open_csv("assignments.csv", [*unit_header, *topic_cols, *meta_fields]) as unit_out,
        store.open_csv("documents.csv", [*doc_header, *topic_cols, *meta_fields]) as doc_out,
        store.open_csv("segments.csv", SEGMENT_COLUMNS) as segment_out,
    ):
        writer = _Writer(
            (unit_out, doc_out, segment_out), curation, meta_fields, duplicate_of or {}, document_mixes
        )
        for unit, mix, n_tok, weights, top in _curated(rows, curation):
            if doc is None or doc.first["doc_id"] != unit["doc_id"]:
                if doc is not None:
                    n_segments += writer.document(doc)
                n_docs += 1
                doc = _Document(unit)
            if mixes is not None:
                mixes.append(mix)
            doc.units.append({key: unit.get(key) for key in UNIT_PLACE})
            doc.thetas.append(mix)
            doc.tokens.append(n_tok)
            dominant = [top, weights[writer.column[top]]] if n_tok else ["", ""]
            meta = [unit["meta"].get(f, "") for f in meta_fields]
            doc.rows.append([unit["unit_id"], unit["doc_id"], *dominant, *weights, *meta])
            n_units += 1
        if doc is not None:
            n_segments += writer.document(doc)
    return {"units": n_units, "documents": n_docs, "segments": n_segments}
