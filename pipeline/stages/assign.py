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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

import numpy as np

from pipeline import duplicates, engines
from pipeline.artifacts import CORPUS, DICTIONARY, MODEL, RunStore, release_pages
from pipeline.assignments import write_assignments
from pipeline.config import Config
from pipeline.engines import CHUNK as ENGINE_CHUNK
from pipeline.engines import TopicModel
from pipeline.executor import Executor
from pipeline.labels import BASIS, LABELS, curation_written, ensure_labels, match_labels, written_entries
from pipeline.samples import Subset, document_numbers
from pipeline.stages.base import Counts, Progress, Stage

MIXES = "mixes.npy"  # the curated unit mixes, unrounded: (units, kept topics), float64
PARTITION = ENGINE_CHUNK  # bags of words a task: whole inference chunks, so results match one process


@dataclass(frozen=True)
class Packed:
    """A partition's bags of words in three arrays, as it crosses to a worker: a term of a
    bag as Python tuples costs about a hundred bytes, and a partition of whole documents
    holds millions of terms."""

    ids: np.ndarray
    counts: np.ndarray
    ends: np.ndarray  # where each bag ends in ids and counts

    @classmethod
    def of(cls, bows: list[list[tuple[int, int]]]) -> Packed:
        pairs = np.fromiter(chain.from_iterable(chain.from_iterable(bows)), dtype=np.int64).reshape(-1, 2)
        ends = np.cumsum([len(bow) for bow in bows], dtype=np.int64)
        return cls(pairs[:, 0].copy(), pairs[:, 1].copy(), ends)

    def bows(self) -> Iterator[list[tuple[int, int]]]:
        start = 0
        for end in self.ends.tolist():
            yield list(zip(self.ids[start:end].tolist(), self.counts[start:end].tolist(), strict=True))
            start = end


def _infer_partition(packed: Packed, model: TopicModel) -> np.ndarray:
    return np.array(list(model.infer(packed.bows())))


def _inferred(bows: Iterator[list[tuple[int, int]]], model: TopicModel, ex: Executor) -> Iterator[np.ndarray]:
    """The mixes of ``bows``, in order, inferred a partition a task on the workers."""
    partitions = (Packed.of(part) for part in iter(lambda: list(islice(bows, PARTITION)), []))
    return chain.from_iterable(ex.map(_infer_partition, partitions, model))


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    model = store.load_model(engines.load_model)
    corpus = store.load_corpus()
    # The curation is matched first, so that a problem in labels.yaml stops the stage at
    # once. The dictionary is read only if the matching needs its terms (a labels.yaml
    # that names or curates topics), and not kept: the workers forked to infer the whole
    # documents would each count it (its terms alone are 50 MB over all processes on all
    # of xwlb), and reading it again at the end takes a tenth of a second. The report warns.
    labels = match_labels(store, model.topic_term, _StoredTerms(store), warn=False)
    # Matching read every page of the mapped topics x terms array (24 MB at K=50 on all of
    # xwlb's terms), which this process would hold while it infers; read again at the end.
    release_pages(model.topic_term)
    curation = labels.curation
    lengths: deque[int] = deque()  # filled as inference reads ahead, emptied as rows are written
    mass = np.zeros(model.num_topics)  # each topic's tokens, before curation

    def counted() -> Iterator[list[tuple[int, int]]]:
        for bow in corpus:
            lengths.append(int(sum(c for _, c in bow)))
            yield bow

    whole = config.model.document_mix == "whole"
    dupes = duplicates.read(store)
    keep, whole_mixes = _by_document(store, config, dupes, (model, corpus, ex))

    def rows() -> Iterator[tuple[dict[str, Any], np.ndarray, int]]:
        nonlocal mass
        if model.train_theta is None and engines.get(model.engine).parallel_inference and ex.parallel:
            thetas: Iterable[np.ndarray] = _inferred(counted(), model, ex)
        elif keep is not None and model.train_theta is not None:
            thetas = _with_left_out(model, corpus, keep, counted())
        else:
            thetas = model.unit_distributions(counted())
        units = progress.track(store.read_jsonl("units.jsonl"), len(corpus), "", "units")
        for unit, theta in zip(units, thetas, strict=True):
            n_tok = lengths.popleft()
            mass += theta * n_tok
            yield unit, theta, n_tok

    # The whole-document mixes are inferred before the units are written, and kept on disk
    # until documents.csv takes them: at 264,000 documents and K=50 they would be 106 MB,
    # in this process and in the workers forked to infer the units.
    with (
        store.spilled(whole_mixes, model.num_topics) as spilled,
        store.open_array(MIXES, (len(corpus), len(curation.kept))) as mixes,
    ):
        counts = write_assignments(
            store,
            rows(),
            curation,
            config.input.meta_fields,
            mixes,
            dupes,
            spilled if whole else None,
        )
    shares = mass / mass.sum() if mass.sum() else mass
    ensure_labels(store, model.topic_term, store.load_dictionary().id2token, shares, labels)
    details = {"curation": curation.record(), "topic_shares": [round(float(s), 6) for s in shares]}
    return {**counts, "topics": model.num_topics, "details": details}


def _by_document(
    store: RunStore, config: Config, dupes: dict[str, str], inference: tuple[TopicModel, Any, Executor]
) -> tuple[np.ndarray | None, Iterator[np.ndarray]]:
    """The rows training kept (None: all), and each document's whole-bag mix to come
    (none unless ``model.document_mix: whole``), from one pass over units.jsonl (each
    parses every unit). Nothing of the pass outlives the mixes' inference."""
    whole = config.model.document_mix == "whole"
    left_out = bool(dupes) and not config.model.train_duplicates
    if not (whole or left_out):
        return None, iter(())
    documents = document_numbers(store)
    keep = duplicates.training_rows(store, config.model.train_duplicates, documents)
    model, corpus, ex = inference
    return keep, whole_document_mixes(model, corpus, documents[0], ex) if whole else iter(())


def document_bows(unit_docs: np.ndarray, corpus: Any) -> Iterator[list[tuple[int, int]]]:
    """Each document's bag of words, its units' summed, in document order (``unit_docs``:
    each unit's document number, as ``samples.document_numbers`` gives them)."""
    current: int | None = None
    bag: dict[int, int] = {}
    for doc, bow in zip(unit_docs.tolist(), corpus, strict=True):
        if doc != current:
            if current is not None:
                yield sorted(bag.items())
            current, bag = doc, {}
        for term, n in bow:
            bag[term] = bag.get(term, 0) + int(n)
    if current is not None:
        yield sorted(bag.items())


def whole_document_mixes(
    model: TopicModel, corpus: Any, unit_docs: np.ndarray, ex: Executor
) -> Iterator[np.ndarray]:
    """Each document's mix inferred from its whole bag of words with the trained topics,
    in document order: what a model of whole documents says of it, where the mean of its
    units' mixes says which themes its passages carry. On xwlb items (bench/quality.py)
    the dominant topic of the whole bag matched the section labels better."""
    bows = document_bows(unit_docs, corpus)
    if engines.get(model.engine).parallel_inference and ex.parallel:
        return _inferred(bows, model, ex)
    return model.infer(bows)


def _with_left_out(
    model: TopicModel, corpus: Any, keep: np.ndarray, bows: Iterable[list[tuple[int, int]]]
) -> Iterator[np.ndarray]:
    """Every unit's mix when training left some out (near-duplicates): the mix training
    gave each unit it kept, in order, and for the others one inferred from the final
    topics, as for new text."""
    trained = model.unit_distributions(Subset(corpus, keep))  # its own pass over the corpus file
    for row, bow in enumerate(bows):
        yield next(trained) if keep[row] else next(model.infer([bow]))


class _StoredTerms(Mapping[int, str]):
    """The dictionary's terms by id, read from the store when first asked for."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._terms: dict[int, str] | None = None

    def _read(self) -> dict[int, str]:
        if self._terms is None:
            self._terms = self.store.load_dictionary().id2token
        return self._terms

    def __getitem__(self, i: int) -> str:
        return self._read()[i]

    def __iter__(self) -> Iterator[int]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


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
