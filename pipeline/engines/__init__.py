"""Topic-model engines behind one contract, and their registry.

Each engine is one module of this package giving one ``ENGINE`` (``base.Engine``: its
name, training, loading, progress steps, default priors, the starts it takes, whether its
inference runs in parallel), and one line of ``ENGINES`` below. All train on the
bag-of-words corpus built with the gensim ``Dictionary`` and give a ``base.TopicModel``;
nothing outside this package asks which engine it has.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.engines import gensim, sklearn, tomotopy
from pipeline.engines.base import (
    CHUNK,
    ENGINE_FILE,
    Engine,
    OnStep,
    PackedTerms,
    Terms,
    TopicModel,
    TrainLog,
    TrainSpec,
    TrainStep,
    quiet,
)
from pipeline.errors import StoreError
from pipeline.executor import Executor

ENGINES: dict[str, Engine] = {e.name: e for e in (gensim.ENGINE, tomotopy.ENGINE, sklearn.ENGINE)}

__all__ = [
    "CHUNK",
    "ENGINES",
    "Engine",
    "OnStep",
    "PackedTerms",
    "Terms",
    "TopicModel",
    "TrainLog",
    "TrainSpec",
    "TrainStep",
    "convergence_warnings",
    "get",
    "load_model",
    "progress_total",
    "train",
]


def get(name: str) -> Engine:
    """The engine called ``name`` (the config checks model.engine names one)."""
    return ENGINES[name]


def train(
    spec: TrainSpec, corpus: Any, terms: Terms, ex: Executor, on_step: OnStep = quiet
) -> tuple[TopicModel, TrainLog]:
    """Train one model with ``spec.engine`` on ``corpus``, whose vocabulary is ``terms``;
    ``on_step`` hears how far training is, once a step (``Engine.steps`` times in all)."""
    model, log = get(spec.engine).train(spec, corpus, terms, ex, on_step)
    log.warnings.extend(convergence_warnings(spec, log))
    return model, log


def load_model(folder: Path) -> TopicModel:
    """The model saved in ``folder``, by the engine that wrote it (its ``engine.json``)."""
    info = json.loads((folder / ENGINE_FILE).read_text(encoding="utf-8"))
    engine = ENGINES.get(info["engine"])
    if engine is None:
        raise StoreError(
            f"written by engine {info['engine']!r}, which this version does not have "
            f"({', '.join(ENGINES)}); retrain with `pipeline run --from train --force`"
        )
    return engine.load(folder, info["seed"])


def progress_total(spec: TrainSpec) -> tuple[str, int]:
    """What training counts as it goes, and to how many: passes or iterations."""
    engine = get(spec.engine)
    return engine.unit, int(getattr(spec, engine.setting))


def convergence_warnings(spec: TrainSpec, log: TrainLog) -> list[str]:
    """What the log says of convergence, as warnings that name the setting to raise."""
    engine = get(spec.engine)
    out = []
    if log.converged_share is not None and log.converged_share < 0.9:
        out.append(
            f"only {log.converged_share:.0%} of units converged in the last pass within "
            f"model.iterations={spec.iterations}; raise model.iterations"
        )
    p = log.perplexity
    if len(p) >= 2 and p[-2] > 0 and (p[-2] - p[-1]) / p[-2] > 0.01:
        step = "pass" if engine.unit == "pass" else "step"
        out.append(
            f"perplexity still fell {100 * (p[-2] - p[-1]) / p[-2]:.1f}% in the last "
            f"{step}; raise model.{engine.setting}"
        )
    return out
