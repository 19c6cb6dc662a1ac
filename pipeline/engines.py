"""Topic-model engines behind one contract: gensim variational LDA and tomotopy Gibbs LDA.

Both train on the bag-of-words corpus built with the gensim ``Dictionary`` and give a
``TopicModel``: topic-term distributions in dictionary id order, the document-topic
prior, per-unit distributions and inference for new text. Everything downstream
(assign, report, the measures) uses only this contract, so it is engine-blind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import em
from pipeline.errors import StoreError
from pipeline.executor import Executor

Bow = list[tuple[int, int]]
CHUNK = 2000
_PASS = re.compile(r"PROGRESS: pass (\d+),")
_CONVERGED = re.compile(r"(\d+)/(\d+) documents converged")
_EPOCH = re.compile(r"Epoch (\d+): Perplexity estimate: (\S+)")  # gensim's PerplexityMetric, logged


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
    init: str = "nmf"  # gensim: starting topics, nmf or random
    documents: np.ndarray | None = None  # each corpus row's document number, for the nmf start
    eta_prior: np.ndarray | None = None  # K x V, from seed words
    eval_rows: np.ndarray | None = None  # mask over the corpus rows: units for per-pass perplexity
    keep_mixes: bool = False  # gensim batch EM: keep every unit's mix from the last E-step


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
    """How far training is, told as each pass (gensim) or step of ``TOMOTOPY_STEP``
    sampling iterations (tomotopy) ends: ``done`` of ``total`` ``unit``, and the latest
    perplexity of the evaluation units, that of the topics after ``unit`` ``after``
    (gensim's batch EM measures a pass's topics in the next pass's E-step)."""

    unit: str  # "pass" or "iteration"
    done: int
    total: int
    perplexity: float | None = None
    after: int | None = None


OnStep = Callable[[TrainStep], None]


def _quiet(step: TrainStep) -> None: ...


class TopicModel:
    """A trained model: ``topic_term`` (K x V, rows sum to 1) and ``alpha`` (K)."""

    engine = "base"
    train_theta: np.ndarray | None = None  # the training units' mixes, where training gave them

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
        np.save(folder / "topic_term.npy", self.topic_term)
        np.save(folder / "alpha.npy", self.alpha)
        (folder / "engine.json").write_text(
            json.dumps({"engine": self.engine, "seed": self.seed, "num_topics": self.num_topics}) + "\n",
            encoding="utf-8",
        )


GENSIM_SETTINGS = "lda.json"


class GensimModel(TopicModel):
    engine = "gensim"

    def __init__(self, lda: Any, seed: int, train_theta: np.ndarray | None = None) -> None:
        alpha = np.asarray(lda.alpha, dtype=float)
        super().__init__(lda.get_topics().astype(np.float64), alpha, seed)
        self.lda = lda
        self.train_theta = train_theta  # rows: every corpus row, from batch EM's last E-step

    def unit_distributions(self, corpus: Iterable[Bow]) -> Iterator[np.ndarray]:
        if self.train_theta is None:
            return self.infer(corpus)
        return (np.asarray(row, dtype=float) for row, _ in zip(self.train_theta, corpus, strict=True))

    def infer(self, bows: Iterable[Bow]) -> Iterator[np.ndarray]:
        it = iter(bows)
        while chunk := list(islice(it, CHUNK)):
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
        if self.train_theta is not None:
            np.save(folder / "train_theta.npy", self.train_theta)

    @classmethod
    def load(cls, folder: Path, seed: int) -> GensimModel:
        """The model ``save`` wrote, rebuilt as a gensim ``LdaModel`` with the same arrays."""
        from gensim.models import LdaModel

        settings = json.loads((folder / GENSIM_SETTINGS).read_text(encoding="utf-8"))

        def array(name: str) -> np.ndarray:
            return np.load(folder / f"{name}.npy", allow_pickle=False)

        dtype = np.dtype(settings["dtype"])
        lda = LdaModel(
            id2word=dict.fromkeys(range(settings["num_terms"]), ""),  # ids only: terms live in the dictionary
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
        theta = folder / "train_theta.npy"
        # Mapped, not read: only assign walks through the mixes, row by row.
        mixes = np.load(theta, mmap_mode="r", allow_pickle=False) if theta.exists() else None
        return cls(lda, seed, mixes)


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
        while chunk := list(islice(it, CHUNK)):
            docs = [self.mdl.make_doc(_words(b, self.id2token)) for b in chunk if b]
            dists = iter(self.mdl.infer(docs, iterations=200, workers=1)[0] if docs else [])
            for b in chunk:
                yield np.asarray(next(dists), dtype=float) if b else prior

    def save(self, folder: Path) -> None:
        super().save(folder)
        self.mdl.save(str(folder / "tomotopy.bin"), full=False)
        np.save(folder / "train_theta.npy", self.train_theta)
        (folder / "id2token.json").write_text(json.dumps(self.id2token, ensure_ascii=False), encoding="utf-8")


def _words(bow: Bow, id2token: dict[int, str]) -> list[str]:
    return [id2token[i] for i, n in bow for _ in range(int(n))]


class OldModelFormat(StoreError):
    """A model folder written by a version that pickled gensim's model."""


def load_model(folder: Path) -> TopicModel:
    info = json.loads((folder / "engine.json").read_text(encoding="utf-8"))
    if info["engine"] == "gensim":
        if not (folder / GENSIM_SETTINGS).exists():
            # Never unpickled: a pickle can run code when it is read.
            raise OldModelFormat(
                "written by an older version that pickled the model, which is not read; "
                "retrain with `pipeline run --from train --force`"
            )
        return GensimModel.load(folder, info["seed"])
    import tomotopy as tp

    mdl = tp.LDAModel.load(str(folder / "tomotopy.bin"))
    id2token = {
        int(k): v for k, v in json.loads((folder / "id2token.json").read_text(encoding="utf-8")).items()
    }
    return TomotopyModel(mdl, id2token, info["seed"], np.load(folder / "train_theta.npy", allow_pickle=False))


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


START_SAMPLE = 20000  # most documents (or units) factorised for the nmf start: bounds its memory


def nmf_topics(
    corpus: Iterable[Bow] | em.RowSource,
    num_terms: int,
    k: int,
    seed: int,
    documents: np.ndarray | None = None,
    eta_prior: np.ndarray | None = None,
    ex: Executor | None = None,
) -> np.ndarray:
    """Starting topic-term counts (K x V) from a seeded NMF of the documents' tf-idf matrix.

    gensim starts from near-uniform random topics; on short units variational EM then
    settles in poor optima (topics that mix every theme). A factorisation of the tf-idf
    matrix finds distinct themes first, and EM on the units refines them into LDA topics.
    ``documents`` gives each corpus row's document: rows are pooled per document, as
    themes show in which words share a document, not only a paragraph. Each topic gets
    the corpus tokens the factorisation gives it, so the start weighs like one pass.
    With seed words, the components are matched to the seeded topics so that each seeded
    topic starts from the component that leans most towards its words.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfTransformer

    counts, tokens = _start_matrix(corpus, num_terms, k, documents, ex)
    tfidf = TfidfTransformer().fit_transform(counts)
    # NNDSVD needs at least K rows and columns; a random start serves smaller matrices.
    start = "nndsvdar" if k <= min(counts.shape) else "random"
    nmf = NMF(n_components=k, init=start, random_state=seed, max_iter=200)
    with warnings.catch_warnings():
        # A start needs distinct themes, not a converged factorisation.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = nmf.fit_transform(tfidf)
    components = nmf.components_ + 1e-12
    components /= components.sum(axis=1, keepdims=True)
    share = weights.sum(axis=0) + 1e-12
    topics = components * (share / share.sum() * tokens)[:, None]
    if eta_prior is not None:
        from scipy.optimize import linear_sum_assignment

        _, order = linear_sum_assignment(-(eta_prior @ components.T))
        topics = topics[order]
    return np.asarray(topics)


@dataclass
class _StartScan:
    source: em.RowSource
    groups: np.ndarray  # each row's group (document or unit)
    stride: int  # groups kept: every stride-th


Entries = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def _start_rows(part: tuple[int, int, int], scan: _StartScan) -> Entries:
    """One partition's entries of the sampled groups, as (row, column, count); and its tokens."""
    _, start, end = part
    docs = scan.source.read(start, end)
    groups = scan.groups[start:end]
    if scan.source.mask is not None:
        groups = groups[scan.source.mask[start:end]]
    kept = [(int(g) // scan.stride, d) for g, d in zip(groups, docs, strict=True) if g % scan.stride == 0]
    none = np.zeros(0, dtype=np.int64)
    r = np.concatenate([np.full(len(ids), row, dtype=np.int64) for row, (ids, _) in kept] or [none])
    c = np.concatenate([ids for _, (ids, _) in kept] or [none])
    v = np.concatenate([counts for _, (_, counts) in kept] or [none]).astype(np.float64)
    return r, c, v, float(sum(float(counts.sum()) for _, counts in docs))


def _start_matrix(
    corpus: Iterable[Bow] | em.RowSource,
    num_terms: int,
    k: int,
    documents: np.ndarray | None,
    ex: Executor | None = None,
) -> tuple[Any, float]:
    """The term counts to factorise (documents, or units if there are fewer documents than
    topics), an evenly spaced sample of at most START_SAMPLE of them; and the corpus tokens.
    The corpus is read partition by partition on ``ex``."""
    from scipy import sparse

    from pipeline.executor import LocalExecutor

    source = corpus if isinstance(corpus, em.RowSource) else em.RowSource.of(corpus)
    rows = len(source)
    if documents is not None and len(documents) != rows:
        raise ValueError(f"{len(documents)} document numbers for {rows} corpus rows")
    chosen = documents if documents is not None and documents.max() + 1 >= k else np.arange(rows)
    n_groups = int(chosen.max()) + 1
    stride = -(-n_groups // START_SAMPLE)
    groups = chosen
    if source.mask is not None:  # numbered by all rows, as partitions are
        groups = np.zeros(source.rows, dtype=np.int64)
        groups[source.mask] = chosen
    scan = _StartScan(source, groups, stride)
    parts = list((ex or LocalExecutor(1)).map(_start_rows, iter(source.partitions()), scan))
    r, c, v = (np.concatenate([p[i] for p in parts]) for i in range(3))
    tokens = sum(p[3] for p in parts)
    shape = (-(-n_groups // stride), num_terms)
    return sparse.csr_matrix((v, (r, c)), shape=shape), tokens


def start_from(lda: Any, topics: np.ndarray) -> None:
    """Set an untrained gensim model's topics to ``topics`` (K x V expected counts)."""
    lda.state.sstats[...] = topics
    lda.sync_state()


def train_gensim(
    spec: TrainSpec,
    corpus: Any,
    dictionary: Any,
    ex: Executor,
    on_pass: OnStep = _quiet,
) -> tuple[TopicModel, TrainLog]:
    from gensim.models import LdaModel

    eta: Any = (
        spec.eta_prior if spec.eta_prior is not None else (None if spec.eta == "symmetric" else spec.eta)
    )
    batch = spec.update_every == 0
    lda = LdaModel(
        id2word=dictionary,
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
        start_from(lda, nmf_topics(source, len(dictionary), k, seed, spec.documents, spec.eta_prior, ex))
    log = TrainLog()
    mixes = None
    with _learned_eta_reaches_topics(lda) if spec.eta == "auto" else contextlib.nullcontext():
        if batch:
            # Full variational EM: every pass replaces the topics with what the whole
            # corpus says, its E-step spread over the executor (pipeline.em).
            def passed(done: int, perplexity: list[float]) -> None:
                latest = perplexity[-1] if perplexity else None
                on_pass(TrainStep("pass", done, spec.passes, latest, len(perplexity) or None))

            trained = em.train(
                lda, source, ex, spec.passes, spec.seed, spec.eval_rows, spec.keep_mixes, passed
            )
            log.perplexity, log.converged_share = trained.perplexity, trained.converged_share
            mixes = trained.mixes
        else:
            rows = np.flatnonzero(spec.eval_rows) if spec.eval_rows is not None else np.zeros(0, dtype=int)
            sample = [list(zip(i.tolist(), c.tolist(), strict=True)) for i, c in source.read_rows(rows)]
            _train_online(lda, corpus, sample, spec.passes, on_pass, log)
    return GensimModel(lda, spec.seed, mixes), log


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


def train_tomotopy(
    spec: TrainSpec,
    corpus: Any,
    dictionary: Any,
    ex: Executor,
    on_pass: OnStep = _quiet,
) -> tuple[TopicModel, TrainLog]:
    import tomotopy as tp

    id2token = {i: t for t, i in dictionary.token2id.items()}
    alpha = 0.1 if not isinstance(spec.alpha, float) else spec.alpha
    eta = 0.01 if not isinstance(spec.eta, float) else spec.eta
    mdl = tp.LDAModel(k=spec.num_topics, alpha=alpha, eta=eta, seed=spec.seed)
    if spec.eta_prior is not None:
        for w in np.flatnonzero((spec.eta_prior != spec.eta_prior.min()).any(axis=0)):
            mdl.set_word_prior(id2token[int(w)], [float(x) for x in spec.eta_prior[:, w]])
    n_docs = 0
    for bow in corpus:
        if bow:
            mdl.add_doc(_words(bow, id2token))
            n_docs += 1
    # Hyperparameter optimisation learns an asymmetric alpha, as gensim's alpha=auto does.
    mdl.optim_interval = 10 if spec.alpha in ("auto", "asymmetric") else 0
    mdl.burn_in = min(100, spec.iterations // 5)
    log = TrainLog()
    done = 0
    for _ in range(progress_steps(spec)):
        n = min(TOMOTOPY_STEP, spec.iterations - done)
        mdl.train(n, workers=1)
        done += n
        log.perplexity.append(float(mdl.perplexity))
        on_pass(TrainStep("iteration", done, spec.iterations, log.perplexity[-1], done))
    theta = np.array([doc.get_topic_dist() for doc in mdl.docs], dtype=np.float32).reshape(
        n_docs, spec.num_topics
    )
    return TomotopyModel(mdl, id2token, spec.seed, theta), log


ENGINES = {"gensim": train_gensim, "tomotopy": train_tomotopy}
TOMOTOPY_STEP = 50  # sampling iterations between perplexity readings


def progress_total(spec: TrainSpec) -> tuple[str, int]:
    """What training counts as it goes, and to how many: passes (gensim) or iterations."""
    return ("iteration", spec.iterations) if spec.engine == "tomotopy" else ("pass", spec.passes)


def progress_steps(spec: TrainSpec) -> int:
    """How many times training reports: once a pass for gensim, once a step for tomotopy."""
    if spec.engine == "tomotopy":
        return max(1, -(-spec.iterations // TOMOTOPY_STEP))
    return spec.passes


def train(
    spec: TrainSpec,
    corpus: Any,
    dictionary: Any,
    ex: Executor,
    on_pass: OnStep = _quiet,
) -> tuple[TopicModel, TrainLog]:
    """Train one model; gensim's batch EM spreads its E-steps over ``ex``. ``on_pass``
    hears how far training is, once a pass (``progress_steps`` times in all)."""
    model, log = ENGINES[spec.engine](spec, corpus, dictionary, ex, on_pass)
    log.warnings.extend(convergence_warnings(spec, log))
    return model, log


def convergence_warnings(spec: TrainSpec, log: TrainLog) -> list[str]:
    out = []
    if log.converged_share is not None and log.converged_share < 0.9:
        out.append(
            f"only {log.converged_share:.0%} of units converged in the last pass within "
            f"model.iterations={spec.iterations}; raise model.iterations"
        )
    p = log.perplexity
    if len(p) >= 2 and p[-2] > 0 and (p[-2] - p[-1]) / p[-2] > 0.01:
        what = "model.passes" if spec.engine == "gensim" else "model.iterations"
        out.append(
            f"perplexity still fell {100 * (p[-2] - p[-1]) / p[-2]:.1f}% in the last "
            f"{'pass' if spec.engine == 'gensim' else 'step'}; raise {what}"
        )
    return out
