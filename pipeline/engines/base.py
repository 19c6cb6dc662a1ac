"""What every engine shares: the training request, its progress and log, the trained
model's contract (``TopicModel``) and the engine's own (``Engine``).

A model gives topic-term distributions in dictionary id order, the document-topic prior,
per-unit distributions and inference for new text. Everything downstream (assign, the
report, the measures) uses only this contract, so it is engine-blind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pipeline.artifacts import ArrayRows
from pipeline.executor import Executor

Bow = list[tuple[int, int]]
Terms = Sequence[str] | Mapping[int, str]  # the vocabulary in id order (a gensim Dictionary serves)
CHUNK = 2000  # units inferred at a time: a unit's mix depends only on its chunk
ENGINE_FILE = "engine.json"  # in every model folder: which engine wrote it, its seed and K
THETA = "train_theta.npy"  # in a model folder: the training units' mixes, where training gave them


class PackedTerms(Sequence[str]):
    """The vocabulary in id order as one block of UTF-8 and the offsets into it.

    A list of the terms is one string object each (12 MB on all of xwlb's 60,896 terms,
    against 3 MB on a tenth of it), and those strings hold on to the heap pages the
    dictionary was parsed into: training would keep them, and every worker it forks
    would count them. Packed, the terms are two arrays (under 1 MB)."""

    def __init__(self, terms: Iterable[str]) -> None:
        encoded = [t.encode("utf-8") for t in terms]
        self._ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        self._bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        start = int(self._ends[i - 1]) if i else 0
        return self._bytes[start : int(self._ends[i])].tobytes().decode("utf-8")


@dataclass
class TrainSpec:
    """What to train: one name per concept, as in gensim (alpha, eta, passes, iterations)."""

    engine: str
    num_topics: int
    seed: int
    passes: int
    iterations: int
    alpha: str | float
    eta: str | float
    chunksize: int
    update_every: int = 1
    init: str = "nmf"  # starting topics, for the engines that take a start (Engine.starts)
    documents: np.ndarray | None = None  # each corpus row's document number, for the nmf start
    eta_prior: np.ndarray | None = None  # K x V, from seed words
    eval_rows: np.ndarray | None = None  # mask over the corpus rows: units for per-pass perplexity
    # The model folder being written: training that gives every unit its mix (gensim's
    # batch EM, tomotopy) writes them there (THETA) as it computes them, never all in memory.
    mixes_to: Path | None = None


@dataclass
class TrainLog:
    """What training reports: per-pass perplexity and convergence."""

    perplexity: list[float] = field(default_factory=list)
    converged_share: float | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "perplexity_per_pass": [round(p, 4) for p in self.perplexity],
            "converged_share": None if self.converged_share is None else round(self.converged_share, 4),
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class TrainStep:
    """How far training is, told as each step ends (a pass, or a number of sampling
    iterations: ``Engine.steps``): ``done`` of ``total`` ``unit``, and the latest
    perplexity of the evaluation units, that of the topics after ``unit`` ``after``
    (gensim's batch EM measures a pass's topics in the next pass's E-step)."""

    unit: str  # "pass" or "iteration"
    done: int
    total: int
    perplexity: float | None = None
    after: int | None = None


OnStep = Callable[[TrainStep], None]


def quiet(step: TrainStep) -> None: ...


class TopicModel:
    """A trained model: ``topic_term`` (K x V, rows sum to 1) and ``alpha`` (K)."""

    engine = "base"  # the name of the engine that trained it (Engine.name)
    train_theta: ArrayRows | None = (
        None  # the training units' mixes (THETA on disk), where training gave them
    )

    def __init__(self, topic_term: np.ndarray, alpha: np.ndarray, seed: int) -> None:
        self.topic_term = topic_term
        self.alpha = alpha
        self.seed = seed

    @property
    def num_topics(self) -> int:
        return int(self.topic_term.shape[0])

    def prior_distribution(self) -> np.ndarray:
        return np.asarray(self.alpha / self.alpha.sum(), dtype=float)

    def unit_distributions(self, corpus: Iterable[Bow]) -> Iterator[np.ndarray]:
        """The distribution of every training unit, in corpus order: the one training
        gave it where the model holds those (``train_theta``), else inferred."""
        return self.infer(corpus)

    def infer(self, bows: Iterable[Bow]) -> Iterator[np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        """Arrays and JSON only: a model folder is data, and loading it must run no code."""
        np.save(folder / "topic_term.npy", self.topic_term)
        np.save(folder / "alpha.npy", self.alpha)
        (folder / ENGINE_FILE).write_text(
            json.dumps({"engine": self.engine, "seed": self.seed, "num_topics": self.num_topics}) + "\n",
            encoding="utf-8",
        )


def save_theta(theta: ArrayRows | None, folder: Path) -> None:
    """Put the training units' mixes in ``folder``: nothing to do when training wrote them
    there (``TrainSpec.mixes_to``), else the file copied, a block at a time."""
    target = folder / THETA
    if theta is not None and not (target.exists() and target.samefile(theta.path)):
        shutil.copyfile(theta.path, target)


def load_theta(folder: Path) -> ArrayRows | None:
    """The training units' mixes in a model folder, to read a block at a time (None: the
    model has none); its header checked, never unpickled."""
    path = folder / THETA
    return ArrayRows.open(path) if path.exists() else None


class Engine(Protocol):
    """A topic-model engine: one module each, each giving one ``ENGINE``, listed in
    ``pipeline.engines.ENGINES``. Nothing outside that package asks which engine it has:
    it asks the engine."""

    name: str  # model.engine
    unit: str  # what training counts as it goes: "pass" or "iteration"
    setting: str  # the model setting that sets how long it trains: "passes" or "iterations"
    starts: tuple[str, ...]  # the model.init values it takes; it ignores the others
    parallel_inference: bool  # its inference may be spread over the executor's processes
    seed_words: bool  # it takes a topic-word prior matrix (model.seed_words)

    def symmetric_priors(self, k: int) -> tuple[float, float]:
        """The alpha and eta it uses for K topics when model.alpha or model.eta names a
        prior it does not learn (and the base of the seed-word prior)."""
        ...

    def steps(self, spec: TrainSpec) -> int:
        """How many times training tells ``on_step`` how far it is."""
        ...

    def describe(self, passes: int, iterations: int, init: str) -> str:
        """How it trained, for the report: "20 passes, 400 iterations, nmf start"."""
        ...

    def train(
        self, spec: TrainSpec, corpus: Any, terms: Terms, ex: Executor, on_step: OnStep
    ) -> tuple[TopicModel, TrainLog]:
        """One model of a corpus whose vocabulary is ``terms``; ``on_step`` hears how far
        training is, ``steps(spec)`` times."""
        ...

    def load(self, folder: Path, seed: int) -> TopicModel:
        """The model its ``TopicModel.save`` wrote into ``folder``, read without pickle."""
        ...


def words(bow: Bow, id2token: Terms) -> list[str]:
    """A bag of words as the words themselves, each as often as it is counted."""
    return [id2token[i] for i, n in bow for _ in range(int(n))]
