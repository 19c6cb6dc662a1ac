"""The numbers several views share, computed once from the inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline import measures
from pipeline.reporting.inputs import MIX_BLOCK, ReportInputs, Rows


@dataclass(frozen=True)
class Basis:
    """The curated topics and what the mixes say about them.

    ``ids`` are the kept topics (the mixes' columns, in order); ``shown`` the columns the
    charts show (all but the dropped), ``shown_ids`` their topic ids."""

    phi: np.ndarray  # (kept topics, terms): curated topic-term probabilities
    ids: list[int]
    dropped: np.ndarray  # per kept topic: dropped in labels.yaml
    shown: list[int]
    shown_ids: list[int]
    topics: measures.TopicAccumulator  # token mass, rank-1 units and spread per topic
    prevalence: np.ndarray  # per kept topic: share of the tokens
    term_count: np.ndarray  # per term: corpus count
    term_share: np.ndarray
    similarity: np.ndarray  # (shown, shown): Jensen-Shannon similarity, for the map and the tree
    has_tokens: np.ndarray  # per unit
    doc_mass: np.ndarray  # (documents, kept topics): token-weighted sum of the units' mixes
    doc_tokens: np.ndarray  # per document


def basis(inputs: ReportInputs) -> Basis:
    labels, mixes, lengths = inputs.labels, inputs.mixes, inputs.lengths
    cur = labels.curation
    k = inputs.topic_term.shape[0]
    raw_shares = np.asarray(inputs.facts.details.get("assign", {}).get("topic_shares") or np.full(k, 1.0 / k))
    phi = cur.topic_term(inputs.topic_term, raw_shares)
    ids = list(cur.kept)
    dropped = np.array([t in cur.dropped for t in ids])
    acc = measures.TopicAccumulator(len(ids))
    acc.add_rows(mixes, lengths)
    dct = inputs.dictionary
    term_count = np.asarray([dct.cfs.get(i, 0) for i in range(len(dct))], dtype=float)
    shown = [c for c in range(len(ids)) if not dropped[c]]
    units = inputs.units
    return Basis(
        phi=phi,
        ids=ids,
        dropped=dropped,
        shown=shown,
        shown_ids=[ids[c] for c in shown],
        topics=acc,
        prevalence=acc.prevalence(),
        term_count=term_count,
        term_share=term_count / term_count.sum(),
        similarity=measures.js_similarity(phi[shown], phi[shown]),
        has_tokens=lengths > 0,
        doc_mass=group_mass(units.doc, len(units.doc_ids), mixes, lengths),
        doc_tokens=np.bincount(units.doc, weights=lengths, minlength=len(units.doc_ids)),
    )


def group_mass(
    group: np.ndarray,
    n_groups: int,
    mixes: np.ndarray | Rows,
    lengths: np.ndarray,
    cols: list[int] | None = None,
) -> np.ndarray:
    """Each group's token-weighted sum of its units' mixes (the columns ``cols``, or all),
    read a block of rows at a time."""
    mass = np.zeros((n_groups, mixes.shape[1] if cols is None else len(cols)))
    for start in range(0, len(group), MIX_BLOCK):
        part = slice(start, start + MIX_BLOCK)
        rows = np.asarray(mixes[part]) if cols is None else np.asarray(mixes[part])[:, cols]
        np.add.at(mass, group[part], rows * lengths[part, None])
    return mass
