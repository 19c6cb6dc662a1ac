"""assign: model + corpus -> every unit's topic distribution and every document's mix.

A unit's distribution is its variational posterior, normalised gamma, in full: no
probability floor, summing to 1. A document's mix is the average of its units'
distributions weighted by their token counts (units without tokens weigh nothing,
unless the whole document has none, when its units count equally).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any

import numpy as np

from pipeline.artifacts import CORPUS, MODEL, RunStore
from pipeline.config import Config
from pipeline.engines import CHUNK as ENGINE_CHUNK
from pipeline.engines import TopicModel
from pipeline.executor import Executor
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


PARTITION = 5 * ENGINE_CHUNK  # units per task: whole inference chunks, so results match one process


def _infer_partition(bows: list[list[tuple[int, int]]], model: TopicModel) -> list[np.ndarray]:
    return list(model.infer(bows))


def _with_weights(
    rows: Iterable[tuple[dict[str, Any], np.ndarray, int]],
) -> Iterator[tuple[dict[str, Any], np.ndarray, int, list[str]]]:
    """The rows with their distributions as strings, rounded a block of rows at a time."""
    it = iter(rows)
    while block := list(islice(it, ENGINE_CHUNK)):
        weights = rounded_rows(np.array([theta for _, theta, _ in block]))
        for (unit, theta, n_tok), w in zip(block, weights, strict=True):
            yield unit, theta, n_tok, w


def write_assignments(
    store: RunStore,
    rows: Iterable[tuple[dict[str, Any], np.ndarray, int]],
    k: int,
    meta_fields: list[str],
) -> dict[str, int]:
    """Write assignments.csv and documents.csv from a stream of (unit, distribution, tokens).

    A document's units arrive one after another (segment writes them so), so each
    document row is written when its last unit has passed: memory does not grow with
    the corpus. Shared by the assign stage and ``pipeline infer``, so both write the
    same format.
    """
    topic_cols = [f"topic_{i}" for i in range(k)]
    n_units = n_docs = 0
    doc: dict[str, Any] | None = None

    def doc_row(d: dict[str, Any]) -> list[Any]:
        mix = d["weighted"] / d["tokens"] if d["tokens"] else d["plain"] / d["n_units"]
        meta = [d["meta"].get(f, "") for f in meta_fields]
        return [d["doc_id"], d["source"], d["n_units"], int(np.argmax(mix)), *rounded(mix), *meta]

    with (
        store.open_csv(
            "assignments.csv",
            ["unit_id", "doc_id", "dominant_topic", "dominant_weight", *topic_cols, *meta_fields],
        ) as unit_out,
        store.open_csv(
            "documents.csv", ["doc_id", "source", "n_units", "dominant_topic", *topic_cols, *meta_fields]
        ) as doc_out,
    ):
        for unit, theta, n_tok, weights in _with_weights(rows):
            if doc is None or doc["doc_id"] != unit["doc_id"]:
                if doc is not None:
                    doc_out.writerow(doc_row(doc))
                n_docs += 1
                doc = {
                    "doc_id": unit["doc_id"],
                    "source": unit["source"],
                    "n_units": 0,
                    "weighted": np.zeros(k),
                    "plain": np.zeros(k),
                    "tokens": 0,
                    "meta": unit["meta"],
                }
            doc["n_units"] += 1
            doc["weighted"] += n_tok * theta
            doc["plain"] += theta
            doc["tokens"] += n_tok
            top = int(np.argmax(theta))
            meta = [unit["meta"].get(f, "") for f in meta_fields]
            unit_out.writerow([unit["unit_id"], unit["doc_id"], top, weights[top], *weights, *meta])
            n_units += 1
        if doc is not None:
            doc_out.writerow(doc_row(doc))
    return {"units": n_units, "documents": n_docs}


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    model = store.load_model()
    corpus = store.load_corpus()
    lengths: deque[int] = deque()  # filled as inference reads ahead, emptied as rows are written

    def counted() -> Iterator[list[tuple[int, int]]]:
        for bow in corpus:
            lengths.append(int(sum(c for _, c in bow)))
            yield bow

    def rows() -> Iterator[tuple[dict[str, Any], np.ndarray, int]]:
        if model.train_theta is None and model.engine == "gensim" and ex.parallel:
            stream = counted()
            partitions = iter(lambda: list(islice(stream, PARTITION)), [])
            thetas: Iterable[np.ndarray] = chain.from_iterable(ex.map(_infer_partition, partitions, model))
        else:
            thetas = model.unit_distributions(counted())
        units = progress.track(store.read_jsonl("units.jsonl"), len(corpus), "assign")
        for unit, theta in zip(units, thetas, strict=True):
            yield unit, theta, lengths.popleft()

    counts = write_assignments(store, rows(), model.num_topics, config.input.meta_fields)
    return {**counts, "topics": model.num_topics}


STAGE = Stage(
    name="assign",
    sections=("input.meta_fields",),
    inputs=(MODEL, CORPUS, "units.jsonl"),
    outputs=("assignments.csv", "documents.csv"),
    run=run,
)
