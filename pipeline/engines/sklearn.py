"""scikit-learn's ``LatentDirichletAllocation``: batch variational Bayes in this process,
on the corpus as a sparse matrix. Its priors are numbers: a named alpha or eta is its
default, 1/K. The model is saved as arrays and JSON, never pickled.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import em
from pipeline.artifacts import Doc
from pipeline.engines import base
from pipeline.engines.base import Bow, OnStep, Terms, TopicModel, TrainLog, TrainSpec, TrainStep
from pipeline.executor import Executor

SETTINGS = "sklearn.json"
ARRAYS = ("components", "exp_dirichlet_component")  # sklearn_<name>.npy: its fitted <name>_


class SklearnModel(TopicModel):
    engine = "sklearn"

    def __init__(self, lda: Any, seed: int) -> None:
        topics = np.asarray(lda.components_, dtype=np.float64)
        alpha = np.full(lda.n_components, float(lda.doc_topic_prior_))
        super().__init__(topics / topics.sum(axis=1, keepdims=True), alpha, seed)
        self.lda = lda

    def infer(self, bows: Iterable[Bow]) -> Iterator[np.ndarray]:
        # Each unit's E-step starts from the same point and reads only that unit: its mix
        # is the same whatever chunk or process it is inferred in.
        it = iter(bows)
        terms = self.topic_term.shape[1]
        while chunk := list(islice(it, base.CHUNK)):
            yield from self.lda.transform(_matrix([_arrays(b) for b in chunk], terms))

    def save(self, folder: Path) -> None:
        super().save(folder)
        lda = self.lda
        settings = {
            "n_components": lda.n_components,
            "doc_topic_prior": float(lda.doc_topic_prior_),
            "topic_word_prior": float(lda.topic_word_prior_),
            "max_doc_update_iter": lda.max_doc_update_iter,
            "mean_change_tol": lda.mean_change_tol,
            "n_iter": lda.n_iter_,
        }
        (folder / SETTINGS).write_text(json.dumps(settings, sort_keys=True) + "\n", encoding="utf-8")
        for name in ARRAYS:
            np.save(folder / f"sklearn_{name}.npy", getattr(lda, f"{name}_"))

    @classmethod
    def load(cls, folder: Path, seed: int) -> SklearnModel:
        """The model ``save`` wrote: an estimator given the fitted state it had."""
        from sklearn.decomposition import LatentDirichletAllocation

        settings = json.loads((folder / SETTINGS).read_text(encoding="utf-8"))
        lda = LatentDirichletAllocation(
            n_components=settings["n_components"],
            doc_topic_prior=settings["doc_topic_prior"],
            topic_word_prior=settings["topic_word_prior"],
            max_doc_update_iter=settings["max_doc_update_iter"],
            mean_change_tol=settings["mean_change_tol"],
            learning_method="batch",
            random_state=seed,
        )
        for name in ARRAYS:
            setattr(lda, f"{name}_", np.load(folder / f"sklearn_{name}.npy", allow_pickle=False))
        lda.doc_topic_prior_ = settings["doc_topic_prior"]
        lda.topic_word_prior_ = settings["topic_word_prior"]
        lda.n_features_in_ = lda.components_.shape[1]
        lda.n_iter_ = settings["n_iter"]
        return cls(lda, seed)


class SklearnEngine:
    name = "sklearn"
    unit = "pass"
    setting = "passes"
    starts: tuple[str, ...] = ("random",)
    parallel_inference = True  # see SklearnModel.infer
    seed_words = False  # its topic-word prior is one number

    def symmetric_priors(self, k: int) -> tuple[float, float]:
        return 1.0 / k, 1.0 / k  # scikit-learn's defaults

    def steps(self, spec: TrainSpec) -> int:
        return spec.passes

    def describe(self, passes: int, iterations: int, init: str) -> str:
        return f"{passes} passes, {iterations} iterations"

    def train(
        self, spec: TrainSpec, corpus: Any, terms: Terms, ex: Executor, on_step: OnStep
    ) -> tuple[TopicModel, TrainLog]:
        return train(spec, corpus, len(terms), on_step)

    def load(self, folder: Path, seed: int) -> TopicModel:
        return SklearnModel.load(folder, seed)


ENGINE = SklearnEngine()


def train(spec: TrainSpec, corpus: Any, terms: int, on_step: OnStep) -> tuple[TopicModel, TrainLog]:
    """Batch variational Bayes: ``model.passes`` EM steps over the whole corpus, each unit's
    E-step at most ``model.iterations`` long; the evaluation units' perplexity after each."""
    from sklearn.decomposition import LatentDirichletAllocation

    source = em.RowSource.of(corpus)
    docs = [doc for _, start, end in source.partitions() for doc in source.read(start, end)]
    counts = _matrix(docs, terms)
    alpha, eta = ENGINE.symmetric_priors(spec.num_topics)
    lda = LatentDirichletAllocation(
        n_components=spec.num_topics,
        doc_topic_prior=spec.alpha if isinstance(spec.alpha, float) else alpha,
        topic_word_prior=spec.eta if isinstance(spec.eta, float) else eta,
        learning_method="batch",
        max_iter=spec.passes,
        max_doc_update_iter=spec.iterations,
        evaluate_every=-1,  # perplexity is measured on the evaluation units instead
        random_state=spec.seed,
    )
    # eval_rows counts every corpus row, the units left out of training (duplicates) too
    evaluated = None
    if spec.eval_rows is not None:
        evaluated = _matrix(source.read_rows(np.flatnonzero(spec.eval_rows)), terms)
    log = TrainLog()
    with _each_pass(lda, spec.passes, evaluated, log, on_step):
        lda.fit(counts)
    return SklearnModel(lda, spec.seed), log


@contextlib.contextmanager
def _each_pass(lda: Any, passes: int, evaluated: Any, log: TrainLog, on_step: OnStep) -> Iterator[None]:
    """While ``fit`` runs, tell ``on_step`` as each pass (an EM step, ``_em_step``) ends,
    with the evaluation units' perplexity under its topics. The hook lives on the instance
    for the training only."""
    em_step = lda._em_step
    done = 0

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = em_step(*args, **kwargs)
        done += 1
        latest = None
        if evaluated is not None and evaluated.shape[0]:
            latest = float(lda.perplexity(evaluated))
            log.perplexity.append(latest)
        on_step(TrainStep("pass", done, passes, latest, done))
        return result

    lda._em_step = counted
    try:
        yield
    finally:
        del lda._em_step
    if done != passes:  # a scikit-learn whose fit no longer steps through _em_step
        on_step(TrainStep("pass", passes, passes))


def _arrays(bow: Bow) -> Doc:
    return (np.array([i for i, _ in bow], dtype=np.int64), np.array([c for _, c in bow], dtype=np.float64))


def _matrix(docs: list[Doc], terms: int) -> Any:
    """Rows of (term ids, counts) as a sparse document-term matrix."""
    from scipy import sparse

    indptr = np.cumsum([0] + [len(ids) for ids, _ in docs])
    none = np.zeros(0)
    indices = np.concatenate([ids for ids, _ in docs] or [none]).astype(np.int64)
    data = np.concatenate([counts for _, counts in docs] or [none]).astype(np.float64)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(docs), terms))
