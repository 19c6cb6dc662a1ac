"""tomotopy's collapsed Gibbs sampling LDA. The sampler gives every training unit its
distribution; new text is inferred by sampling again.

A training unit's distribution is the mean of the sampler's states over the last
``AVERAGE_SHARE`` of the iterations, one state every ``SAMPLE_GAP`` iterations (30 states
at 1000 iterations), not its last state alone: one state of a short unit's few tokens is
noisy, and the mean estimates the posterior (Griffiths and Steyvers 2004 average samples
the same way). On 200 days of xwlb transcripts (``bench/paragraphs.py``, seeds 42-44) the
paragraph NMI rose from 0.318/0.330/0.330 to 0.323/0.336/0.338 and WindowDiff fell from
0.305 to 0.302 (medians); averaging 10 states (the last 100 iterations) gave 0.334 and
0.304. The states are summed into the model folder's mixes file as they come, a block of
units at a time. A model trained without a folder (``TrainSpec.mixes_to`` None) keeps the
last state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.artifacts import ArrayRows, write_rows
from pipeline.engines import base
from pipeline.engines.base import Bow, OnStep, Terms, TopicModel, TrainLog, TrainSpec, TrainStep, words
from pipeline.executor import Executor

STEP = 50  # sampling iterations between perplexity readings
SAMPLE_GAP = 10  # iterations between the sampler states averaged into a unit's mix
AVERAGE_SHARE = 0.3  # the last share of the iterations whose states are averaged


class TomotopyModel(TopicModel):
    engine = "tomotopy"

    def __init__(self, mdl: Any, id2token: dict[int, str], seed: int, train_theta: ArrayRows | None) -> None:
        token2id = {t: i for i, t in id2token.items()}
        topic_term = np.zeros((mdl.k, len(id2token)))
        cols = np.array([token2id[w] for w in mdl.used_vocabs])
        for k in range(mdl.k):
            topic_term[k, cols] = mdl.get_topic_word_dist(k)
        topic_term /= topic_term.sum(axis=1, keepdims=True)
        super().__init__(topic_term, np.asarray(mdl.alpha, dtype=float), seed)
        self.mdl = mdl
        self.id2token = id2token
        # Rows: the non-empty training units, in order. None only for a model just
        # trained without a folder to write them to: its sampler still holds them.
        self.train_theta = train_theta

    def unit_distributions(self, corpus: Iterable[Bow]) -> Iterator[np.ndarray]:
        # Training units keep the distribution the sampler gave them; Gibbs inference
        # again would only add noise.
        rows = self.train_theta.rows() if self.train_theta is not None else _sampled(self.mdl)
        prior = self.prior_distribution()
        for bow in corpus:
            yield next(rows).astype(float) if bow else prior

    def infer(self, bows: Iterable[Bow]) -> Iterator[np.ndarray]:
        prior = self.prior_distribution()
        it = iter(bows)
        while chunk := list(islice(it, base.CHUNK)):
            docs = [self.mdl.make_doc(words(b, self.id2token)) for b in chunk if b]
            dists = iter(self.mdl.infer(docs, iterations=200, workers=1)[0] if docs else [])
            for b in chunk:
                yield np.asarray(next(dists), dtype=float) if b else prior

    def save(self, folder: Path) -> None:
        super().save(folder)
        self.mdl.save(str(folder / "tomotopy.bin"), full=False)
        if self.train_theta is None:
            _write_theta(self.mdl, folder)
        base.save_theta(self.train_theta, folder)
        (folder / "id2token.json").write_text(json.dumps(self.id2token, ensure_ascii=False), encoding="utf-8")


class TomotopyEngine:
    name = "tomotopy"
    unit = "iteration"
    setting = "iterations"
    starts: tuple[str, ...] = ("random",)
    parallel_inference = False  # the training units' mixes come from the sampler itself
    seed_words = True

    def symmetric_priors(self, k: int) -> tuple[float, float]:
        return 0.1, 0.01  # tomotopy's defaults

    def steps(self, spec: TrainSpec) -> int:
        return max(1, -(-spec.iterations // STEP))

    def describe(self, passes: int, iterations: int, init: str) -> str:
        return f"{iterations} sampling iterations"

    def train(
        self, spec: TrainSpec, corpus: Any, terms: Terms, ex: Executor, on_step: OnStep
    ) -> tuple[TopicModel, TrainLog]:
        return train(spec, corpus, terms, on_step)

    def load(self, folder: Path, seed: int) -> TopicModel:
        import tomotopy as tp

        mdl = tp.LDAModel.load(str(folder / "tomotopy.bin"))
        id2token = {
            int(k): v for k, v in json.loads((folder / "id2token.json").read_text(encoding="utf-8")).items()
        }
        return TomotopyModel(mdl, id2token, seed, base.load_theta(folder))


ENGINE = TomotopyEngine()


def train(spec: TrainSpec, corpus: Any, terms: Terms, on_step: OnStep) -> tuple[TopicModel, TrainLog]:
    import tomotopy as tp

    id2token = {i: terms[i] for i in range(len(terms))}
    default_alpha, default_eta = ENGINE.symmetric_priors(spec.num_topics)
    alpha = spec.alpha if isinstance(spec.alpha, float) else default_alpha
    eta = spec.eta if isinstance(spec.eta, float) else default_eta
    mdl = tp.LDAModel(k=spec.num_topics, alpha=alpha, eta=eta, seed=spec.seed)
    if spec.eta_prior is not None:
        for w in np.flatnonzero((spec.eta_prior != spec.eta_prior.min()).any(axis=0)):
            mdl.set_word_prior(id2token[int(w)], [float(x) for x in spec.eta_prior[:, w]])
    for bow in corpus:
        if bow:
            mdl.add_doc(words(bow, id2token))
    # Hyperparameter optimisation learns an asymmetric alpha, as gensim's alpha=auto does.
    mdl.optim_interval = 10 if spec.alpha in ("auto", "asymmetric") else 0
    mdl.burn_in = min(100, spec.iterations // 5)
    log = TrainLog()
    marks = sample_marks(spec.iterations) if spec.mixes_to is not None else []
    total = None
    if marks and spec.mixes_to is not None:
        shape = (len(mdl.docs), mdl.k)
        total = np.lib.format.open_memmap(spec.mixes_to / base.THETA, "w+", np.float32, shape)
    done = 0
    for _ in range(ENGINE.steps(spec)):
        target = min(done + STEP, spec.iterations)
        while done < target:  # stop at each iteration whose state is averaged
            stop = min([m for m in marks if m > done] + [target])
            mdl.train(stop - done, workers=1)
            done = stop
            if total is not None and done in marks:
                _add_sampled(mdl, total)
        log.perplexity.append(float(mdl.perplexity))
        on_step(TrainStep("iteration", done, spec.iterations, log.perplexity[-1], done))
    theta = None
    if spec.mixes_to is not None:
        if total is not None:
            for start in range(0, len(total), base.CHUNK):
                block = total[start : start + base.CHUNK]
                block /= block.sum(axis=1, keepdims=True)
            total.flush()
            del total
        else:
            _write_theta(mdl, spec.mixes_to)
        theta = base.load_theta(spec.mixes_to)
    return TomotopyModel(mdl, id2token, spec.seed, theta), log


def sample_marks(iterations: int) -> list[int]:
    """The iterations after which the sampler's state is added to the units' mixes: every
    ``SAMPLE_GAP``-th of the last ``AVERAGE_SHARE`` of them, the last one always."""
    n = max(1, int(iterations * AVERAGE_SHARE) // SAMPLE_GAP)
    return [i for i in range(iterations - SAMPLE_GAP * (n - 1), iterations + 1, SAMPLE_GAP) if i > 0]


def _add_sampled(mdl: Any, total: np.ndarray) -> None:
    """Add each training unit's distribution in the sampler's current state to ``total``."""
    it = _sampled(mdl)
    start = 0
    while block := list(islice(it, base.CHUNK)):
        total[start : start + len(block)] += np.array(block)
        start += len(block)


def _sampled(mdl: Any) -> Iterator[np.ndarray]:
    """Each training unit's distribution as the sampler left it, in order (float32)."""
    return (np.asarray(doc.get_topic_dist(), dtype=np.float32) for doc in mdl.docs)


def _write_theta(mdl: Any, folder: Path) -> None:
    """The training units' distributions into ``folder`` (THETA), a block at a time."""
    with write_rows(folder / base.THETA, (len(mdl.docs), mdl.k), np.float32) as out:
        it = _sampled(mdl)
        while block := list(islice(it, base.CHUNK)):
            out.append(np.array(block))
