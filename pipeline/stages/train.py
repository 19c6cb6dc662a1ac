"""train: bag-of-words corpus -> a seeded gensim LDA model in ``model/``."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.stages.base import Counts, Progress, Stage
from pipeline.stages.dictionary import CORPUS, CORPUS_FILE, DICTIONARY

MODEL = "model"  # folder written by LdaModel.save
MODEL_FILE = "lda.model"
_PASS = re.compile(r"PROGRESS: pass (\d+),")


class _PassCounter(logging.Handler):
    """Turns gensim's per-pass log lines into progress-bar updates."""

    def __init__(self, update: Callable[[int], None]) -> None:
        super().__init__(logging.INFO)
        self.update = update

    def emit(self, record: logging.LogRecord) -> None:
        m = _PASS.match(record.getMessage())
        if m:
            self.update(int(m.group(1)))


@contextmanager
def _passes_bar(progress: Progress, passes: int) -> Iterator[None]:
    logger = logging.getLogger("gensim.models.ldamodel")
    with progress.task(passes, "train") as update:
        handler = _PassCounter(update)
        old_level, old_propagate = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # keep gensim's chatter off the user's screen
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate
            update(passes)


def lda_params(config: Config) -> dict[str, Any]:
    """The gensim keyword arguments for this config: one name per concept."""
    m = config.model
    return {
        "num_topics": m.num_topics,
        "passes": m.passes,
        "iterations": m.iterations,
        "alpha": m.alpha,
        "eta": None if m.eta == "symmetric" else m.eta,
        "chunksize": m.chunksize,
        "random_state": config.run.seed,
        "eval_every": None,  # perplexity estimates cost a pass each; measured elsewhere
        "update_every": 1,
    }


def run(config: Config, store: RunStore, progress: Progress) -> Counts:
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models import LdaModel

    dct = Dictionary.load(str(store.read_path(DICTIONARY)))
    corpus = MmCorpus(str(store.read_path(CORPUS) / CORPUS_FILE))
    n_units = sum(1 for bow in corpus if bow)
    k = config.model.num_topics
    if k > n_units:
        raise DataError(
            f"model.num_topics: {k} topics for {n_units} units with tokens; "
            f"use at most {n_units} (e.g. --set model.num_topics={max(1, min(n_units, 10))})"
        )
    params = lda_params(config)
    with _passes_bar(progress, config.model.passes):
        model = LdaModel(corpus=corpus, id2word=dct, **params)
    with store.write_path(MODEL, directory=True) as tmp_dir:
        model.save(str(tmp_dir / MODEL_FILE))
    return {"topics": k, "units": n_units, "terms": len(dct), "passes": config.model.passes}


STAGE = Stage(
    name="train",
    sections=("model", "run.seed"),
    inputs=(DICTIONARY, CORPUS),
    outputs=(MODEL,),
    run=run,
    summary="train LDA on the paragraph units",
)
