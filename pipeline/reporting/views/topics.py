"""Topic cards: each topic's terms (by probability, relevance and FREX), its measures and
flags, and the passages that carry it most."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from markupsafe import Markup

from pipeline import measures
from pipeline.config import Config
from pipeline.reporting import charts
from pipeline.reporting import summary as S
from pipeline.reporting.data import Passage, ReportData, Term, Topic
from pipeline.reporting.formats import pct, sig
from pipeline.reporting.inputs import Ranked, ReportInputs, Units
from pipeline.reporting.views.basis import Basis

LABEL_TERMS = 10
CHART_TERMS = 12

# A topic card's measures beyond prevalence, coherence and stability: (label, significant
# digits, what it means). token_share is left out: it is the prevalence again.
DIAGNOSTICS = {
    "exclusivity": (
        "exclusivity",
        2,
        "share of its top terms' probability this topic holds rather than others",
    ),
    "effective_words": ("effective words", 3, "how many words the topic spreads over: 1 / Σ p(word)²"),
    "document_entropy": ("spread", 2, "entropy of the topic over the units, 0 to 1: 1 is evenly everywhere"),
}
HIDDEN = {"token_share", "coherence", "stability"}  # shown under their own labels, or repeated
COHERENCE_HINT = "NPMI of the top terms in the same units, -1 to 1: higher is more coherent"
STABILITY_HINT = "similarity to its match in models of other seeds or data, 0 to 1"


def build(inputs: ReportInputs, basis: Basis) -> tuple[Topic, ...]:
    config, units, labels = inputs.config, inputs.units, inputs.labels
    cfg = config.report
    phi, id2token = basis.phi, inputs.dictionary.id2token
    ranked = measures.ranked_terms(phi, id2token, max(cfg.top_terms, measures.SCORED_TERMS))
    by_rel = measures.relevance_terms(
        phi,
        basis.term_share,
        basis.term_count,
        id2token,
        cfg.relevance_lambda,
        cfg.top_terms,
        cfg.relevance_min_count,
    )
    by_frex = measures.ranked_terms(measures.frex(phi), id2token, cfg.top_terms)
    coherence = _coherence(inputs, [[t for t, _ in ts[: measures.SCORED_TERMS]] for ts in ranked])
    stability = inputs.training.get("topic_stability") or [None] * inputs.topic_term.shape[0]
    diag = _diagnostics(basis, coherence, stability)
    flags = measures.junk_flags({**diag, "rank1_units": basis.topics.rank1})
    members = labels.curation.members
    reps = [
        _one_per_document(r, units.doc, cfg.representatives, cfg.one_per_document)
        for r in inputs.quotable.representatives
    ]
    return tuple(
        Topic(
            id=t,
            name=labels.names[t]["name"],
            note=labels.names[t]["note"],
            prevalence=float(basis.prevalence[c]),
            terms=tuple(Term(w, s) for w, s in ranked[c][: cfg.top_terms]),
            relevance=tuple(Term(w, s) for w, s in by_rel[c]),
            frex=tuple(Term(w, s) for w, s in by_frex[c]),
            coherence=coherence[c],
            stability=_finite(stability[t]),
            diagnostics={key: _finite(v[c]) for key, v in diag.items()},
            rank1_units=int(basis.topics.rank1[c]),
            flags=tuple(flags[c]),
            passages=tuple(_passage(config, units, i, w) for w, i in reps[c]),
            merged=tuple(m for m in members.get(t, (t,)) if m != t),
            dropped=bool(basis.dropped[c]),
        )
        for c, t in enumerate(basis.ids)
    )


def page(data: ReportData) -> dict[str, Any] | None:
    if not data.topics:
        return None
    return {
        "terms": {t.id: _term_bars(t) for t in data.topics},
        "metrics": {t.id: _metrics(t) for t in data.topics},
        "label_terms": LABEL_TERMS,
    }


def _diagnostics(
    basis: Basis, coherence: list[float | None], stability: list[float | None]
) -> dict[str, np.ndarray]:
    """MALLET-style diagnostics per kept topic, by name (NaN where one cannot be computed)."""
    acc = basis.topics
    return {
        "token_share": basis.prevalence,
        "coherence": np.array([np.nan if c is None else c for c in coherence]),
        "exclusivity": measures.exclusivity(basis.phi),
        "effective_words": measures.effective_words(basis.phi),
        "document_entropy": acc.document_entropy(),
        "stability": np.array([np.nan if stability[t] is None else stability[t] for t in basis.ids]),
    }


def _coherence(inputs: ReportInputs, top: list[list[str]]) -> list[float | None]:
    """Each topic's NPMI coherence over its top terms, in the units' tokens."""
    return [_finite(c) for c in measures.coherence(top, inputs.coherence_texts, inputs.dictionary, "c_npmi")]


def _finite(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _one_per_document(ranked: Ranked, doc: np.ndarray, n: int, one_per_document: bool) -> Ranked:
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


def unit_date(config: Config, unit: dict[str, Any]) -> str:
    """A unit's date for its citation: the prevalence field when it holds dates, else a
    meta field named date; "" when neither is there."""
    cfg = config.report
    dated = cfg.prevalence_field if cfg.prevalence_field and cfg.prevalence_period != "category" else None
    meta = unit.get("meta", {})
    value = meta.get(dated) if dated else None
    return S.date_text(value if value not in (None, "") else meta.get("date"))


def _passage(config: Config, units: Units, i: int, weight: float) -> Passage:
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
        date=unit_date(config, u),
    )


def _term_bars(t: Topic) -> Markup:
    weights = t.terms[:CHART_TERMS]
    top = max((x.score for x in weights), default=0.0) or 1.0
    bars = [
        charts.Bar(
            x.term, x.score / top, pct(x.score), None, f"{x.term}: {pct(x.score)} of the topic's tokens"
        )
        for x in weights
    ]
    return charts.row_bars(bars, f"Term probabilities of topic {t.id}")


def _metrics(t: Topic) -> list[tuple[str, str, str]]:
    """A topic card's measures as (label, value, what it means), every number formatted."""
    rows = [
        ("prevalence", pct(t.prevalence), "share of the corpus tokens"),
        ("coherence (NPMI)", sig(t.coherence), COHERENCE_HINT),
    ]
    if t.stability is not None:
        rows.append(("stability", sig(t.stability), STABILITY_HINT))
    for key, value in t.diagnostics.items():
        if key in HIDDEN:
            continue
        label, digits, hint = DIAGNOSTICS.get(key, (key.replace("_", " "), 2, ""))
        rows.append((label, sig(value, digits), hint))
    rows.append(
        ("top topic of", f"{t.rank1_units:,} units", "units in which this topic has the largest share")
    )
    return rows
