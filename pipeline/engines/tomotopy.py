"""tomotopy's collapsed Gibbs sampling LDA. The sampler gives every training unit its
distribution; new text is inferred by sampling again."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.engines import base
from pipeline.engines.base import Bow, OnStep, TopicModel, TrainLog, TrainSpec, TrainStep, words
from pipeline.executor import Executor

STEP = 50  # sampling iterations between perplexity readings


class TomotopyModel(TopicModel):
    engine = "tomotopy"
    train_theta: np.ndarray  # always: the sampler gives every training unit its distribution

    def __init__(self, mdl: Any, id2token: dict[int, str], seed: int, train_theta: np.ndarray) -> None:
        token2id = {t: i for i, t in id2token.items()}
        topic_term = np.zeros((mdl.k, len(id2token)))
        cols = np.array([token2id[w] for w in mdl.used_vocabs])
        for k in range(mdl.k):
            topic_term[k, cols] = mdl.get_topic_word_dist(k)
        topic_term /= topic_term.sum(axis=1, keepdims=True)
        super().__init__(topic_term, np.asarray(mdl.alpha, dtype=float), seed)
        self.mdl = mdl
        self.id2token = id2token
        self.train_theta = train_theta  # rows: the non-empty training units, in order

    def unit_distributions(self, corpus: Iterable[Bow]) -> Iterator[np.ndarray]:
        # Training units keep the distribution the sampler gave them; Gibbs inference
        # again would only add noise.
        rows = iter(self.train_theta)
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
        np.save(folder / "train_theta.npy", self.train_theta)
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
        self, spec: TrainSpec, corpus: Any, dictionary: Any, ex: Executor, on_step: OnStep
    ) -> tuple[TopicModel, TrainLog]:
        return train(spec, corpus, dictionary, on_step)

    def load(self, folder: Path, seed: int) -> TopicModel:
        import tomotopy as tp

        mdl = tp.LDAModel.load(str(folder / "tomotopy.bin"))
        id2token = {
            int(k): v for k, v in json.loads((folder / "id2token.json").read_text(encoding="utf-8")).items()
        }
        return TomotopyModel(mdl, id2token, seed, np.load(folder / "train_theta.npy", allow_pickle=False))


ENGINE = TomotopyEngine()


def train(spec: TrainSpec, corpus: Any, dictionary: Any, on_step: OnStep) -> tuple[TopicModel, TrainLog]:
    import tomotopy as tp

    id2token = {i: t for t, i in dictionary.token2id.items()}
    default_alpha, default_eta = ENGINE.symmetric_priors(spec.num_topics)
    alpha = spec.alpha if isinstance(spec.alpha, float) else default_alpha
    eta = spec.eta if isinstance(spec.eta, float) else default_eta
    mdl = tp.LDAModel(k=spec.num_topics, alpha=alpha, eta=eta, seed=spec.seed)
    if spec.eta_prior is not None:
        for w in np.flatnonzero((spec.eta_prior != spec.eta_prior.min()).any(axis=0)):
            mdl.set_word_prior(id2token[int(w)], [float(x) for x in spec.eta_prior[:, w]])
    n_docs = 0
    for bow in corpus:
        if bow:
            mdl.add_doc(words(bow, id2token))
            n_docs += 1
    # Hyperparameter optimisation learns an asymmetric alpha, as gensim's alpha=auto does.
    mdl.optim_interval = 10 if spec.alpha in ("auto", "asymmetric") else 0
    mdl.burn_in = min(100, spec.iterations // 5)
    log = TrainLog()
    done = 0
    for _ in range(ENGINE.steps(spec)):
        n = min(STEP, spec.iterations - done)
        mdl.train(n, workers=1)
        done += n
        log.perplexity.append(float(mdl.perplexity))
        on_step(TrainStep("iteration", done, spec.iterations, log.perplexity[-1], done))
    theta = np.array([doc.get_topic_dist() for doc in mdl.docs], dtype=np.float32).reshape(
        n_docs, spec.num_topics
    )
    return TomotopyModel(mdl, id2token, spec.seed, theta), log
