"""What the report reads from the run folder, as ``build.load_report_inputs`` loads it.

The views compute from these alone: no view opens the store. Large things stay lazy or
small: the mixes are read from disk a block of rows at a time, the corpus is a stream,
and of ``units.jsonl`` only each unit's document and group keys are kept, plus the units
a view may quote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pipeline.config import Config
from pipeline.labels import Labels


class Rows(Protocol):
    """A 2-D array of rows on disk, read a block at a time (the store's ``ArrayRows``)."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, rows: slice) -> np.ndarray: ...

    def blocks(self, size: int = ...) -> Iterator[np.ndarray]: ...


MIX_BLOCK = 50_000  # rows of the mixes a view reads at a time
Ranked = list[tuple[float, int]]  # (a unit's share of the topic, unit index), best first


@dataclass(frozen=True)
class Units:
    """What the report keeps of units.jsonl: per unit, its document and group keys; in
    full, only the units it may quote."""

    doc: np.ndarray  # document index of each unit
    doc_ids: list[str]
    sources: list[str]
    names: list[str]  # per document: what the page calls it (build.document_name)
    labels: list[str] | None
    periods: np.ndarray | None  # period index of each unit
    period_names: list[str]
    quoted: dict[int, dict[str, Any]]


@dataclass(frozen=True)
class Quotable:
    """Per topic (a column of the mixes), the units a view may quote: the representatives'
    candidates (a wider set when one per document is asked for) and the passages the
    search box looks through."""

    representatives: list[Ranked]
    search: list[Ranked]


@dataclass(frozen=True)
class Facts:
    """What earlier stages found, as the manifest records it: per stage, its counts (units,
    tokens, ...) and details (segment's coverage, assign's topic shares, ...), and the
    seconds each took."""

    counts: dict[str, dict[str, Any]]
    details: dict[str, dict[str, Any]]
    timings: dict[str, float]


@dataclass(frozen=True)
class ReportInputs:
    config: Config
    engine: str
    new_words: tuple[tuple[str, int], ...]  # found in the corpus and kept whole, with counts
    steps: str  # how the engine trained: "20 passes, 400 iterations, nmf start"
    topic_term: np.ndarray  # the model's (topics, terms) probabilities, before curation
    dictionary: Any  # the gensim Dictionary
    corpus: Any  # the bag-of-words corpus, a stream
    lengths: np.ndarray  # tokens per unit
    mixes: Rows  # (units, kept topics): curated topic shares, read a block at a time
    units: Units
    quotable: Quotable
    training: dict[str, Any]  # training.json
    facts: Facts
    labels: Labels  # labels.yaml matched to the current topics, with its curation
    coherence_texts: list[list[str]]  # the units' tokens coherence is counted over
    sweep: list[dict[str, str]] | None  # sweep.csv's rows, when K was swept
    strips: tuple[list[dict[str, Any]], int]  # segment_strips of segments.csv
