"""Summary: the corpus and what cleaning removed, the model, timings, agreement with
known labels and the curation in labels.yaml."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline import measures
from pipeline.reporting import summary as S
from pipeline.reporting.data import Corpus, Coverage, LabelScores, Model, ReportData, Summary
from pipeline.reporting.inputs import MIX_BLOCK, Facts, ReportInputs
from pipeline.reporting.views.basis import Basis

BOILERPLATE_SHOWN = 10  # learned boilerplate spans listed on the page
TOKEN_FILTERS = ("stopword", "punctuation", "number", "number_suffix", "latin", "short", "pos")


def build(inputs: ReportInputs, basis: Basis) -> Summary:
    config, training = inputs.config, inputs.training
    m = config.model
    return Summary(
        corpus=_corpus(inputs.facts, inputs.config.model.train_duplicates, inputs.new_words),
        model=Model(
            engine=inputs.engine,
            num_topics=inputs.topic_term.shape[0],
            passes=m.passes,
            iterations=m.iterations,
            init=m.init,
            alpha=str(m.alpha),
            eta=str(m.eta),
            seed=training.get("seed", config.run.seed),
            steps=inputs.steps,
        ),
        timings=inputs.facts.timings,
        training_notes=_training_notes(training),
        vanished_labels=tuple(inputs.labels.vanished),
        labels=_label_scores(inputs, basis),
        curation=inputs.labels.curation.record(),
    )


def page(data: ReportData) -> dict[str, Any]:
    return {"summary": data.summary, "total_seconds": sum(data.summary.timings.values())}


def _corpus(facts: Facts, train_duplicates: bool, new_words: tuple[tuple[str, int], ...]) -> Corpus:
    seg, tok, dic = (facts.counts.get(stage, {}) for stage in ("segment", "tokenize", "dictionary"))
    seg_details = facts.details.get("segment", {})
    cov = S.coverage(seg_details.get("coverage", {}))
    learned = seg_details.get("boilerplate", {})
    removed = {f: int(tok[f"removed_{f}"]) for f in TOKEN_FILTERS if tok.get(f"removed_{f}", 0)}
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


def _label_scores(inputs: ReportInputs, basis: Basis) -> LabelScores | None:
    """How well the dominant topics agree with input.label_field, per unit and per
    document (a document's label is its first unit's)."""
    units, cur = inputs.units, inputs.labels.curation
    if units.labels is None:
        return None
    rows = np.flatnonzero(basis.has_tokens)
    dominant = np.concatenate(
        [cur.dominant(block) for block in inputs.mixes.blocks(MIX_BLOCK)] or [np.zeros(0, dtype=np.int64)]
    )[rows]
    unit_scores = measures.label_scores([units.labels[i] for i in rows], dominant.tolist())
    first_label: dict[int, str] = {}
    for i in rows:
        first_label.setdefault(int(units.doc[i]), units.labels[i])
    docs = sorted(d for d in first_label if basis.doc_tokens[d] > 0)
    doc_dominant = cur.dominant(basis.doc_mass[docs] / basis.doc_tokens[docs, None])
    doc_scores = measures.label_scores([first_label[d] for d in docs], doc_dominant.tolist())
    return LabelScores(
        str(inputs.config.input.label_field),
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
