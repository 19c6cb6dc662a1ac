"""report: topic summaries (topics.csv, topics.json), diagnostics and the reports people read.

Engine-blind: it reads the model's topic-term matrix, the assignments and the units.
Writes ``topics.csv``, ``topics.json``, ``report.md`` and ``report.html`` (one
self-contained page), plus
``prevalence.csv`` when ``report.prevalence_field`` names a meta field.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from pipeline import __version__, measures
from pipeline.artifacts import CORPUS, DICTIONARY, MODEL, RunStore
from pipeline.config import Config
from pipeline.executor import Executor
from pipeline.labels import BASIS, LABELS, match_labels
from pipeline.reporting import summary as S
from pipeline.reporting.html import render_html
from pipeline.reporting.markdown import render_markdown
from pipeline.stages.base import Counts, Progress, Stage
from pipeline.stages.train import SWEEP, TRAINING

COHERENCE_SAMPLE = 20000  # units: NPMI needs co-occurrence counts, so large corpora are sampled
HEATMAP_DOCS = 300
STRIP_DOCS = 60  # documents drawn as strips of their segments: the longest ones


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def _assignments(store: RunStore, k: int) -> Iterator[tuple[dict[str, str], np.ndarray]]:
    cols = [f"topic_{i}" for i in range(k)]
    for row in store.read_csv("assignments.csv"):
        yield row, np.array([row[c] for c in cols], dtype=float)


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    cfg = config.report
    model = store.load_model()
    dct = store.load_dictionary()
    corpus = store.load_corpus()
    training = store.read_json(TRAINING)
    phi, k = model.topic_term, model.num_topics
    id2token = dct.id2token

    # One pass over the units: prevalence, spread, rank-1 counts, representatives, labels, periods.
    acc = measures.TopicAccumulator(k)
    units_meta: list[tuple[str, str]] = []  # (doc_id, label) for label scoring
    dominant: list[int] = []
    periods: dict[str, np.ndarray] = {}
    period_units: dict[str, int] = {}
    lengths = (sum(c for _, c in bow) for bow in corpus)
    # Unit metadata is read only when a label or prevalence field needs it.
    needs_meta = bool(config.input.label_field or cfg.prevalence_field)
    units: Iterator[dict[str, Any]] = (
        store.read_jsonl("units.jsonl") if needs_meta else itertools.repeat({}, len(corpus))
    )

    def rows() -> Iterator[tuple[int, str, np.ndarray]]:
        for i, ((row, theta), n_tok, unit) in enumerate(
            zip(_assignments(store, k), lengths, units, strict=True)
        ):
            acc.add(theta, n_tok)
            if not n_tok:  # no dominant topic: left out of label scores and representatives
                continue
            dominant.append(int(row["dominant_topic"]))
            if config.input.label_field:
                units_meta.append((row["doc_id"], str(unit["meta"].get(config.input.label_field, ""))))
            if cfg.prevalence_field:
                p = S.period_of(
                    unit["meta"].get(cfg.prevalence_field), cfg.prevalence_period, cfg.prevalence_field
                )
                periods[p] = periods.get(p, np.zeros(k)) + theta * n_tok
                period_units[p] = period_units.get(p, 0) + 1
            yield i, row["doc_id"], theta

    tops = S.top_units(
        progress.track(rows(), len(corpus), "report"), k, cfg.representatives, cfg.one_per_document
    )
    wanted = {i for t in tops for _, i in t}
    chosen = dict(store.read_jsonl_where("units.jsonl", wanted.__contains__))

    prevalence = acc.prevalence()
    term_share = np.asarray([dct.cfs.get(i, 0) for i in range(len(dct))], dtype=float)
    term_share = term_share / term_share.sum()
    ranked = measures.ranked_terms(phi, id2token, max(cfg.top_terms, measures.SCORED_TERMS))
    by_prob = [ts[: cfg.top_terms] for ts in ranked]
    by_rel = measures.ranked_terms(
        measures.relevance(phi, term_share, cfg.relevance_lambda), id2token, cfg.top_terms
    )
    by_frex = measures.ranked_terms(measures.frex(phi), id2token, cfg.top_terms)
    vocab = set(dct.token2id)
    texts = [
        [w for w in row["tokens"] if w in vocab]
        for _, row in store.read_jsonl_where(
            "tokens.jsonl", S.in_stride_sample(len(corpus), COHERENCE_SAMPLE)
        )
    ]
    top = [[t for t, _ in ts[: measures.SCORED_TERMS]] for ts in ranked]
    coherence = measures.coherence(top, texts, dct, "c_npmi")
    stability = training.get("topic_stability") or [None] * k
    diag = {
        "token_share": prevalence,
        "coherence": np.array([np.nan if c is None else c for c in coherence]),
        "exclusivity": measures.exclusivity(phi),
        "effective_words": measures.effective_words(phi),
        "document_entropy": acc.document_entropy(),
        "stability": np.array([np.nan if s is None else s for s in stability]),
        "rank1_units": acc.rank1,
    }
    flags = measures.junk_flags(diag)

    labels = match_labels(store, phi, id2token)
    names, vanished = labels.names, labels.vanished
    topics = []
    for t in range(k):
        reps = []
        for weight, i in tops[t]:
            u = chosen[i]
            reps.append(
                {
                    "unit_id": u["unit_id"],
                    "weight": round(weight, 6),
                    "source": u["source"],
                    "line_start": u["line_start"],
                    "line_end": u["line_end"],
                    "where": S.citation(u),
                    "heading": u["heading"],
                    "text": S.excerpt(u["text"], cfg.excerpt_chars),
                }
            )
        topics.append(
            {
                "topic": t,
                "name": names[t]["name"],
                "note": names[t]["note"],
                "terms": [{"term": w, "weight": round(p, 6)} for w, p in by_prob[t]],
                "relevance": [{"term": w, "score": round(p, 6)} for w, p in by_rel[t]],
                "frex": [{"term": w, "score": round(p, 6)} for w, p in by_frex[t]],
                "prevalence": round(float(prevalence[t]), 6),
                "coherence": _r(coherence[t]),
                "stability": _r(stability[t], 4),
                "diagnostics": {
                    name: (int(v[t]) if name == "rank1_units" else _r(v[t], 4)) for name, v in diag.items()
                },
                "flags": flags[t],
                "representatives": reps,
            }
        )
    store.write_csv(
        "topics.csv",
        ["topic", "rank", "term", "weight"],
        ([t, r, w, f"{p:.6f}"] for t in range(k) for r, (w, p) in enumerate(by_prob[t], start=1)),
    )
    store.write_json("topics.json", topics)

    details: dict[str, Any] = {}
    if config.input.label_field:
        details["labels"] = _label_scores(store, config.input.label_field, units_meta, dominant)
    prevalence_rows = None
    if cfg.prevalence_field:
        keys = sorted(periods)
        prevalence_rows = {
            "field": cfg.prevalence_field,
            "periods": keys,
            "values": [list(np.round(periods[p] / max(periods[p].sum(), 1e-12), 6)) for p in keys],
        }
        store.write_csv(
            "prevalence.csv",
            ["period", "units", *[f"topic_{i}" for i in range(k)]],
            (
                [p, period_units[p], *[f"{v:.6f}" for v in vals]]
                for p, vals in zip(keys, prevalence_rows["values"], strict=True)
            ),
        )
    else:
        store.remove("prevalence.csv")

    data = _report_data(config, store, topics, model, training, details, prevalence_rows)
    data["vanished_labels"] = vanished
    store.write_text("report.md", render_markdown(data))
    store.write_text("report.html", render_html(data))
    _exports(config, store, topics)
    labels.write(store)  # last: labels.yaml follows the new topics only once the report is whole
    counts: Counts = {"topics": k, "flagged": sum(1 for f in flags if f)}
    if details:
        counts["details"] = details
    return counts


def _exports(config: Config, store: RunStore, topics: list[dict[str, Any]]) -> None:
    if "parquet" in config.report.export:
        store.save_parquet("assignments.parquet", "assignments.csv")
    else:
        store.remove("assignments.parquet")
    if "xlsx" not in config.report.export:
        store.remove("results.xlsx")
        return

    def csv_sheet(
        name: str, extra: Iterator[dict[str, Any]] | None = None
    ) -> tuple[list[str], Iterator[list[Any]]]:
        rows = store.read_csv(name)
        first = next(rows)
        header = list(first)
        extra_cols = ["heading", "text"] if extra is not None else []

        def numbers(row: dict[str, str], unit: dict[str, Any] | None) -> list[Any]:
            values: list[Any] = [
                (float(v) if v else None) if k.startswith("topic_") or k == "dominant_weight" else v
                for k, v in row.items()
            ]
            return values + ([unit["heading"], unit["text"]] if unit is not None else [])

        def body() -> Iterator[list[Any]]:
            units = extra
            yield numbers(first, next(units) if units is not None else None)
            for row in rows:
                yield numbers(row, next(units) if units is not None else None)

        return header + extra_cols, body()

    topic_rows = (
        [t["topic"], t.get("name") or "", r, x["term"], x["weight"]]
        for t in topics
        for r, x in enumerate(t["terms"], start=1)
    )
    store.save_workbook(
        "results.xlsx",
        {
            "units": csv_sheet("assignments.csv", store.read_jsonl("units.jsonl")),
            "documents": csv_sheet("documents.csv"),
            "topics": (["topic", "name", "rank", "term", "weight"], topic_rows),
        },
    )


def _label_scores(
    store: RunStore, field: str, units_meta: list[tuple[str, str]], dominant: list[int]
) -> dict[str, Any]:
    unit_scores = measures.label_scores([lab for _, lab in units_meta], dominant)
    doc_labels: dict[str, str] = {}
    for doc_id, lab in units_meta:
        doc_labels.setdefault(doc_id, lab)
    docs = [d for d in store.read_csv("documents.csv") if d["dominant_topic"] and d["doc_id"] in doc_labels]
    doc_scores = measures.label_scores(
        [doc_labels[d["doc_id"]] for d in docs], [int(d["dominant_topic"]) for d in docs]
    )
    return {
        "field": field,
        "units": {k: round(v, 4) for k, v in unit_scores.items()},
        "documents": {k: round(v, 4) for k, v in doc_scores.items()},
    }


def _report_data(
    config: Config,
    store: RunStore,
    topics: list[dict[str, Any]],
    model: Any,
    training: dict[str, Any],
    details: dict[str, Any],
    prevalence: dict[str, Any] | None,
) -> dict[str, Any]:
    """Everything the Markdown and HTML reports show, in one dict."""
    manifest = store.load_manifest()
    stages = manifest.get("stages", {})

    def counts(stage: str) -> dict[str, Any]:
        return dict(stages.get(stage, {}).get("counts", {}))

    seg, tok, dic = counts("segment"), counts("tokenize"), counts("dictionary")
    k = model.num_topics
    docs: list[dict[str, Any]] = []
    for row in store.read_csv("documents.csv"):
        if len(docs) < HEATMAP_DOCS:
            docs.append(
                {
                    "doc_id": row["doc_id"],
                    "source": row["source"],
                    "mix": [float(row[f"topic_{i}"]) for i in range(k)],
                }
            )
    coords = S.topic_map(1.0 - measures.js_similarity(model.topic_term, model.topic_term), config.run.seed)
    strips, multi = S.segment_strips(store.read_csv("segments.csv"), STRIP_DOCS)
    sweep = None
    if store.exists(SWEEP):
        sweep = [
            {
                key: (None if v == "" else float(v) if key not in ("k", "seed") else int(v))
                for key, v in r.items()
            }
            for r in store.read_csv(SWEEP)
        ]
    return {
        "run": config.run.name,
        "generated_by": f"pipeline {__version__}",
        "corpus": {
            "files": seg.get("files", 0),
            "documents": seg.get("documents", 0),
            "units": seg.get("units", 0),
            "tokens": dic.get("tokens", 0),
            "terms": dic.get("terms", 0),
            "removed_lines": seg.get("removed_lines", 0),
            "coverage": S.coverage(stages.get("segment", {}).get("details", {}).get("coverage", {})),
            "removed_tokens": {
                **{
                    f: tok.get(f"removed_{f}", 0)
                    for f in ("stopword", "punctuation", "number", "latin", "short", "pos")
                    if tok.get(f"removed_{f}", 0)
                },
                "rare or too common": dic.get("tokens_removed", 0),
            },
        },
        "model": {
            "engine": model.engine,
            "num_topics": k,
            "passes": config.model.passes,
            "iterations": config.model.iterations,
            "init": config.model.init,
            "alpha": config.model.alpha,
            "eta": config.model.eta,
            "seed": training.get("seed", config.run.seed),
        },
        "timings": {
            name: stages[name].get("seconds") for name in stages if stages[name].get("seconds") is not None
        },
        "topics": topics,
        "documents": docs,
        "segments": {"documents": strips, "with_segments": multi},
        "intertopic": [
            {"topic": t, "x": round(float(x), 4), "y": round(float(y), 4)} for t, (x, y) in enumerate(coords)
        ],
        "sweep": sweep,
        "chosen_k": {"k": training["chosen_k"], "reason": training["reason"]}
        if "chosen_k" in training
        else None,
        "prevalence": prevalence,
        "labels": details.get("labels"),
        "training": {key: training.get(key) for key in ("mean_stability", "converged_share", "warnings")},
    }


STAGE = Stage(
    name="report",
    sections=("report", "input.label_field"),
    inputs=(
        MODEL,
        TRAINING,
        DICTIONARY,
        CORPUS,
        "units.jsonl",
        "tokens.jsonl",
        "assignments.csv",
        "documents.csv",
        "segments.csv",
    ),
    outputs=("topics.csv", "topics.json", "report.md", "report.html", LABELS, BASIS),
    run=run,
    reads=lambda config: [config.run_dir / LABELS],  # written by people, read by the report
)
