"""Batch variational EM for gensim's LDA, with the E-step spread over the executor.

Batch EM is parallel by nature: each unit's E-step depends only on that unit and the
current topics, and the M-step needs only the sum of the units' sufficient statistics
(as in gensim's distributed mode and Spark MLlib's LDA). The corpus is cut into
partitions of a fixed number of rows; each partition's variational start is seeded
from (seed, pass, partition), and the statistics are summed in partition order. The
result is therefore the same however many workers ran the partitions, and where.

The E-step is gensim's own (``LdaModel.inference``: Hoffman's online-LDA updates with
the Lee-Seung trick), on compact arrays, and the M-step is gensim's ``do_mstep`` at
rho = 1 (its arithmetic, in ``_mstep``), so the model stays a plain gensim ``LdaModel``.
While the workers run a pass, the run's process holds the topics' expElogbeta, not
their statistics: a forked worker would count them again. A learned alpha is updated
once a pass from all units' E[log theta] (gensim updates it after each chunk, in chunk
order).

Two things come out of the E-steps without a pass of their own:

- the perplexity of an evaluation sample of units after each pass: gensim's variational
  bound (``LdaModel.bound``, per word, as ``log_perplexity`` scales it), its units' terms
  summed in the E-step that follows the pass, which uses those topics; the last pass's
  in an E-step of the sample alone, spread over the executor too;
- each unit's topic mix (normalised gamma) from the last pass's E-step, so that assign
  need not infer the units again. Those mixes are inferred with the topics the last
  pass started from, the ones its M-step then refined. Each partition's mixes are
  written to disk as they arrive (an ``ArrayWriter``), never gathered in memory: at a
  million units and K=50 they would be 200 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipeline.artifacts import ArrayWriter, Doc, read_corpus_rows, read_corpus_rows_at
from pipeline.executor import Executor

SCORE_ROWS = 500  # rows of the evaluation sample scored a task after the last pass
PARTITION_ROWS = 2000  # corpus rows a partition: fixed, so results do not depend on the workers


@dataclass
class RowSource:
    """The bag-of-words corpus, readable by row ranges in any process.

    Either the Matrix Market file on disk (``path`` and its row ``index``, so that a
    worker on any machine that sees the file reads its own rows) or, for a corpus held
    in memory, the rows themselves. ``mask`` keeps some rows (a sweep's training share).
    """

    rows: int
    path: str | None = None
    index: np.ndarray | None = None  # byte offset of each row's first entry, -1 for an empty row
    end: int = 0  # the file's size
    docs: list[Doc] | None = None
    mask: np.ndarray | None = None

    @classmethod
    def of(cls, corpus: Any, mask: np.ndarray | None = None) -> RowSource:
        inner = getattr(corpus, "corpus", None)
        if inner is not None and getattr(corpus, "mask", None) is not None:  # a Subset
            return cls.of(inner, corpus.mask if mask is None else mask)
        path = getattr(corpus, "input", None)
        index = getattr(corpus, "index", None)
        if isinstance(path, str) and index is not None:
            import os

            return cls(len(index), path, np.asarray(index), os.path.getsize(path), mask=mask)
        docs = [_arrays(bow) for bow in corpus]
        return cls(len(docs), docs=docs, mask=mask)

    def __len__(self) -> int:
        return self.rows if self.mask is None else int(self.mask.sum())

    def nonempty(self) -> np.ndarray:
        """Which rows hold tokens (ignoring the mask), without reading the rows from disk."""
        if self.index is not None:
            # An empty row's offset is -1, or the file's end if it is the last row.
            return np.asarray((self.index >= 0) & (self.index < self.end))
        assert self.docs is not None
        return np.array([len(ids) > 0 for ids, _ in self.docs], dtype=bool)

    def partitions(self) -> list[tuple[int, int, int]]:
        """(partition number, first row, end row), in order."""
        size = PARTITION_ROWS
        return [(n, s, min(s + size, self.rows)) for n, s in enumerate(range(0, self.rows, size))]

    def read(self, start: int, end: int) -> list[Doc]:
        """The kept rows in [start, end), as (ids, counts) arrays."""
        if self.docs is not None:
            docs = self.docs[start:end]
        else:
            assert self.index is not None and self.path is not None
            docs = read_corpus_rows(self.path, self.index, self.end, start, end)
        if self.mask is None:
            return docs
        return [d for d, keep in zip(docs, self.mask[start:end], strict=True) if keep]

    def read_rows(self, rows: np.ndarray) -> list[Doc]:
        """The rows numbered ``rows`` (ascending, ignoring the mask)."""
        if self.docs is not None:
            return [self.docs[int(r)] for r in rows]
        assert self.index is not None and self.path is not None
        return read_corpus_rows_at(self.path, self.index, self.end, rows)


def _arrays(bow: Iterable[tuple[int, float]]) -> Doc:
    pairs = list(bow)
    return (
        np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs)),
        np.fromiter((c for _, c in pairs), dtype=np.float64, count=len(pairs)),
    )


@dataclass
class EStep:
    """What every partition's E-step needs: the topics of this pass, the prior, the settings."""

    source: RowSource
    exp_elogbeta: np.ndarray  # K x V
    alpha: np.ndarray
    iterations: int
    gamma_threshold: float
    seed: int
    pass_: int
    collect: bool = True  # sufficient statistics for the M-step
    keep: bool = False  # return the units' mixes
    evaluate: np.ndarray | None = None  # rows (a mask over all rows) whose bound is summed

    @classmethod
    def of(cls, lda: Any, source: RowSource, seed: int, pass_: int, **options: Any) -> EStep:
        """The E-step of ``source`` under the current topics and settings of ``lda``."""
        return cls(
            source, lda.expElogbeta, lda.alpha, lda.iterations, lda.gamma_threshold, seed, pass_, **options
        )


@dataclass
class Statistics:
    """One partition's contribution to the M-step, and what it measured on the way."""

    columns: np.ndarray  # the terms its units hold
    sstats: np.ndarray  # K x len(columns)
    units: int
    elogtheta: np.ndarray  # sum over its units of E[log theta], for a learned alpha
    converged: int
    mixes: np.ndarray | None  # units x K, float32, rows sum to 1
    score: float  # the bound's terms of the evaluated units
    words: float  # their tokens


def estep(part: tuple[int, int, int], step: EStep) -> Statistics:
    """gensim's E-step (``LdaModel.inference`` with collect_sstats) on one partition."""
    from gensim.matutils import dirichlet_expectation, mean_absolute_difference
    from scipy.special import gammaln, logsumexp

    number, start, end = part
    docs = step.source.read(start, end)
    scored = np.zeros(len(docs), dtype=bool)
    if step.evaluate is not None:  # a mask over all rows: of the rows read, those kept
        mask = step.source.mask
        scored = step.evaluate[start:end] if mask is None else step.evaluate[start:end][mask[start:end]]
    beta = step.exp_elogbeta
    dtype = beta.dtype
    k = beta.shape[0]
    rng = np.random.RandomState([step.seed, step.pass_, number])
    gamma = rng.gamma(100.0, 1.0 / 100.0, (len(docs), k)).astype(dtype, copy=False)
    elogtheta = dirichlet_expectation(gamma)
    exp_elogtheta = np.exp(elogtheta)
    columns = np.unique(np.concatenate([ids for ids, _ in docs])) if docs else np.zeros(0, dtype=np.int64)
    position = np.searchsorted(columns, np.arange(beta.shape[1])) if len(columns) else None
    sstats = np.zeros((k, len(columns)), dtype=dtype)
    epsilon = np.finfo(dtype).eps
    converged = 0
    score = words = 0.0
    alpha = np.asarray(step.alpha, dtype=dtype)
    for d, (ids, counts) in enumerate(docs):
        cts = counts.astype(dtype, copy=False)
        gammad = gamma[d, :]
        exp_elogthetad = exp_elogtheta[d, :]
        exp_elogbetad = beta[:, ids]
        phinorm = np.dot(exp_elogthetad, exp_elogbetad) + epsilon
        for _ in range(step.iterations):
            lastgamma = gammad
            gammad = step.alpha + exp_elogthetad * np.dot(cts / phinorm, exp_elogbetad.T)
            exp_elogthetad = np.exp(dirichlet_expectation(gammad))
            phinorm = np.dot(exp_elogthetad, exp_elogbetad) + epsilon
            if mean_absolute_difference(gammad, lastgamma) < step.gamma_threshold:
                converged += 1
                break
        gamma[d, :] = gammad
        if step.collect and len(ids):
            assert position is not None
            sstats[:, position[ids]] += np.outer(exp_elogthetad.T, cts / phinorm)
        if scored[d]:
            # gensim's LdaModel.bound, the terms of one unit
            elogthetad = dirichlet_expectation(gammad)
            with np.errstate(divide="ignore"):  # a float32 term that underflowed to 0 adds nothing
                score += float(cts @ logsumexp(elogthetad[:, None] + np.log(exp_elogbetad), axis=0))
            score += float(np.sum((alpha - gammad) * elogthetad))
            score += float(np.sum(gammaln(gammad) - gammaln(alpha)))
            score += float(gammaln(np.sum(alpha)) - gammaln(np.sum(gammad)))
            words += float(cts.sum())
    if step.collect and len(columns):
        sstats *= beta[:, columns]
    elog = dirichlet_expectation(gamma).sum(axis=0) if len(docs) else np.zeros(k)
    mixes = (gamma / gamma.sum(axis=1, keepdims=True)).astype(np.float32) if step.keep else None
    return Statistics(columns, sstats, len(docs), elog, converged, mixes, score, words)


@dataclass
class Trained:
    """What training measured: per-pass perplexity of the sample and the last pass's
    convergence."""

    perplexity: list[float]
    converged_share: float | None


def train(
    lda: Any,
    source: RowSource,
    ex: Executor,
    passes: int,
    seed: int,
    sample: np.ndarray | None = None,
    mixes_to: ArrayWriter | None = None,
    on_pass: Callable[[int, list[float]], None] = lambda done, perplexity: None,
) -> Trained:
    """``passes`` passes of batch EM on ``lda`` (a gensim ``LdaModel`` with its start set).

    ``sample`` (a mask over the rows) is the evaluation sample whose perplexity is
    tracked after every pass. ``mixes_to``, if given, receives every unit's mix from the
    last E-step, a partition at a time in row order. ``on_pass(done, perplexity)`` is
    called as each pass ends, with the perplexities measured so far (``perplexity[i]`` is
    that after pass i + 1): a pass's own comes with the next pass's E-step, the last
    pass's after it.
    """
    from gensim.models.ldamodel import LdaState, update_dir_prior

    lda.state.numdocs = len(source)  # the M-step scales the statistics to this many units
    trained = Trained([], None)
    for pass_ in range(passes):
        last = pass_ == passes - 1
        evaluate = sample if pass_ > 0 else None  # the topics of the pass before
        step = EStep.of(lda, source, seed, pass_, keep=mixes_to is not None and last, evaluate=evaluate)
        other = LdaState(lda.eta, lda.state.sstats.shape, lda.dtype)
        # The bound's topic terms under this pass's topics, then their statistics set
        # aside: the E-step needs expElogbeta alone, and the workers would count them again.
        topic_bound = float(lda.bound([])) if evaluate is not None else 0.0
        lda.state.sstats = None
        converged = 0
        elogtheta = np.zeros(lda.num_topics)
        score = words = 0.0
        # In partition order, whichever worker ran each: the sums are the same every time.
        for stats in ex.map(estep, iter(source.partitions()), step):
            other.sstats[:, stats.columns] += stats.sstats
            other.numdocs += stats.units
            converged += stats.converged
            elogtheta += stats.elogtheta
            score += stats.score
            words += stats.words
            if stats.mixes is not None and mixes_to is not None:
                mixes_to.append(stats.mixes)  # on disk as it arrives: never all in memory
        if evaluate is not None:
            trained.perplexity.append(_perplexity(score, topic_bound, words, evaluate, len(source)))
        units = other.numdocs
        if units:
            trained.converged_share = converged / units
        if lda.optimize_alpha and units:
            lda.alpha = update_dir_prior(lda.alpha, units, (elogtheta / units).astype(lda.dtype), 1.0)
        _mstep(lda, other, pass_ > 0)
        # The pass's statistics and the topics it started from (the step's expElogbeta) are
        # spent: not kept into the next fork of the workers, which would each count them.
        del step, other
        if not last:
            on_pass(pass_ + 1, trained.perplexity)
    if sample is not None and passes:
        trained.perplexity.append(_score_sample(lda, source, sample, seed, passes, ex))
    if passes:
        on_pass(passes, trained.perplexity)
    return trained


def _mstep(lda: Any, other: Any, extra_pass: bool) -> None:
    """gensim's ``LdaModel.do_mstep`` at rho = 1, batch EM's: the pass's statistics, scaled
    to the corpus's units, replace the topics. The same arithmetic as its ``blend``
    (the old statistics times 0, plus these), without the old statistics, set aside
    during the E-step, and without its log of the topics' change."""
    state = lda.state
    scale = 1.0 if other.numdocs in (0, state.numdocs) else state.numdocs / other.numdocs
    state.sstats = scale * other.sstats
    lda.sync_state(state.get_Elogbeta())
    if lda.optimize_eta:
        lda.update_eta(state.get_lambda(), 1.0)
    if not extra_pass:
        lda.num_updates += other.numdocs


def _perplexity(score: float, topic_terms: float, words: float, sample: np.ndarray, units: int) -> float:
    """2 ** -(per-word bound), the bound scaled from the sample to the corpus as gensim's
    ``log_perplexity`` does: ``score`` is the sample's own terms, ``topic_terms`` the
    bound's topic terms alone (``lda.bound([])``)."""
    n = int(sample.sum())
    if not n or not words:
        return float("nan")
    ratio = units / n
    return float(np.exp2(-(score * ratio + topic_terms) / (ratio * words)))


def _score_sample(
    lda: Any, source: RowSource, sample: np.ndarray, seed: int, pass_: int, ex: Executor
) -> float:
    """The sample's perplexity under the final topics: an E-step of the sample's rows
    alone, ``SCORE_ROWS`` of them a task on the executor."""
    rows = np.flatnonzero(sample)
    parts = ((n, rows[i : i + SCORE_ROWS]) for n, i in enumerate(range(0, len(rows), SCORE_ROWS)))
    step = EStep.of(lda, source, seed, pass_, collect=False)
    score = words = 0.0
    for part_score, part_words in ex.map(_score_rows, parts, step):
        score += part_score
        words += part_words
    return _perplexity(score, float(lda.bound([])), words, sample, len(source))


def _score_rows(part: tuple[int, np.ndarray], step: EStep) -> tuple[float, float]:
    """One part of the sample: the bound's terms of its rows, and their tokens."""
    number, rows = part
    docs = step.source.read_rows(rows)
    alone = RowSource(len(docs), docs=docs)
    scored = replace(step, source=alone, evaluate=np.ones(len(docs), dtype=bool))
    stats = estep((number, 0, len(docs)), scored)
    return stats.score, stats.words
