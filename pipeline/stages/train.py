"""train: bag-of-words corpus -> the topic model in ``model/``, seeded.

One K and one seed train one model on every unit. Several K (a list or a range) or
several seeds make a sweep: every (K, seed) model is trained on the same seeded 90%
of the units in parallel processes, scored (coherence c_v, c_npmi, u_mass; topic
diversity; held-out perplexity; stability across seeds) and written to ``sweep.csv``.
K is chosen by the rule in ``choose_k``; the seed whose topics agree best with the
other seeds' is retrained on every unit and kept.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import duplicates, em, engines, executor, measures
from pipeline.artifacts import CORPUS, DICTIONARY, MODEL, SWEEP, TRAINING, RunStore
from pipeline.config import Config
from pipeline.errors import ConfigError, DataError
from pipeline.executor import Executor
from pipeline.samples import Subset, coherence_texts, document_numbers
from pipeline.stages.base import Counts, Progress, Stage

log = logging.getLogger(__name__)

EVAL_SAMPLE = 2000  # units whose perplexity is tracked pass by pass
SWEEP_COLUMNS = ["k", "seed", "c_v", "c_npmi", "u_mass", "diversity", "perplexity", "stability"]


def spec_for(config: Config, k: int, seed: int, dictionary: Any) -> engines.TrainSpec:
    m = config.model
    return engines.TrainSpec(
        engine=m.engine,
        num_topics=k,
        seed=seed,
        passes=m.passes,
        iterations=m.iterations,
        alpha=m.alpha,
        eta=m.eta,
        chunksize=m.chunksize,
        update_every=m.update_every,
        init=m.init,
        eta_prior=seed_prior(config, k, dictionary),
    )


def seed_prior(config: Config, k: int, dictionary: Any) -> np.ndarray | None:
    """An eta matrix (K x V) in which each seed word leans towards its topic.

    A seed word's prior in its topic is ``model.seed_strength`` times the average term
    count (tokens / vocabulary), so it weighs like real occurrences whatever the corpus
    size; in the other topics it is a hundredth of the usual eta.
    """
    m = config.model
    if not m.seed_words:
        return None
    _, default = engines.get(m.engine).symmetric_priors(k)  # each engine's own symmetric eta
    base = m.eta if isinstance(m.eta, float) else default
    strength = m.seed_strength * max(1.0, dictionary.num_pos / max(1, len(dictionary)))
    eta = np.full((k, len(dictionary)), base)
    for topic, words in enumerate(m.seed_words):
        missing = [w for w in words if w not in dictionary.token2id]
        if missing:
            log.warning(
                "model.seed_words[%d]: not in the dictionary, so they cannot anchor topic %d: %s "
                "(check tokenize and dictionary filters)",
                topic,
                topic,
                ", ".join(missing),
            )
        for w in words:
            if w in dictionary.token2id:
                col = dictionary.token2id[w]
                eta[:, col] = base * 0.01
                eta[topic, col] = strength
    return eta


# -- one sweep job, run on the executor --------------------------------------------


@dataclass
class SweepData:
    """What every sweep job shares: the config, the corpus and its split, the texts."""

    config: Config
    dictionary: Any
    corpus: Any
    train_rows: np.ndarray
    heldout_rows: np.ndarray
    texts: list[list[str]]
    documents: np.ndarray | None


@dataclass
class JobResult:
    k: int
    seed: int
    phi: np.ndarray
    scores: dict[str, float | None]


@dataclass(frozen=True)
class JobStep:
    """How far one sweep job's training is, sent from whichever process runs the job."""

    k: int
    seed: int
    step: engines.TrainStep


def _run_job(job: tuple[int, int], data: SweepData) -> JobResult:
    """One (K, seed) model of a sweep, trained in whichever process runs the job (its
    E-steps in that process: the jobs themselves are what runs in parallel)."""
    k, seed = job
    spec = spec_for(data.config, k, seed, data.dictionary)
    if data.documents is not None:
        spec.documents = data.documents[data.train_rows]
    corpus, dct = data.corpus, data.dictionary
    unit, total = engines.progress_total(spec)
    executor.notify(JobStep(k, seed, engines.TrainStep(unit, 0, total)))  # its bar counts from now
    model, _ = engines.train(
        spec,
        Subset(corpus, data.train_rows),
        dct,
        executor.LocalExecutor(1),
        lambda step: executor.notify(JobStep(k, seed, step)),
    )
    top = [
        [t for t, _ in ts]
        for ts in measures.ranked_terms(model.topic_term, dct.id2token, measures.SCORED_TERMS)
    ]
    scores: dict[str, float | None] = {}
    for measure in ("c_v", "c_npmi", "u_mass"):
        values = [v for v in measures.coherence(top, data.texts, dct, measure) if v is not None]
        scores[measure] = float(np.mean(values)) if values else None
    scores["diversity"] = measures.topic_diversity(model.topic_term)
    scores["perplexity"] = heldout_perplexity(model, Subset(corpus, data.heldout_rows))
    return JobResult(k, seed, model.topic_term, scores)


def heldout_perplexity(model: engines.TopicModel, heldout: Subset) -> float | None:
    """exp(-log-likelihood per token) of held-out units, each under its inferred mixture."""
    ll, n = 0.0, 0
    for bow, theta in zip(heldout, model.infer(heldout), strict=True):
        ids = np.array([i for i, _ in bow])
        counts = np.array([c for _, c in bow], dtype=float)
        p = theta @ model.topic_term[:, ids]
        ll += float((counts * np.log(np.maximum(p, 1e-300))).sum())
        n += int(counts.sum())
    return math.exp(-ll / n) if n else None


def choose_k(rows: list[dict[str, Any]]) -> tuple[int, str]:
    """The K with the best sum of min-max-scaled mean NPMI, diversity and (if seeds > 1) stability.

    Perplexity is reported but not used: on held-out text it keeps falling as K grows.
    Ties go to the smaller K.
    """
    ks = sorted({r["k"] for r in rows})
    keys = ["c_npmi", "diversity"] + (["stability"] if any(r["stability"] is not None for r in rows) else [])
    means = {
        key: np.array(
            [np.mean([r[key] for r in rows if r["k"] == k and r[key] is not None] or [np.nan]) for k in ks]
        )
        for key in keys
    }
    total = np.zeros(len(ks))
    for v in means.values():
        span = np.nanmax(v) - np.nanmin(v)
        total += np.nan_to_num((v - np.nanmin(v)) / span if span > 0 else np.zeros_like(v))
    best = int(np.argmax(total))  # argmax takes the first, i.e. smallest, K on ties
    parts = ", ".join(f"{key} {means[key][best]:.3f}" for key in keys)
    reason = (
        f"K={ks[best]} has the best sum of scaled mean {' + '.join(keys)} ({parts}) over K={ks[0]}..{ks[-1]}"
    )
    return ks[best], reason


def _sweep(
    config: Config,
    corpus: Any,
    dct: Any,
    texts: list[list[str]],
    documents: np.ndarray | None,
    nonempty: np.ndarray,
    progress: Progress,
    ex: Executor,
) -> dict[str, Any]:
    rng = np.random.RandomState(config.run.seed)
    train_mask = rng.random_sample(len(nonempty)) >= config.model.heldout
    jobs = [(k, config.run.seed + s) for k in config.model.k_values() for s in range(config.model.seeds)]
    data = SweepData(
        config=config,
        dictionary=dct,
        corpus=corpus,
        train_rows=train_mask & nonempty,  # units without tokens are neither trained on nor held out
        heldout_rows=~train_mask & nonempty,
        texts=texts,
        documents=documents,
    )
    results: list[JobResult] = []
    with progress.task(len(jobs), "sweep", "models") as update, _JobProgress(progress, config) as shown:
        for i, result in enumerate(ex.map(_run_job, iter(jobs), data, on_event=shown.step)):
            results.append(result)
            shown.finished(result.k, result.seed)
            update(i + 1)
    rows: list[dict[str, Any]] = []
    best_seed: dict[int, int] = {}
    for k in config.model.k_values():
        at_k = [r for r in results if r.k == k]
        ref, _ = measures.stability([r.phi for r in at_k])
        best_seed[k] = at_k[ref].seed
        for r in at_k:
            stab = None
            if len(at_k) > 1:
                others = [o.phi for o in at_k if o is not r]
                stab = float(np.mean([measures.match_topics(r.phi, o)[1].mean() for o in others]))
            rows.append({"k": k, "seed": r.seed, **r.scores, "stability": stab})
    chosen, reason = (
        choose_k(rows)
        if len(config.model.k_values()) > 1
        else (config.model.k_values()[0], f"K={config.model.k_values()[0]} is the only K asked for")
    )
    return {
        "rows": rows,
        "k": chosen,
        "seed": best_seed[chosen],
        "reason": reason,
        "phis": [r.phi for r in results if r.k == chosen],
    }


def step_facts(step: engines.TrainStep) -> dict[str, str]:
    """What a training step shows beside its count: the latest perplexity, and the pass
    it measures when that is an earlier one."""
    if step.perplexity is None:
        return {}
    late = f" ({step.unit} {step.after})" if step.after != step.done else ""
    digits = 1 if step.perplexity >= 100 else 2  # small values change in the second decimal
    return {"perplexity": f"{step.perplexity:,.{digits}f}{late}"}


def job_label(config: Config, k: int, seed: int) -> str:
    """``K=8 seed 2/3``: the model of a sweep, its seed counted among the seeds."""
    seeds = config.model.seeds
    return f"K={k}" + (f" seed {seed - config.run.seed + 1}/{seeds}" if seeds > 1 else "")


class _JobProgress:
    """Each running sweep job's passes, shown as its steps arrive (from worker processes
    too): a task a job, closed with its last step or its result."""

    def __init__(self, progress: Progress, config: Config) -> None:
        self.progress = progress
        self.config = config
        self.open: dict[tuple[int, int], tuple[ExitStack, Callable[..., None]]] = {}

    def __enter__(self) -> _JobProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for key in list(self.open):
            self.finished(*key)

    def step(self, event: object) -> None:
        if not isinstance(event, JobStep):
            return
        key, step = (event.k, event.seed), event.step
        if key not in self.open:
            stack = ExitStack()
            label = job_label(self.config, event.k, event.seed)
            update = stack.enter_context(self.progress.task(step.total, label, step.unit, throttle=False))
            self.open[key] = (stack, update)
        self.open[key][1](step.done, **step_facts(step))
        if step.done >= step.total:
            self.finished(*key)

    def finished(self, k: int, seed: int) -> None:
        if (k, seed) in self.open:
            self.open.pop((k, seed))[0].close()


def evaluation_rows(nonempty: np.ndarray) -> np.ndarray:
    """The units whose perplexity is tracked: every n-th row, of those with tokens."""
    step = max(1, math.ceil(len(nonempty) / EVAL_SAMPLE))
    rows = np.zeros(len(nonempty), dtype=bool)
    rows[::step] = True
    return rows & nonempty


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.6f}"


def left_out(
    store: RunStore, config: Config, nonempty: np.ndarray, documents: tuple[np.ndarray, dict[str, int]]
) -> tuple[np.ndarray | None, dict[str, int]]:
    """The rows training keeps (None: all) and what it leaves out: the units of
    near-duplicate documents, unless ``model.train_duplicates``."""
    keep = duplicates.training_rows(store, config.model.train_duplicates, documents)
    if keep is None:
        return None, {}
    docs = len(duplicates.read(store))
    return keep, {"documents": docs, "units": int((nonempty & ~keep).sum())}


def _train_kept(
    store: RunStore,
    spec: engines.TrainSpec,
    data: tuple[Any, engines.Terms, np.ndarray | None, np.ndarray | None],
    nonempty: np.ndarray,
    label: str,
    progress: Progress,
    ex: Executor,
) -> tuple[engines.TopicModel, engines.TrainLog]:
    """The model kept, as ``spec`` says, trained on the ``keep`` rows of the corpus (whose
    ``terms`` are the vocabulary in id order), written into the model folder as it trains."""
    corpus, terms, keep, documents = data
    spec.documents = documents if keep is None or documents is None else documents[keep]
    spec.eval_rows = evaluation_rows(nonempty)
    unit, total = engines.progress_total(spec)

    def train(folder: Path) -> tuple[engines.TopicModel, engines.TrainLog]:
        # The model folder is written as training goes: the units' mixes reach it a
        # partition at a time, never all in memory.
        spec.mixes_to = folder
        with progress.task(total, label, unit, throttle=False) as update:
            return engines.train(
                spec,
                corpus if keep is None else Subset(corpus, keep),
                terms,
                ex,
                lambda step: update(step.done, **step_facts(step)),
            )

    model, log = store.train_model(train)
    return model, log


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    dct = store.load_dictionary()
    corpus = store.load_corpus()
    nonempty = em.RowSource.of(corpus).nonempty()
    unit_docs = document_numbers(store)  # one pass over units.jsonl, for the start and the left-out
    keep, dropped = left_out(store, config, nonempty, unit_docs)
    unit_documents = unit_docs[0]  # the ids' table is spent: not kept into training's forks
    del unit_docs
    if keep is not None:
        nonempty = nonempty & keep  # a left-out unit is neither trained on nor held out
    n_units = int(nonempty.sum())
    ks = config.model.k_values()
    if max(ks) > n_units:
        k = max(ks)
        raise DataError(
            f"model.num_topics: {k} topics for {n_units} units with tokens; "
            f"use at most {n_units} (e.g. --set model.num_topics={max(2, min(n_units, 10))})"
        )
    engine = engines.get(config.model.engine)
    if config.model.seed_words and not engine.seed_words:
        raise ConfigError(
            f"{config.source}: model.seed_words: the {engine.name} engine takes one number as its "
            "topic-word prior, not seed words; remove model.seed_words, or choose another model.engine"
        )
    sweeping = len(ks) > 1 or config.model.seeds > 1
    training: dict[str, Any] = {"engine": engine.name}
    nmf_start = config.model.init == "nmf" and "nmf" in engine.starts
    documents = unit_documents if nmf_start else None
    if sweeping:
        texts = coherence_texts(store, dct, len(corpus))
        sweep = _sweep(config, corpus, dct, texts, documents, nonempty, progress, ex)
        k, seed = sweep["k"], sweep["seed"]
        training.update(chosen_k=k, chosen_seed=seed, reason=sweep["reason"])
        store.write_csv(
            SWEEP,
            SWEEP_COLUMNS,
            ([r[c] if c in ("k", "seed") else _fmt(r[c]) for c in SWEEP_COLUMNS] for r in sweep["rows"]),
        )
        log.info("sweep: %s", sweep["reason"])
    else:
        k, seed = ks[0], config.run.seed
        store.remove(SWEEP)  # a sweep table from an earlier config would describe another model
    label = f"{job_label(config, k, seed)} on every unit" if sweeping else ""
    # Training needs the terms alone (their prior, if seed words are set, is in the spec):
    # the dictionary's tables (16 MB on all of xwlb) are not kept into training's forks,
    # where each worker would count them, and the terms are packed (engines.PackedTerms).
    spec = spec_for(config, k, seed, dct)
    terms = engines.PackedTerms(dct[i] for i in range(len(dct)))
    del dct
    model, train_log = _train_kept(
        store, spec, (corpus, terms, keep, documents), nonempty, label, progress, ex
    )
    for warning in train_log.warnings:
        log.warning("train: %s", warning)
    if sweeping and config.model.seeds > 1:
        stab = np.mean([measures.match_topics(model.topic_term, phi)[1] for phi in sweep["phis"]], axis=0)
        training["topic_stability"] = [round(float(x), 4) for x in stab]
        training["mean_stability"] = round(float(stab.mean()), 4)
        log.info(
            "train: mean topic stability at K=%d over %d seeds: %.3f", k, config.model.seeds, stab.mean()
        )
    training.update(num_topics=k, seed=seed, **train_log.as_dict())
    if dropped:
        training["duplicates_left_out"] = dropped
    store.write_json(TRAINING, training)
    counts: Counts = {"topics": k, "units": n_units, "terms": len(terms), "engine": config.model.engine}
    if train_log.converged_share is not None:
        counts["converged"] = f"{train_log.converged_share:.0%}"
    if "mean_stability" in training:
        counts["mean_stability"] = training["mean_stability"]
    if sweeping:
        counts["sweep_models"] = len(sweep["rows"])
    if dropped:
        counts["duplicate_units_left_out"] = dropped["units"]
    return counts


STAGE = Stage(
    name="train",
    sections=("model", "run.seed"),
    ignore=("model.document_mix",),  # how assign mixes documents: no change to the model
    inputs=(DICTIONARY, CORPUS, "tokens.jsonl", "units.jsonl", duplicates.DUPLICATES),
    outputs=(MODEL, TRAINING),
    run=run,
)
