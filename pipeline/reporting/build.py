"""ReportData from the run folder: the one place the report reads the store.

The units' mixes come as an array (``mixes.npy``, written by assign, curated), their
token counts from the corpus; ``units.jsonl`` is read once, keeping the text of the units
that can be quoted only. Every number on the page is computed here, once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from pipeline import __version__, duplicates, measures
from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.labels import Labels, match_labels
from pipeline.reporting import analysis, axes
from pipeline.reporting import summary as S
from pipeline.reporting.data import (
    Block,
    Corpus,
    Coverage,
    DocumentRows,
    LabelScores,
    Model,
    OverTime,
    Passage,
    Prevalence,
    ReportData,
    SearchEntry,
    Strip,
    Strips,
    Sweep,
    SweepPoint,
    Term,
    Topic,
)
from pipeline.stages.base import Progress
from pipeline.stages.train import SWEEP, TRAINING, coherence_texts

HEATMAP_DOCS = 200  # the most representative documents; a taller heat map stops being readable
BOILERPLATE_SHOWN = 10  # learned boilerplate spans listed on the page
STRIP_DOCS = 60  # documents drawn as strips of their segments: the longest ones
SEARCH_UNITS = 20  # passages per topic the page's search box looks through, beside the cards'
SEARCH_CHARS = 600  # of each: enough for a paragraph, bounded for a page that must stay small
EXPLORER_TERMS = 30  # terms per topic the relevance explorer ranks (LDAvis's R)
SPANS = 6  # topics over time: periods grouped into at most this many spans
SPAN_TERMS = 8
TRACKED_TERMS = 200  # a topic's terms followed over time: its most probable ones
RESAMPLES = 200  # bootstrap resamples of the documents for prevalence intervals
BLOCK = 2000  # units per block when counting terms over time
CHART_PERIODS = 40  # a dated chart of more periods draws coarser ones (prevalence.csv keeps all)
NAME_CHARS = 16  # a document without a title is named by the start of its text


@dataclass
class _Units:
    """What the report keeps of units.jsonl: per unit, its document and group keys; in
    full, only the units it may quote."""

    doc: np.ndarray  # document index of each unit
    doc_ids: list[str]
    sources: list[str]
    names: list[str]  # per document: what the page calls it (document_name)
    labels: list[str] | None
    periods: np.ndarray | None  # period index of each unit
    period_names: list[str]
    quoted: dict[int, dict[str, Any]]


def report_data(config: Config, store: RunStore, progress: Progress) -> tuple[ReportData, Labels]:
    """Everything the reports show, and the topic names to write back once they are written."""
    cfg = config.report
    model, dct, corpus = store.load_model(), store.load_dictionary(), store.load_corpus()
    training = store.read_json(TRAINING)
    manifest = store.load_manifest().get("stages", {})
    labels = match_labels(store, model.topic_term, dct.id2token)
    cur = labels.curation
    assign = manifest.get("assign", {}).get("details", {})
    raw_shares = np.asarray(assign.get("topic_shares") or np.full(model.num_topics, 1.0 / model.num_topics))
    phi = cur.topic_term(model.topic_term, raw_shares)
    ids = list(cur.kept)
    dropped = np.array([t in cur.dropped for t in ids])
    mixes = store.read_array("mixes.npy")
    lengths = np.fromiter(
        (sum(c for _, c in bow) for bow in progress.track(corpus, len(corpus), "report")), int
    )
    has_tokens = lengths > 0

    # Near-duplicate documents left out of training are not quoted: one story, one passage.
    keep = duplicates.training_rows(store, config.model.train_duplicates)
    quotable = has_tokens if keep is None else has_tokens & keep
    reps, search = _candidates(mixes, quotable, cfg.representatives, cfg.one_per_document)
    units = _read_units(config, store, len(lengths), {i for r in (*reps, *search) for _, i in r})
    reps = [_one_per_document(r, units.doc, cfg.representatives, cfg.one_per_document) for r in reps]

    acc = measures.TopicAccumulator(len(ids))
    acc.add_rows(mixes, lengths)
    prevalence = acc.prevalence()
    term_count = np.asarray([dct.cfs.get(i, 0) for i in range(len(dct))], dtype=float)
    term_share = term_count / term_count.sum()
    id2token = dct.id2token
    ranked = measures.ranked_terms(phi, id2token, max(cfg.top_terms, measures.SCORED_TERMS))
    by_rel = measures.relevance_terms(
        phi, term_share, term_count, id2token, cfg.relevance_lambda, cfg.top_terms, cfg.relevance_min_count
    )
    by_frex = measures.ranked_terms(measures.frex(phi), id2token, cfg.top_terms)
    coherence = _coherence(
        store, dct, [[t for t, _ in ts[: measures.SCORED_TERMS]] for ts in ranked], len(corpus)
    )
    stability = training.get("topic_stability") or [None] * model.num_topics
    diag = {
        "token_share": prevalence,
        "coherence": np.array([np.nan if c is None else c for c in coherence]),
        "exclusivity": measures.exclusivity(phi),
        "effective_words": measures.effective_words(phi),
        "document_entropy": acc.document_entropy(),
        "stability": np.array([np.nan if stability[t] is None else stability[t] for t in ids]),
    }
    flags = measures.junk_flags({**diag, "rank1_units": acc.rank1})
    members = cur.members
    topics = []
    for c, t in enumerate(ids):
        name = labels.names[t]
        rel = tuple(Term(w, s) for w, s in by_rel[c])
        terms = tuple(Term(w, s) for w, s in ranked[c][: cfg.top_terms])
        frex = tuple(Term(w, s) for w, s in by_frex[c])
        topics.append(
            Topic(
                id=t,
                name=name["name"],
                note=name["note"],
                prevalence=float(prevalence[c]),
                terms=terms,
                relevance=rel,
                frex=frex,
                coherence=coherence[c],
                stability=_finite(stability[t]),
                diagnostics={key: _finite(v[c]) for key, v in diag.items()},
                rank1_units=int(acc.rank1[c]),
                flags=tuple(flags[c]),
                passages=tuple(_passage(config, units, i, w) for w, i in reps[c]),
                merged=tuple(m for m in members.get(t, (t,)) if m != t),
                dropped=bool(dropped[c]),
            )
        )
    shown = [c for c in range(len(ids)) if not dropped[c]]
    shown_ids = [ids[c] for c in shown]
    similarity = measures.js_similarity(phi[shown], phi[shown])  # the map's and the hierarchy's
    doc_mass = _group_mass(units.doc, len(units.doc_ids), mixes, lengths)
    doc_tokens = np.bincount(units.doc, weights=lengths, minlength=len(units.doc_ids))
    prevalence_view, prevalence_chart, over_time = _by_period(
        config, store, units, mixes, lengths, phi, shown, shown_ids, id2token, progress
    )
    data = ReportData(
        run=config.run.name,
        generated_by=f"pipeline {__version__}",
        corpus=_corpus(manifest, config.model.train_duplicates, _new_words(store)),
        model=Model(
            engine=model.engine,
            num_topics=model.num_topics,
            passes=config.model.passes,
            iterations=config.model.iterations,
            init=config.model.init,
            alpha=str(config.model.alpha),
            eta=str(config.model.eta),
            seed=training.get("seed", config.run.seed),
        ),
        timings={n: float(s["seconds"]) for n, s in manifest.items() if s.get("seconds") is not None},
        topics=tuple(topics),
        topic_map=_topic_map(similarity, shown_ids, config.run.seed),
        documents=_documents(units, doc_mass, doc_tokens, shown),
        strips=_strips(store, dict(zip(units.doc_ids, units.names, strict=True))),
        sweep=_sweep(store, training),
        prevalence=prevalence_view,
        over_time=over_time,
        relations=analysis.relations(similarity, shown_ids, _rows(mixes, has_tokens, shown)),
        explorer=analysis.explorer(
            phi[shown],
            term_share,
            term_count,
            acc.mass[shown],
            id2token,
            cfg.relevance_lambda,
            EXPLORER_TERMS,
            cfg.relevance_min_count,
        ),
        search=tuple(
            SearchEntry(
                ids[c],
                S.citation(units.quoted[i]),
                units.doc_ids[units.doc[i]],
                S.excerpt(units.quoted[i]["text"], SEARCH_CHARS),
                units.names[units.doc[i]],
                _date(config, units.quoted[i]),
            )
            for c in shown
            for _, i in search[c]
        ),
        labels=_label_scores(config, units, mixes, has_tokens, doc_mass, doc_tokens, cur),
        training_notes=_training_notes(training),
        vanished_labels=tuple(labels.vanished),
        curation=cur.record(),
        prevalence_chart=prevalence_chart,
    )
    return data, labels


def _finite(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _rows(mixes: np.ndarray, keep: np.ndarray, cols: list[int]) -> np.ndarray:
    return np.asarray(mixes[keep][:, cols])


def _candidates(
    mixes: np.ndarray, has_tokens: np.ndarray, n: int, one_per_document: bool
) -> tuple[list[list[tuple[float, int]]], list[list[tuple[float, int]]]]:
    """Per topic, the units that may be quoted: the representatives' candidates (a wider
    set when one per document is asked for) and the passages the search box looks through.
    Units without tokens carry only the prior and are never quoted; earlier units win ties."""
    width = max(n * 10 if one_per_document else n, SEARCH_UNITS)
    rows = np.flatnonzero(has_tokens)
    reps, search = [], []
    for c in range(mixes.shape[1]):
        col = np.asarray(mixes[rows, c])
        top = rows[np.lexsort((rows, -col))[:width]]
        ranked = [(float(mixes[i, c]), int(i)) for i in top]
        reps.append(ranked)
        search.append(ranked[:SEARCH_UNITS])
    return reps, search


def _one_per_document(
    ranked: list[tuple[float, int]], doc: np.ndarray, n: int, one_per_document: bool
) -> list[tuple[float, int]]:
    if not one_per_document:
        return ranked[:n]
    out, seen = [], set()
    for w, i in ranked:
        if doc[i] not in seen:
            seen.add(doc[i])
            out.append((w, i))
        if len(out) == n:
            break
    return out


def _read_units(config: Config, store: RunStore, n: int, quoted: set[int]) -> _Units:
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
    return _Units(doc, doc_ids, sources, names, labels, periods, period_names, kept)


def document_name(unit: dict[str, Any]) -> str:
    """What the page calls a document, from its first unit: the title segment gives it
    (``title``), else a ``title`` meta field, else its first heading, else the start of
    its text."""
    for name in (unit.get("title"), unit.get("meta", {}).get("title"), unit.get("heading")):
        if name is not None and str(name).strip():
            return " ".join(str(name).split())
    return S.excerpt(" ".join(unit["text"].split()), NAME_CHARS)


def _date(config: Config, unit: dict[str, Any]) -> str:
    """A unit's date for its citation: the prevalence field when it holds dates, else a
    meta field named date; "" when neither is there."""
    cfg = config.report
    dated = cfg.prevalence_field if cfg.prevalence_field and cfg.prevalence_period != "category" else None
    meta = unit.get("meta", {})
    value = meta.get(dated) if dated else None
    return S.date_text(value if value not in (None, "") else meta.get("date"))


def _passage(config: Config, units: _Units, i: int, weight: float) -> Passage:
    u = units.quoted[i]
    return Passage(
        unit_id=u["unit_id"],
        doc_id=u["doc_id"],
        weight=weight,
        source=u["source"],
        line_start=u["line_start"],
        line_end=u["line_end"],
        where=S.citation(u),
        heading=u.get("heading") or "",
        text=S.excerpt(u["text"], config.report.excerpt_chars),
        title=units.names[units.doc[i]],
        date=_date(config, u),
    )


def _coherence(store: RunStore, dct: Any, top: list[list[str]], n_units: int) -> list[float | None]:
    texts = coherence_texts(store, dct, n_units)
    return [_finite(c) for c in measures.coherence(top, texts, dct, "c_npmi")]


def _group_mass(
    group: np.ndarray, n_groups: int, mixes: np.ndarray, lengths: np.ndarray, cols: list[int] | None = None
) -> np.ndarray:
    """Each group's token-weighted sum of its units' mixes (the columns ``cols``, or all),
    read a block of rows at a time from the memory-mapped mixes."""
    mass = np.zeros((n_groups, mixes.shape[1] if cols is None else len(cols)))
    for start in range(0, len(group), 50_000):
        part = slice(start, start + 50_000)
        rows = np.asarray(mixes[part]) if cols is None else np.asarray(mixes[part])[:, cols]
        np.add.at(mass, group[part], rows * lengths[part, None])
    return mass


def _documents(units: _Units, mass: np.ndarray, tokens: np.ndarray, shown: list[int]) -> DocumentRows | None:
    """The documents that carry each shown topic most, in turn, up to HEATMAP_DOCS."""
    has = np.flatnonzero(tokens > 0)
    if not len(has) or not shown:
        return None
    mix = mass[has] / tokens[has, None]
    per_topic = [has[np.lexsort((has, -mix[:, c]))] for c in shown]
    chosen: list[int] = []
    seen: set[int] = set()
    for rank in range(len(has)):
        for order in per_topic:
            d = int(order[rank])
            if d not in seen:
                seen.add(d)
                chosen.append(d)
        if len(chosen) >= HEATMAP_DOCS:
            break
    chosen = chosen[:HEATMAP_DOCS]
    rows = mass[chosen][:, shown] / tokens[chosen, None]
    dominant = rows.argmax(axis=1)
    order = np.lexsort((-rows[np.arange(len(rows)), dominant], dominant))
    chosen = [chosen[i] for i in order]
    return DocumentRows(
        doc_ids=tuple(units.doc_ids[d] for d in chosen),
        sources=tuple(units.sources[d] for d in chosen),
        mixes=rows[order],
        total=len(units.doc_ids),
        names=tuple(units.names[d] for d in chosen),
    )


def _by_period(
    config: Config,
    store: RunStore,
    units: _Units,
    mixes: np.ndarray,
    lengths: np.ndarray,
    phi: np.ndarray,
    shown: list[int],
    shown_ids: list[int],
    id2token: dict[int, str],
    progress: Progress,
) -> tuple[Prevalence | None, Prevalence | None, OverTime | None]:
    """With report.prevalence_field: prevalence per period, the same over the coarser
    periods a long dated chart draws, and (dates only) how the topics' terms changed."""
    if units.periods is None:
        return None, None, None
    view = _prevalence(config, units, mixes, lengths, shown)
    chart = _prevalence_chart(config, units, mixes, lengths, shown)
    over_time = None
    if config.report.prevalence_period != "category" and len(units.period_names) > 1:
        over_time = _over_time(config, store, units, mixes, phi, shown, shown_ids, id2token, progress)
    return view, chart, over_time


def _prevalence(
    config: Config,
    units: _Units,
    mixes: np.ndarray,
    lengths: np.ndarray,
    shown: list[int],
    periods: np.ndarray | None = None,
    names: list[str] | None = None,
    period: str | None = None,
) -> Prevalence:
    """Topic shares per period, with their bootstrap intervals: per the config's periods,
    or per ``names``, with ``periods`` giving each unit's index into them."""
    periods = units.periods if periods is None else periods
    names = units.period_names if names is None else names
    assert periods is not None
    key = units.doc * max(1, len(names)) + periods  # one group: a document in a period
    groups, group_of = np.unique(key, return_inverse=True)
    prev = analysis.bootstrap_prevalence(
        str(config.report.prevalence_field),
        names,
        groups % max(1, len(names)),
        _group_mass(group_of, len(groups), mixes, lengths, shown),
        np.bincount(group_of, minlength=len(groups)),
        RESAMPLES,
        config.run.seed,
    )
    return dataclasses.replace(prev, period=period or config.report.prevalence_period)


def _prevalence_chart(
    config: Config, units: _Units, mixes: np.ndarray, lengths: np.ndarray, shown: list[int]
) -> Prevalence | None:
    """The same shares over coarser periods when a dated series is too long to read
    (month, quarter or year: the finest with at most CHART_PERIODS in its span); None
    when the configured periods are few enough."""
    if units.periods is None or config.report.prevalence_period == "category":
        return None
    coarse = axes.coarser(units.period_names, CHART_PERIODS)
    if coarse is None:
        return None
    grain, of_period = coarse
    names = sorted(set(of_period))
    index = {n: i for i, n in enumerate(names)}
    remap = np.array([index[n] for n in of_period], dtype=np.int64)
    return _prevalence(config, units, mixes, lengths, shown, remap[units.periods], names, grain)


def _over_time(
    config: Config,
    store: RunStore,
    units: _Units,
    mixes: np.ndarray,
    phi: np.ndarray,
    shown: list[int],
    shown_ids: list[int],
    id2token: dict[int, str],
    progress: Progress,
) -> OverTime:
    assert units.periods is not None
    cut = analysis.spans(units.period_names, SPANS)
    span_of_period = np.zeros(len(units.period_names), dtype=np.int64)
    for s, (a, b) in enumerate(cut):
        span_of_period[a : b + 1] = s
    span_of_unit = span_of_period[units.periods]
    sub = phi[shown]
    tracked = np.argsort(-sub, axis=1, kind="stable")[:, :TRACKED_TERMS]
    slot = np.full(sub.shape, -1, dtype=np.int64)
    for t in range(len(shown)):
        slot[t, tracked[t]] = np.arange(tracked.shape[1])
    counts = np.zeros((len(cut), len(shown), tracked.shape[1]))
    corpus = store.load_corpus()
    it: Iterator[Any] = iter(progress.track(corpus, len(corpus), "report: terms over time"))
    start = 0
    while block := list(islice(it, BLOCK)):
        rows = slice(start, start + len(block))
        analysis.expected_counts(
            np.asarray(mixes[rows])[:, shown], block, span_of_unit[rows], sub, slot, counts
        )
        start += len(block)
    names = tuple(
        units.period_names[a] if a == b else f"{units.period_names[a]} – {units.period_names[b]}"
        for a, b in cut
    )
    return OverTime(
        str(config.report.prevalence_field),
        names,
        analysis.term_shifts(counts, tracked, id2token, shown_ids, SPAN_TERMS),
    )


def _topic_map(similarity: np.ndarray, ids: list[int], seed: int) -> dict[int, tuple[float, float]] | None:
    if len(ids) < 2:
        return None
    coords = S.topic_map(1.0 - similarity, seed)
    return {t: (float(x), float(y)) for t, (x, y) in zip(ids, coords, strict=True)}


def _strips(store: RunStore, names: dict[str, str]) -> Strips | None:
    docs, multi = S.segment_strips(store.read_csv("segments.csv"), STRIP_DOCS)
    if not docs:
        return None
    return Strips(
        tuple(
            Strip(
                d["doc_id"],
                d["units"],
                tuple(Block(s["units"], s["topic"], s["first_unit"], s["last_unit"]) for s in d["segments"]),
                names.get(d["doc_id"], ""),
            )
            for d in docs
        ),
        multi,
    )


def _sweep(store: RunStore, training: dict[str, Any]) -> Sweep | None:
    if not store.exists(SWEEP):
        return None
    points = tuple(
        SweepPoint(
            int(r["k"]),
            int(r["seed"]),
            {key: (float(v) if v != "" else None) for key, v in r.items() if key not in ("k", "seed")},
        )
        for r in store.read_csv(SWEEP)
    )
    return Sweep(points, training.get("chosen_k"), training.get("reason"))


def _new_words(store: RunStore) -> tuple[tuple[str, int], ...]:
    """The words tokenize found in the corpus and kept whole, with their counts in its
    sample (none for a run from before it looked for them)."""
    if not store.exists("vocab_audit.json"):
        return ()
    found = store.read_json("vocab_audit.json").get("tokenize", {}).get("new_words", [])
    return tuple((str(w[0]), int(w[1])) for w in found)


def _corpus(
    stages: dict[str, Any], train_duplicates: bool = False, new_words: tuple[tuple[str, int], ...] = ()
) -> Corpus:
    def counts(stage: str) -> dict[str, Any]:
        return dict(stages.get(stage, {}).get("counts", {}))

    seg, tok, dic = counts("segment"), counts("tokenize"), counts("dictionary")
    seg_details = stages.get("segment", {}).get("details", {})
    cov = S.coverage(seg_details.get("coverage", {}))
    learned = seg_details.get("boilerplate", {})
    removed = {
        f: int(tok[f"removed_{f}"])
        for f in ("stopword", "punctuation", "number", "number_suffix", "latin", "short", "pos")
        if tok.get(f"removed_{f}", 0)
    }
    removed["rare or too common"] = int(dic.get("tokens_removed", 0))
    return Corpus(
        files=int(seg.get("files", 0)),
        documents=int(seg.get("documents", 0)),
        units=int(seg.get("units", 0)),
        tokens=int(dic.get("tokens", 0)),
        terms=int(dic.get("terms", 0)),
        removed_lines=int(seg.get("removed_lines", 0)),
        removed_tokens=removed,
        coverage=None
        if cov is None
        else Coverage(
            chars=cov["chars"],
            shares={k: cov[k] for k in ("units", *S.COVERAGE_KINDS)},
            low_files=tuple((f["source"], f["units"], f["mostly"]) for f in cov["low_files"]),
            low_count=cov["low_count"],
        ),
        boilerplate=tuple(
            (str(t), int(d), int(n)) for t, d, n in learned.get("spans", [])[:BOILERPLATE_SHOWN]
        ),
        boilerplate_only=int(learned.get("only_boilerplate_count", 0)),
        duplicates=None if "duplicates" not in seg else int(seg["duplicates"]),
        duplicates_trained=train_duplicates,
        new_words=new_words,
    )


def _label_scores(
    config: Config,
    units: _Units,
    mixes: np.ndarray,
    has_tokens: np.ndarray,
    doc_mass: np.ndarray,
    doc_tokens: np.ndarray,
    cur: Any,
) -> LabelScores | None:
    if units.labels is None:
        return None
    rows = np.flatnonzero(has_tokens)
    dominant = cur.dominant(np.asarray(mixes[rows]))
    unit_scores = measures.label_scores([units.labels[i] for i in rows], dominant.tolist())
    first_label: dict[int, str] = {}
    for i in rows:
        first_label.setdefault(int(units.doc[i]), units.labels[i])
    docs = sorted(d for d in first_label if doc_tokens[d] > 0)
    doc_dominant = cur.dominant(doc_mass[docs] / doc_tokens[docs, None])
    doc_scores = measures.label_scores([first_label[d] for d in docs], doc_dominant.tolist())
    return LabelScores(
        str(config.input.label_field),
        {k: round(v, 4) for k, v in unit_scores.items()},
        {k: round(v, 4) for k, v in doc_scores.items()},
    )


def _training_notes(training: dict[str, Any]) -> tuple[str, ...]:
    notes = []
    if "chosen_k" in training:
        notes.append(f"chosen by a sweep: {training['reason']} (see sweep.csv)")
    if training.get("mean_stability") is not None:
        notes.append(f"mean topic stability across seeds: {training['mean_stability']:.3f}")
    notes += [f"warning: {w}" for w in training.get("warnings") or []]
    return tuple(notes)
