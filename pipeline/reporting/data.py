"""ReportData: everything the reports show, computed once, typed.

``build.report_data`` makes it from the run folder, one view's data at a time (see
``views``); the renderers (``html``, ``markdown``) and the files the report stage writes
(topics.json, topics.csv, prevalence.csv) only format it. Numbers are plain floats or
numpy arrays; a number that cannot be computed is None, never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Term:
    term: str
    score: float


@dataclass(frozen=True)
class Passage:
    unit_id: str
    doc_id: str
    weight: float
    source: str
    line_start: int
    line_end: int
    where: str  # file:line–line (see summary.citation)
    heading: str
    text: str  # an excerpt of report.excerpt_chars characters
    title: str = ""  # the document's display name (see build.document_name)
    date: str = ""  # the unit's date, YYYY-MM-DD when it is one, or ""


@dataclass(frozen=True)
class Topic:
    id: int  # the model's topic id, kept through curation
    name: str | None
    note: str | None
    prevalence: float  # share of the tokens; 0 for a dropped topic in the charts' sense
    terms: tuple[Term, ...]  # by probability
    relevance: tuple[Term, ...]  # at report.relevance_lambda
    frex: tuple[Term, ...]
    coherence: float | None
    stability: float | None
    diagnostics: dict[str, float | None]  # MALLET-style, by name
    rank1_units: int  # units whose largest share is this topic
    flags: tuple[str, ...]
    passages: tuple[Passage, ...]
    merged: tuple[int, ...] = ()  # topics whose columns were summed into this one
    dropped: bool = False

    @property
    def label_terms(self) -> tuple[Term, ...]:
        """Relevance and FREX favour terms specific to the topic; probability is the fallback."""
        return self.relevance or self.frex or self.terms

    @property
    def label(self) -> str:
        """What every view calls the topic: its name, or its first three label terms."""
        return self.name or " ".join(x.term for x in self.label_terms[:3])


@dataclass(frozen=True)
class Coverage:
    chars: int
    shares: dict[str, float]  # units, furniture, title, heading: shares of the characters
    low_files: tuple[tuple[str, float, str], ...]  # (source, share kept, mostly removed as)
    low_count: int


@dataclass(frozen=True)
class Corpus:
    files: int
    documents: int
    units: int
    tokens: int
    terms: int
    removed_lines: int
    removed_tokens: dict[str, int]
    coverage: Coverage | None
    # Boilerplate learned from the corpus: (an example, documents it was found in, times
    # taken), most taken first; and the documents made of it alone, kept as text.
    boilerplate: tuple[tuple[str, int, int], ...] = ()
    boilerplate_only: int = 0
    duplicates: int | None = None  # near-duplicate documents found; None: not looked for
    duplicates_trained: bool = False  # model.train_duplicates: kept in training and passages
    new_words: tuple[tuple[str, int], ...] = ()  # found in the corpus and kept whole, with counts


@dataclass(frozen=True)
class Model:
    engine: str
    num_topics: int
    passes: int
    iterations: int
    init: str
    alpha: str  # as configured: a name (auto, symmetric) or a number
    eta: str
    seed: int
    steps: str = ""  # how the engine trained: "20 passes, 400 iterations, nmf start"


@dataclass(frozen=True)
class DocumentRows:
    """The heat map: the most representative documents, and how many there are in all."""

    doc_ids: tuple[str, ...]
    sources: tuple[str, ...]
    mixes: np.ndarray  # (rows, topics), in the order of ReportData.topics
    total: int
    names: tuple[str, ...] = ()  # display names, beside doc_ids; () shows the ids


@dataclass(frozen=True)
class Block:
    units: int
    topic: int | None  # None: no unit of the segment has tokens
    first_unit: str
    last_unit: str


@dataclass(frozen=True)
class Strip:
    doc_id: str
    units: int
    blocks: tuple[Block, ...]
    name: str = ""  # the document's display name; "" shows the id


@dataclass(frozen=True)
class Strips:
    documents: tuple[Strip, ...]
    with_segments: int  # documents cut into two or more segments


@dataclass(frozen=True)
class SweepPoint:
    k: int
    seed: int
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class Sweep:
    points: tuple[SweepPoint, ...]
    chosen_k: int | None
    reason: str | None


@dataclass(frozen=True)
class Prevalence:
    """Topic shares by period (or category), with a bootstrap interval over documents."""

    field: str
    periods: tuple[str, ...]
    units: tuple[int, ...]
    documents: tuple[int, ...]
    share: np.ndarray  # (periods, topics): share of the period's tokens
    low: np.ndarray  # 2.5th percentile of the bootstrap
    high: np.ndarray  # 97.5th percentile
    resamples: int
    period: str = ""  # day, month, quarter, year or category: what one of ``periods`` is


@dataclass(frozen=True)
class TermShift:
    """How one topic is talked about over time: its top terms in each span of periods,
    and the terms whose share of the topic rose or fell most from the first half to the second."""

    topic: int
    terms: tuple[tuple[str, ...], ...]  # per span
    rose: tuple[Term, ...]  # share points gained
    fell: tuple[Term, ...]


@dataclass(frozen=True)
class OverTime:
    field: str
    spans: tuple[str, ...]  # "2019-01 – 2019-06"
    topics: tuple[TermShift, ...]


@dataclass(frozen=True)
class Relations:
    """Which topics are alike (hierarchy, merge candidates) and which occur together."""

    # scipy dendrogram of Jensen-Shannon distances: leaf order and the links' coordinates
    leaves: tuple[int, ...]  # topic ids, top to bottom
    links: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]  # (icoord, dcoord) per merge
    height: float  # the largest merge distance
    similar: tuple[tuple[int, int, float], ...]  # the pairs most worth merging: (a, b, similarity)
    correlation: np.ndarray  # (topics, topics): Pearson correlation of the units' mixes
    together: tuple[tuple[int, int, float], ...]  # positively correlated pairs, strongest first


@dataclass(frozen=True)
class Explorer:
    """What the page's script needs to re-rank terms (LDAvis relevance) and find a term's topics.

    ``terms`` holds every term that ranks among a topic's first ``rank`` for some λ in
    steps of 0.05; ``phi[t, j]`` is topic t's probability of terms[j], ``share[j]`` the
    term's share of the corpus tokens, ``count[j]`` its corpus count. A chosen term lists
    the topics holding at least ``LISTED`` of its tokens and lights up those whose
    probability of it is at least half the highest: ``holders``. The page carries phi only
    where a view uses it (candidates and holders), so it grows with K, not with K².
    """

    terms: tuple[str, ...]
    share: np.ndarray
    count: np.ndarray
    phi: np.ndarray  # (topics, terms)
    topic_tokens: np.ndarray  # (topics,): tokens each topic holds
    candidates: tuple[tuple[int, ...], ...]  # per topic: indices into terms
    holders: tuple[tuple[int, ...], ...]  # per term: the topics listed or lit when it is chosen
    mass: np.ndarray  # per term: its tokens in all topics together, sum of phi * topic_tokens
    lam: float  # report.relevance_lambda: the slider's start
    rank: int
    min_count: int = 0  # report.relevance_min_count: rarer terms are not ranked


@dataclass(frozen=True)
class SearchEntry:
    topic: int
    where: str
    doc_id: str
    text: str
    title: str = ""
    date: str = ""


@dataclass(frozen=True)
class LabelScores:
    field: str
    units: dict[str, float]
    documents: dict[str, float]


@dataclass(frozen=True)
class Summary:
    """The run summary: the corpus and its cleaning, the model, what each stage took."""

    corpus: Corpus
    model: Model
    timings: dict[str, float]
    training_notes: tuple[str, ...]  # mean stability, warnings
    vanished_labels: tuple[str, ...]
    labels: LabelScores | None  # agreement with input.label_field
    curation: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportData:
    """One field per view of the page, in its order (see ``views.VIEWS``)."""

    run: str
    generated_by: str
    summary: Summary
    topics: tuple[Topic, ...]  # kept topics, in id order; dropped ones marked
    topic_map: dict[int, tuple[float, float]] | None  # MDS of JS distances, LDAvis-style
    explorer: Explorer | None
    relations: Relations | None
    documents: DocumentRows | None
    strips: Strips | None
    prevalence: Prevalence | None  # per report.prevalence_period, as prevalence.csv has it
    # what the chart draws when the periods are too many to read: coarser periods, same data
    prevalence_chart: Prevalence | None
    over_time: OverTime | None
    sweep: Sweep | None
    search: tuple[SearchEntry, ...]

    @property
    def shown(self) -> tuple[Topic, ...]:
        """The topics charts show: every topic but the dropped ones."""
        return tuple(t for t in self.topics if not t.dropped)
