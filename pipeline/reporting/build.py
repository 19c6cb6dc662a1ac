"""The report's data from the run folder: ``load_report_inputs`` is the one place the
report reads the store; ``report_data`` builds each view's data from what it read.

The units' mixes come as an array (``mixes.npy``, written by assign, curated), their
token counts from the corpus; ``units.jsonl`` is read once, keeping the text of the units
that can be quoted only. Every number on the page is computed once, by one view's builder
(see ``views``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline import __version__, duplicates
from pipeline.artifacts import SWEEP, TRAINING, ArrayRows, RunStore
from pipeline.config import Config
from pipeline.labels import match_labels
from pipeline.progress import Progress
from pipeline.reporting import summary as S
from pipeline.reporting import views
from pipeline.reporting.data import ReportData
from pipeline.reporting.inputs import MIX_BLOCK, Facts, Quotable, ReportInputs, Units
from pipeline.reporting.views.basis import basis
from pipeline.samples import coherence_texts

SEARCH_UNITS = 20  # passages per topic the page's search box looks through, beside the cards'
NAME_CHARS = 16  # a document without a title is named by the start of its text


def load_report_inputs(
    config: Config, store: RunStore, progress: Progress, model: Any, steps: str
) -> ReportInputs:
    """Everything the report reads from the run folder, read once: of the trained
    ``model`` (an ``engines.TopicModel``, loaded by the caller), trained as ``steps`` says."""
    cfg = config.report
    dct, corpus = store.load_dictionary(), store.load_corpus()
    training = store.read_json(TRAINING)
    facts = _facts(store.load_manifest().get("stages", {}))
    labels = match_labels(store, model.topic_term, dct.id2token)
    mixes = store.read_rows("mixes.npy")
    lengths = np.fromiter(
        (sum(c for _, c in bow) for bow in progress.track(corpus, len(corpus), "report")), int
    )
    # Near-duplicate documents left out of training are not quoted: one story, one passage.
    keep = duplicates.training_rows(store, config.model.train_duplicates)
    has_tokens = lengths > 0 if keep is None else (lengths > 0) & keep
    quotable = _quotable(mixes, has_tokens, cfg.representatives, cfg.one_per_document)
    quoted = {i for ranked in (*quotable.representatives, *quotable.search) for _, i in ranked}
    return ReportInputs(
        config=config,
        engine=model.engine,
        steps=steps,
        new_words=_new_words(store),
        topic_term=model.topic_term,
        dictionary=dct,
        corpus=corpus,
        lengths=lengths,
        mixes=mixes,
        units=_read_units(config, store, len(lengths), quoted),
        quotable=quotable,
        training=training,
        facts=facts,
        labels=labels,
        coherence_texts=coherence_texts(store, dct, len(corpus)),
        sweep=list(store.read_csv(SWEEP)) if store.exists(SWEEP) else None,
        strips=S.segment_strips(store.read_csv("segments.csv"), views.segments.STRIP_DOCS),
    )


def report_data(inputs: ReportInputs, progress: Progress) -> ReportData:
    """Everything the reports show: each view's data, from its builder."""
    shared = basis(inputs)
    corpus = inputs.corpus
    return ReportData(
        run=inputs.config.run.name,
        generated_by=f"pipeline {__version__}",
        summary=views.summary.build(inputs, shared),
        topics=views.topics.build(inputs, shared),
        topic_map=views.topic_map.build(inputs, shared),
        explorer=views.explorer.build(inputs, shared),
        relations=views.relations.build(inputs, shared),
        documents=views.documents.build(inputs, shared),
        strips=views.segments.build(inputs),
        prevalence=views.periods.build(inputs, shared),
        prevalence_chart=views.periods.build_chart(inputs, shared),
        over_time=views.terms_over_time.build(
            inputs, shared, lambda: progress.track(corpus, len(corpus), "report: terms over time")
        ),
        sweep=views.sweep.build(inputs),
        search=views.search.build(inputs, shared),
    )


def _facts(stages: dict[str, Any]) -> Facts:
    return Facts(
        counts={name: dict(s.get("counts", {})) for name, s in stages.items()},
        details={name: dict(s.get("details", {})) for name, s in stages.items()},
        timings={n: float(s["seconds"]) for n, s in stages.items() if s.get("seconds") is not None},
    )


def _new_words(store: RunStore) -> tuple[tuple[str, int], ...]:
    """The words tokenize found in the corpus and kept whole, with their counts in its
    sample (none for a run from before it looked for them)."""
    if not store.exists("vocab_audit.json"):
        return ()
    found = store.read_json("vocab_audit.json").get("tokenize", {}).get("new_words", [])
    return tuple((str(w[0]), int(w[1])) for w in found)


def _quotable(mixes: ArrayRows, has_tokens: np.ndarray, n: int, one_per_document: bool) -> Quotable:
    """Per topic, the units the report may quote: the representatives' candidates (a wider
    set when one per document is asked for) and the passages the search box looks through.
    Units without tokens carry only the prior and are never quoted; earlier units win ties.
    The mixes are read a block of rows at a time, each topic keeping its best so far."""
    width = max(n * 10 if one_per_document else n, SEARCH_UNITS)
    k = mixes.shape[1]
    best_rows = [np.zeros(0, dtype=np.int64)] * k
    best_values = [np.zeros(0)] * k
    start = 0
    for block in mixes.blocks(MIX_BLOCK):
        rows = np.flatnonzero(has_tokens[start : start + len(block)])
        for c in range(k):
            r = np.concatenate([best_rows[c], rows + start])
            v = np.concatenate([best_values[c], block[rows, c]])
            top = np.lexsort((r, -v))[:width]
            best_rows[c], best_values[c] = r[top], v[top]
        start += len(block)
    reps = [[(float(v), int(i)) for v, i in zip(best_values[c], best_rows[c], strict=True)] for c in range(k)]
    return Quotable(reps, [ranked[:SEARCH_UNITS] for ranked in reps])


def _read_units(config: Config, store: RunStore, n: int, quoted: set[int]) -> Units:
    label_field, field = config.input.label_field, config.report.prevalence_field
    doc = np.zeros(n, dtype=np.int64)
    doc_ids: list[str] = []
    sources: list[str] = []
    names: list[str] = []
    labels: list[str] | None = [] if label_field else None
    periods = np.zeros(n, dtype=np.int64) if field else None
    period_index: dict[str, int] = {}
    kept: dict[int, dict[str, Any]] = {}
    for i, unit in enumerate(store.read_jsonl("units.jsonl")):
        if not doc_ids or doc_ids[-1] != unit["doc_id"]:
            doc_ids.append(unit["doc_id"])
            sources.append(unit["source"])
            names.append(document_name(unit))
        doc[i] = len(doc_ids) - 1
        if labels is not None:
            labels.append(str(unit["meta"].get(label_field, "")))
        if periods is not None:
            p = S.period_of(unit["meta"].get(field), config.report.prevalence_period, str(field))
            periods[i] = period_index.setdefault(p, len(period_index))
        if i in quoted:
            kept[i] = unit
    period_names = sorted(period_index)
    if periods is not None:  # period indices in sorted order, so periods read left to right
        order = np.array([period_index[p] for p in period_names])
        remap = np.empty(len(order), dtype=np.int64)
        remap[order] = np.arange(len(order))
        periods = remap[periods] if len(order) else periods
    return Units(doc, doc_ids, sources, names, labels, periods, period_names, kept)


def document_name(unit: dict[str, Any]) -> str:
    """What the page calls a document, from its first unit: the title segment gives it
    (``title``), else a ``title`` meta field, else its first heading, else the start of
    its text."""
    for name in (unit.get("title"), unit.get("meta", {}).get("title"), unit.get("heading")):
        if name is not None and str(name).strip():
            return " ".join(str(name).split())
    return S.excerpt(" ".join(unit["text"].split()), NAME_CHARS)
