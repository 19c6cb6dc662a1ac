"""gensim's variational LDA: batch EM spread over the executor (``pipeline.em``), or
gensim's own online learning; started from an NMF of the tf-idf matrix (``nmf``) or at
random. The model is saved as arrays and JSON: gensim's own ``save`` pickles.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import em
from pipeline.artifacts import ArrayRows, write_rows
from pipeline.engines import base, nmf
from pipeline.engines.base import Bow, OnStep, Terms, TopicModel, TrainLog, TrainSpec, TrainStep
from pipeline.errors import StoreError
from pipeline.executor import Executor

_PASS = re.compile(r"PROGRESS: pass (\d+),")
_CONVERGED = re.compile(r"(\d+)/(\d+) documents converged")
_EPOCH = re.compile(r"Epoch (\d+): Perplexity estimate: (\S+)")  # gensim's PerplexityMetric, logged

GENSIM_SETTINGS = "lda.json"


class GensimModel(TopicModel):
    engine = "gensim"

    def __init__(
        self, lda: Any, seed: int, train_theta: ArrayRows | None = None, topic_term: np.ndarray | None = None
    ) -> None:
        alpha = np.asarray(lda.alpha, dtype=float)
        topics = lda.get_topics().astype(np.float64) if topic_term is None else topic_term
        super().__init__(topics, alpha, seed)
        self.lda = lda
        self.train_theta = train_theta  # rows: every training row, from batch EM's last E-step (on disk)

    def unit_distributions(self, corpus: Iterable[Bow]) -> Iterator[np.ndarray]:
        if self.train_theta is None:
            return self.infer(corpus)
        rows = self.train_theta.rows()  # a block at a time from disk
        return (np.asarray(row, dtype=float) for row, _ in zip(rows, corpus, strict=True))

    def infer(self, bows: Iterable[Bow]) -> Iterator[np.ndarray]:
        it = iter(bows)
        while chunk := list(islice(it, base.CHUNK)):
            # Reseeded for every chunk: a unit's distribution depends only on its chunk, so
            # partitions cut at chunk boundaries (Dask) give the same numbers as one stream.
            self.lda.random_state = np.random.RandomState(self.seed)
            gamma, _ = self.lda.inference(chunk)
            yield from gamma / gamma.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        """What inference needs of gensim's model, as arrays and JSON (gensim's own
        ``save`` pickles, and embeds its temporary path and a timestamp)."""
        super().save(folder)
        lda = self.lda
        settings = {
            "num_topics": lda.num_topics,
            "num_terms": lda.num_terms,
            "iterations": lda.iterations,
            "gamma_threshold": lda.gamma_threshold,
            "dtype": np.dtype(lda.dtype).name,
        }
        (folder / GENSIM_SETTINGS).write_text(json.dumps(settings, sort_keys=True) + "\n", encoding="utf-8")
        for name, array in (("lda_alpha", lda.alpha), ("lda_eta", lda.eta), ("lda_sstats", lda.state.sstats)):
            np.save(folder / f"{name}.npy", np.asarray(array))
        np.save(folder / "lda_exp_elog_beta.npy", lda.expElogbeta)
        base.save_theta(self.train_theta, folder)

    @classmethod
    def load(cls, folder: Path, seed: int) -> GensimModel:
        """The model ``save`` wrote, rebuilt as a gensim ``LdaModel`` with the same arrays."""
        from gensim.models import LdaModel
        from gensim.utils import FakeDict

        settings = json.loads((folder / GENSIM_SETTINGS).read_text(encoding="utf-8"))

        def array(name: str) -> np.ndarray:
            # Mapped from the file, read-only: a worker forked to infer counts only the
            # pages it reads (expElogbeta), not a copy of every topics x terms array.
            return np.load(folder / f"{name}.npy", allow_pickle=False, mmap_mode="r")

        dtype = np.dtype(settings["dtype"])
        lda = LdaModel(
            id2word=FakeDict(settings["num_terms"]),  # ids only: terms live in the dictionary
            num_topics=settings["num_topics"],
            iterations=settings["iterations"],
            gamma_threshold=settings["gamma_threshold"],
            alpha=array("lda_alpha"),
            eta=array("lda_eta"),
            random_state=seed,
            dtype=dtype.type,
        )
        lda.state.sstats = array("lda_sstats")
        lda.expElogbeta = array("lda_exp_elog_beta")
        # Not read: only assign walks through the mixes, a block of rows at a time.
        return cls(lda, seed, base.load_theta(folder), array("topic_term"))


class OldModelFormat(StoreError):
    """A model folder written by a version that pickled gensim's model."""


class GensimEngine:
    name = "gensim"
    unit = "pass"
    setting = "passes"
    starts: tuple[str, ...] = ("nmf", "random")
    # A unit's mix depends only on its inference chunk (reseeded per chunk): partitions of
    # whole chunks give the same numbers in any process.
    parallel_inference = True
    seed_words = True

    def symmetric_priors(self, k: int) -> tuple[float, float]:
        return 1.0 / k, 1.0 / k  # gensim's "symmetric"

    def steps(self, spec: TrainSpec) -> int:
        return spec.passes

    def describe(self, passes: int, iterations: int, init: str) -> str:
        return f"{passes} passes, {iterations} iterations, {init} start"

    def train(
        self, spec: TrainSpec, corpus: Any, terms: Terms, ex: Executor, on_step: OnStep
    ) -> tuple[TopicModel, TrainLog]:
        return train(spec, corpus, terms, ex, on_step)

    def load(self, folder: Path, seed: int) -> TopicModel:
        if not (folder / GENSIM_SETTINGS).exists():
            # Never unpickled: a pickle can run code when it is read.
            raise OldModelFormat(
                "written by an older version that pickled the model, which is not read; "
                "retrain with `pipeline run --from train --force`"
            )
        return GensimModel.load(folder, seed)


ENGINE = GensimEngine()


# -- training -------------------------------------------------------------------------


class _GensimLog(logging.Handler):
    """Reads gensim's log: the end of each pass (with the sample's perplexity where it is
    measured, else seen as the next pass starts) and convergence counts."""

    def __init__(self, passes: int, measured: bool, on_pass: OnStep) -> None:
        super().__init__(logging.DEBUG)
        self.passes = passes
        self.measured = measured
        self.on_pass = on_pass
        self.pass_ = 0
        self.converged = [0, 0]  # in the current chunk

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if m := _PASS.match(msg):
            self.converged = [0, 0]
            pass_ = int(m.group(1))
            if pass_ != self.pass_ and not self.measured:
                self.on_pass(TrainStep("pass", pass_, self.passes))
            self.pass_ = pass_
        elif m := _CONVERGED.match(msg):
            self.converged[0] += int(m.group(1))
            self.converged[1] += int(m.group(2))
        elif m := _EPOCH.match(msg):
            done = int(m.group(1)) + 1
            self.on_pass(TrainStep("pass", done, self.passes, float(m.group(2)), done))

    def finished(self) -> None:
        if not self.measured:
            self.on_pass(TrainStep("pass", self.passes, self.passes))


@contextlib.contextmanager
def _learned_eta_reaches_topics(lda: Any) -> Iterator[None]:
    """While training, hand every learned eta to the topics.

    gensim 4.4 learns eta (``update_eta``) but leaves the topics' own copy
    (``state.eta``, which ``get_lambda`` adds to the counts) at its starting value, so
    eta=auto would not change the topics. The override lives on the instance for the
    training only, so the saved model is plain gensim.
    """
    learn = lda.update_eta

    def update_eta(lambdat: np.ndarray, rho: float) -> np.ndarray:
        lda.state.eta = learn(lambdat, rho)
        return lda.state.eta

    lda.update_eta = update_eta
    try:
        yield
    finally:
        del lda.update_eta


def start_from(lda: Any, topics: np.ndarray) -> None:
    """Set an untrained gensim model's topics to ``topics`` (K x V expected counts)."""
    lda.state.sstats[...] = topics
    lda.sync_state()


def train(
    spec: TrainSpec, corpus: Any, terms: Terms, ex: Executor, on_pass: OnStep
) -> tuple[TopicModel, TrainLog]:
    from gensim.models import LdaModel
    from gensim.utils import FakeDict

    eta: Any = (
        spec.eta_prior if spec.eta_prior is not None else (None if spec.eta == "symmetric" else spec.eta)
    )
    batch = spec.update_every == 0
    lda = LdaModel(
        id2word=FakeDict(len(terms)),  # ids only: training never needs the terms' text
        num_topics=spec.num_topics,
        passes=spec.passes,
        iterations=spec.iterations,
        alpha=spec.alpha,
        eta=eta,
        chunksize=spec.chunksize,
        update_every=spec.update_every,
        random_state=spec.seed,
        eval_every=None,
        # Online learning only: gensim's schedule shrinks each step to 1/sqrt(pass).
        decay=0.5,
    )
    # Built without a corpus, then trained: the same as passing the corpus, with the
    # starting topics set in between.
    source = em.RowSource.of(corpus)
    if spec.init == "nmf":
        k, seed = spec.num_topics, spec.seed
        start_from(lda, nmf.nmf_topics(source, len(terms), k, seed, spec.documents, spec.eta_prior, ex))
    log = TrainLog()
    mixes = None
    with _learned_eta_reaches_topics(lda) if spec.eta == "auto" else contextlib.nullcontext():
        if batch:
            mixes = _train_batch(lda, source, spec, ex, on_pass, log)
        else:
            rows = np.flatnonzero(spec.eval_rows) if spec.eval_rows is not None else np.zeros(0, dtype=int)
            sample = [list(zip(i.tolist(), c.tolist(), strict=True)) for i, c in source.read_rows(rows)]
            _train_online(lda, corpus, sample, spec.passes, on_pass, log)
    return GensimModel(lda, spec.seed, mixes), log


def _train_batch(
    lda: Any, source: em.RowSource, spec: TrainSpec, ex: Executor, on_pass: OnStep, log: TrainLog
) -> ArrayRows | None:
    """Full variational EM: every pass replaces the topics with what the whole corpus says,
    its E-step spread over the executor (``pipeline.em``). The last E-step's mixes go to
    ``spec.mixes_to`` as each partition's arrive; what was written, if asked for."""

    def passed(done: int, perplexity: list[float]) -> None:
        latest = perplexity[-1] if perplexity else None
        on_pass(TrainStep("pass", done, spec.passes, latest, len(perplexity) or None))

    keep = spec.mixes_to is not None and spec.passes > 0
    with (
        write_rows(spec.mixes_to / base.THETA, (len(source), lda.num_topics), np.float32)
        if keep and spec.mixes_to is not None
        else contextlib.nullcontext()
    ) as mixes:
        trained = em.train(lda, source, ex, spec.passes, spec.seed, spec.eval_rows, mixes, passed)
    log.perplexity, log.converged_share = trained.perplexity, trained.converged_share
    return base.load_theta(spec.mixes_to) if keep and spec.mixes_to is not None else None


def _train_online(
    lda: Any, corpus: Any, sample: list[Bow], passes: int, on_pass: OnStep, log: TrainLog
) -> None:
    """gensim's own online training, in this process; per-pass perplexity and convergence
    read from its log."""
    from gensim.models.callbacks import PerplexityMetric

    lda.callbacks = [PerplexityMetric(corpus=sample, logger="shell")] if sample else None
    logger = logging.getLogger("gensim.models.ldamodel")
    handler = _GensimLog(passes, bool(sample), on_pass)
    old = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # gensim's chatter stays off the user's screen
    try:
        lda.update(corpus)
        handler.finished()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]
        lda.callbacks = None
    done, total = handler.converged
    if total:
        log.converged_share = done / total
    log.perplexity = [float(p) for p in getattr(lda, "metrics", {}).get("Perplexity", [])]
