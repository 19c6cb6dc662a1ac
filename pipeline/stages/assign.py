"""assign: model + corpus -> every unit's topic distribution, every document's mix, and
where the topic changes inside each document.

A unit's distribution is its variational posterior, normalised gamma, in full: no
probability floor, summing to 1. A document's mix is the average of its units'
distributions weighted by their token counts (units without tokens weigh nothing,
unless the whole document has none, when its units count equally). A unit or document
without tokens has no dominant topic. ``segments.csv`` cuts each document into runs of
units that carry one theme (``pipeline.tiling``).

Every output shows the topics as curated in labels.yaml (``pipeline.curation``): a
merged topic's column is summed into the topic it joins, a dropped topic keeps its column
(``topic_5_dropped``) but is no unit's, document's or segment's dominant topic.
``mixes.npy`` holds the curated unit mixes unrounded, in the rows of assignments.csv,
for the report. A new curation re-runs assign and report, never training.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

import numpy as np

from pipeline import duplicates, tiling
from pipeline.artifacts import CORPUS, DICTIONARY, MODEL, RunStore
from pipeline.config import Config
from pipeline.curation import Curation
from pipeline.engines import CHUNK as ENGINE_CHUNK
from pipeline.engines import TopicModel
from pipeline.executor import Executor
from pipeline.labels import BASIS, LABELS, curation_written, ensure_labels, match_labels, written_entries
from pipeline.stages.base import Counts, Progress, Stage

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


MIXES = "mixes.npy"  # the curated unit mixes, unrounded: (units, kept topics), float64
PARTITION = 5 * ENGINE_CHUNK  # units per task: whole inference chunks, so results match one process


def _infer_partition(bows: list[list[tuple[int, int]]], model: TopicModel) -> list[np.ndarray]:
    return list(model.infer(bows))


def _curated(
    rows: Iterable[tuple[dict[str, Any], np.ndarray, int]], curation: Curation
) -> Iterator[tuple[dict[str, Any], np.ndarray, int, list[str], int]]:
    """The rows with their curated mixes, those as strings, and their dominant topics,
    a block of rows at a time."""
    it = iter(rows)
    while block := list(islice(it, ENGINE_CHUNK)):
        mixes = curation.apply(np.array([theta for _, theta, _ in block]))
        weights, tops = rounded_rows(mixes), curation.dominant(mixes)
        for (unit, _, n_tok), mix, w, top in zip(block, mixes, weights, tops, strict=True):
            yield unit, mix, n_tok, w, int(top)


def segment_topic(segment: tiling.Segment, curation: Curation) -> int | None:
    """A segment's topic among the curated ones (its mix has their columns): the largest
    that is not dropped; None for a segment without tokens."""
    return int(curation.dominant(segment.mix)[0]) if segment.tokens else None


UNIT_PLACE = ("unit_id", "line_start", "line_end", "text_line_start", "text_line_end")
UNIT_COLUMNS = ["unit_id", "doc_id", "dominant_topic", "dominant_weight", "segment", "segment_topic"]
DOCUMENT_COLUMNS = ["doc_id", "source", "title", "n_units", "duplicate_of", "dominant_topic"]
SEGMENT_COLUMNS = [
    "doc_id", "title", "segment", "first_unit", "last_unit", "units",
    "line_start", "line_end", "text_line_start", "text_line_end", "dominant_topic", "weight",
]  # fmt: skip


def document_mix(
    thetas: np.ndarray, tokens: np.ndarray, curation: Curation, whole: np.ndarray | None = None
) -> np.ndarray:
    """A document's curated mix: ``whole``, inferred from its bag of words over the
    model's topics, when given and the document has tokens; else the token-weighted mean
    of its units' curated mixes (their plain mean when none has tokens)."""
    total = int(tokens.sum())
    if whole is not None and total:
        return np.asarray(curation.apply(np.asarray(whole)[None, :])[0])
    return (thetas * tokens[:, None]).sum(axis=0) / total if total else thetas.mean(axis=0)


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
    column = {t: j for j, t in enumerate(curation.kept)}
    n_units = n_docs = n_segments = 0
    doc: _Document | None = None

    with (
        store.open_csv("assignments.csv", [*UNIT_COLUMNS, *topic_cols, *meta_fields]) as unit_out,
        store.open_csv("documents.csv", [*DOCUMENT_COLUMNS, *topic_cols, *meta_fields]) as doc_out,
        store.open_csv("segments.csv", SEGMENT_COLUMNS) as segment_out,
    ):

        def finish(d: _Document) -> int:
            thetas, tokens = np.array(d.thetas), np.array(d.tokens)
            total = int(tokens.sum())
            whole = next(document_mixes) if document_mixes is not None else None
            mix = document_mix(thetas, tokens, curation, whole)
            meta = [d.first["meta"].get(f, "") for f in meta_fields]
            top = int(curation.dominant(mix)[0]) if total else ""
            doc_id, title = d.first["doc_id"], d.first["title"]
            original = (duplicate_of or {}).get(doc_id, "")
            doc_out.writerow(
                [doc_id, d.first["source"], title, len(d.units), original, top, *rounded(mix), *meta]
            )
            segments = tiling.merge_same_topic(
                tiling.topic_tiling(thetas, tokens), lambda seg: segment_topic(seg, curation)
            )
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


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    model = store.load_model()
    corpus = store.load_corpus()
    dictionary = store.load_dictionary()
    labels = match_labels(store, model.topic_term, dictionary.id2token, warn=False)  # the report warns
    curation = labels.curation
    lengths: deque[int] = deque()  # filled as inference reads ahead, emptied as rows are written
    mass = np.zeros(model.num_topics)  # each topic's tokens, before curation

    def counted() -> Iterator[list[tuple[int, int]]]:
        for bow in corpus:
            lengths.append(int(sum(c for _, c in bow)))
            yield bow

    keep = duplicates.training_rows(store, config.model.train_duplicates)

    def rows() -> Iterator[tuple[dict[str, Any], np.ndarray, int]]:
        nonlocal mass
        if model.train_theta is None and model.engine == "gensim" and ex.parallel:
            stream = counted()
            partitions = iter(lambda: list(islice(stream, PARTITION)), [])
            thetas: Iterable[np.ndarray] = chain.from_iterable(ex.map(_infer_partition, partitions, model))
        elif keep is not None and model.train_theta is not None:
            thetas = _with_left_out(model, corpus, keep, counted())
        else:
            thetas = model.unit_distributions(counted())
        units = progress.track(store.read_jsonl("units.jsonl"), len(corpus), "", "units")
        for unit, theta in zip(units, thetas, strict=True):
            n_tok = lengths.popleft()
            mass += theta * n_tok
            yield unit, theta, n_tok

    # Inferred before the units are written: one mix a document, in memory (documents x K).
    whole = (
        iter(list(whole_document_mixes(model, corpus, store, ex)))
        if config.model.document_mix == "whole"
        else None
    )
    with store.open_array(MIXES, (len(corpus), len(curation.kept))) as mixes:
        counts = write_assignments(
            store, rows(), curation, config.input.meta_fields, mixes, duplicates.read(store), whole
        )
    shares = mass / mass.sum() if mass.sum() else mass
    ensure_labels(store, model.topic_term, dictionary.id2token, shares, labels)
    details = {"curation": curation.record(), "topic_shares": [round(float(s), 6) for s in shares]}
    return {**counts, "topics": model.num_topics, "details": details}


def document_bows(store: RunStore, corpus: Any) -> Iterator[list[tuple[int, int]]]:
    """Each document's bag of words, its units' summed, in document order."""
    current: str | None = None
    bag: dict[int, int] = {}
    for unit, bow in zip(store.read_jsonl("units.jsonl"), corpus, strict=True):
        if unit["doc_id"] != current:
            if current is not None:
                yield sorted(bag.items())
            current, bag = unit["doc_id"], {}
        for term, n in bow:
            bag[term] = bag.get(term, 0) + int(n)
    if current is not None:
        yield sorted(bag.items())


def whole_document_mixes(
    model: TopicModel, corpus: Any, store: RunStore, ex: Executor
) -> Iterator[np.ndarray]:
    """Each document's mix inferred from its whole bag of words with the trained topics,
    in document order: what a model of whole documents says of it, where the mean of its
    units' mixes says which themes its passages carry. On xwlb items (bench/quality.py)
    the dominant topic of the whole bag matched the section labels better."""
    bows = document_bows(store, corpus)
    if model.engine == "gensim" and ex.parallel:
        partitions = iter(lambda: list(islice(bows, PARTITION)), [])
        return chain.from_iterable(ex.map(_infer_partition, partitions, model))
    return model.infer(bows)


def _with_left_out(
    model: TopicModel, corpus: Any, keep: np.ndarray, bows: Iterable[list[tuple[int, int]]]
) -> Iterator[np.ndarray]:
    """Every unit's mix when training left some out (near-duplicates): the mix training
    gave each unit it kept, in order, and for the others one inferred from the final
    topics, as for new text."""
    from pipeline.stages.train import Subset

    trained = model.unit_distributions(Subset(corpus, keep))  # its own pass over the corpus file
    for row, bow in enumerate(bows):
        yield next(trained) if keep[row] else next(model.infer([bow]))


def _curation_edits(config: Config) -> dict[str, Any]:
    """The curation in labels.yaml as written: the part of that file that changes assign's
    outputs (names, notes and comments change the report only, or nothing)."""
    return {LABELS: curation_written(written_entries(RunStore(config.run_dir, staged=True)))}


STAGE = Stage(
    name="assign",
    sections=("input.meta_fields", "model.document_mix"),
    inputs=(MODEL, CORPUS, DICTIONARY, "units.jsonl", duplicates.DUPLICATES),
    outputs=("assignments.csv", "documents.csv", "segments.csv", MIXES, LABELS, BASIS),
    run=run,
    edits=_curation_edits,
)
