"""report: topics.csv, topics.json and report.md, from the model and the assignments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.reporting import summary as S
from pipeline.reporting.markdown import render_markdown
from pipeline.stages.base import Counts, Progress, Stage
from pipeline.stages.dictionary import CORPUS, CORPUS_FILE, DICTIONARY
from pipeline.stages.train import MODEL, MODEL_FILE

COHERENCE_SAMPLE = 20000  # units: NPMI needs co-occurrence counts, so large corpora are sampled


def _thetas(store: RunStore, k: int) -> Iterator[np.ndarray]:
    cols = [f"topic_{i}" for i in range(k)]
    for row in store.read_csv("assignments.csv"):
        yield np.array([float(row[c]) for c in cols])


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def run(config: Config, store: RunStore, progress: Progress) -> Counts:
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models import LdaModel

    cfg = config.report
    model = LdaModel.load(str(store.read_path(MODEL) / MODEL_FILE))
    dct = Dictionary.load(str(store.read_path(DICTIONARY)))
    corpus = MmCorpus(str(store.read_path(CORPUS) / CORPUS_FILE))
    k = model.num_topics
    id2token = {i: t for t, i in dct.token2id.items()}
    terms = S.topic_terms(model.get_topics(), id2token, cfg.top_terms)
    lengths = (sum(c for _, c in bow) for bow in corpus)
    prev = S.prevalence(_thetas(store, k), lengths, k)
    tops = S.top_units(enumerate(_thetas(store, k)), k, cfg.representatives)
    wanted = {i for t in tops for _, i in t}
    units: dict[int, dict[str, Any]] = {
        i: u for i, u in enumerate(store.read_jsonl("units.jsonl")) if i in wanted
    }
    vocab = set(dct.token2id)
    texts = [
        [w for w in row["tokens"] if w in vocab]
        for row in S.stride_sample(store.read_jsonl("tokens.jsonl"), len(corpus), COHERENCE_SAMPLE)
    ]
    coherence = S.npmi_coherence([[t for t, _ in ts] for ts in terms], texts, dct)

    topics = []
    for t in range(k):
        reps = []
        for weight, i in tops[t]:
            u = units[i]
            reps.append(
                {
                    "unit_id": u["unit_id"],
                    "weight": round(weight, 6),
                    "source": u["source"],
                    "line_start": u["line_start"],
                    "line_end": u["line_end"],
                    "heading": u["heading"],
                    "text": S.excerpt(u["text"], cfg.excerpt_chars),
                }
            )
        topics.append(
            {
                "topic": t,
                "terms": [{"term": w, "weight": round(p, 6)} for w, p in terms[t]],
                "prevalence": round(float(prev[t]), 6),
                "coherence": _round(coherence[t]),
                "representatives": reps,
            }
        )
    store.write_csv(
        "topics.csv",
        ["topic", "rank", "term", "weight"],
        ([t, r, w, f"{p:.6f}"] for t in range(k) for r, (w, p) in enumerate(terms[t], start=1)),
    )
    store.write_json("topics.json", topics)
    stages = store.load_manifest().get("stages", {})

    def counts(stage: str) -> dict[str, Any]:
        return dict(stages.get(stage, {}).get("counts", {}))

    seg, tok, dic = counts("segment"), counts("tokenize"), counts("dictionary")
    summary = {
        "run": config.run.name,
        "corpus": {
            "files": seg.get("files", 0),
            "documents": seg.get("documents", 0),
            "units": len(corpus),
            "tokens": dic.get("tokens", 0),
            "terms": len(dct),
            "removed_lines": seg.get("removed_lines", 0),
            "removed_tokens": {
                **{
                    f: tok.get(f"removed_{f}", 0)
                    for f in ("stopword", "punctuation", "number", "latin", "short")
                },
                "rare or too common": dic.get("tokens_removed", 0),
            },
        },
        "model": {
            "engine": "gensim LdaModel",
            "num_topics": k,
            "passes": config.model.passes,
            "iterations": config.model.iterations,
            "alpha": config.model.alpha,
            "eta": config.model.eta,
            "seed": config.run.seed,
        },
    }
    store.write_text("report.md", render_markdown(summary, topics))
    return {"topics": k, "representatives": sum(len(t) for t in tops)}


STAGE = Stage(
    name="report",
    sections=("report",),
    inputs=(MODEL, DICTIONARY, CORPUS, "units.jsonl", "tokens.jsonl", "assignments.csv"),
    outputs=("topics.csv", "topics.json", "report.md"),
    run=run,
    summary="topic summaries and the report",
)
