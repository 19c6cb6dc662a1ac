"""Pure computations behind the report's views: topic relations, prevalence intervals,
terms over time, and the data the relevance explorer re-ranks. Arrays in, dataclasses out."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from pipeline import measures
from pipeline.reporting.data import Explorer, Prevalence, Relations, Term, TermShift

SIMILAR_PAIRS = 5
LAMBDA_STEP = 0.05
LISTED = 0.005  # a chosen term's topics are listed down to this share of its tokens


def relations(
    similarity: np.ndarray, ids: Sequence[int], thetas: np.ndarray | Iterable[np.ndarray]
) -> Relations | None:
    """Hierarchy and merge candidates from the topics' terms; co-occurrence from the units.

    ``similarity`` is ``measures.js_similarity`` of the topics' term distributions; the
    hierarchy is average linkage on the distances ``1 - similarity``;
    co-occurrence is stm's ``topicCorr`` (method "simple"): the Pearson correlation of the
    units' mixes (``thetas``: the rows, or blocks of them), a pair counting as together
    when it is above 0.01.
    """
    k = len(ids)
    if k < 2:
        return None
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    distance = np.clip(1.0 - similarity, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform((distance + distance.T) / 2, checks=False), method="average")
    dendro = dendrogram(tree, no_plot=True, labels=list(ids))
    pairs = sorted(
        ((float(similarity[a, b]), ids[a], ids[b]) for a in range(k) for b in range(a + 1, k)),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    corr = _correlation([thetas] if isinstance(thetas, np.ndarray) else thetas, k)
    together = sorted(
        ((ids[a], ids[b], float(corr[a, b])) for a in range(k) for b in range(a + 1, k) if corr[a, b] > 0.01),
        key=lambda p: (-p[2], p[0], p[1]),
    )
    return Relations(
        leaves=tuple(int(x) for x in dendro["ivl"]),
        links=tuple(
            (tuple(map(float, i)), tuple(map(float, d)))
            for i, d in zip(dendro["icoord"], dendro["dcoord"], strict=True)
        ),
        height=float(tree[:, 2].max()) if len(tree) else 0.0,
        similar=tuple((a, b, s) for s, a, b in pairs[:SIMILAR_PAIRS]),
        correlation=corr,
        together=tuple(together[: SIMILAR_PAIRS * 2]),
    )


def _correlation(blocks: Iterable[np.ndarray], k: int) -> np.ndarray:
    """Pearson correlation of the ``k`` columns of the rows, summed a block at a time."""
    n, s, ss = 0, np.zeros(k), np.zeros((k, k))
    for block in blocks:
        x = np.asarray(block, dtype=float)
        n += len(x)
        s += x.sum(axis=0)
        ss += x.T @ x
    if n < 2:
        return np.eye(k)
    cov = (ss - np.outer(s, s) / n) / (n - 1)
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    corr = np.nan_to_num(corr)
    np.fill_diagonal(corr, 1.0)
    return np.asarray(corr)


def bootstrap_prevalence(
    field: str,
    periods: Sequence[str],
    period_of_group: np.ndarray,
    group_mass: np.ndarray,
    group_units: np.ndarray,
    resamples: int,
    seed: int,
) -> Prevalence:
    """Each period's topic shares of tokens, with a percentile bootstrap interval over its
    documents (a group is one document's units in one period: their token-weighted mixes
    summed). Seeded, so the same run gives the same bounds."""
    rng = np.random.default_rng(seed)
    p, k = len(periods), group_mass.shape[1]
    share, low, high = np.zeros((p, k)), np.zeros((p, k)), np.zeros((p, k))
    units, docs = [], []
    for i in range(p):
        mass = group_mass[period_of_group == i]
        units.append(int(group_units[period_of_group == i].sum()))
        docs.append(len(mass))
        total = mass.sum()
        share[i] = mass.sum(axis=0) / total if total else 0.0
        if len(mass) < 2 or not total:
            low[i] = high[i] = share[i]
            continue
        counts = rng.multinomial(len(mass), np.full(len(mass), 1 / len(mass)), size=resamples)
        draws = counts @ mass
        draws /= np.maximum(draws.sum(axis=1, keepdims=True), 1e-300)
        low[i], high[i] = np.percentile(draws, [2.5, 97.5], axis=0)
    return Prevalence(field, tuple(periods), tuple(units), tuple(docs), share, low, high, resamples)


def spans(periods: Sequence[str], most: int) -> list[tuple[int, int]]:
    """Consecutive periods cut into at most ``most`` spans of nearly equal length: (first, last)."""
    n = len(periods)
    cuts = np.linspace(0, n, min(most, n) + 1).round().astype(int)
    return [(int(a), int(b) - 1) for a, b in itertools.pairwise(cuts) if b > a]


def term_shifts(
    counts: np.ndarray, tracked: np.ndarray, id2token: dict[int, str], ids: Sequence[int], top: int
) -> tuple[TermShift, ...]:
    """Per topic, its top terms in each span and the terms that rose and fell most.

    ``counts[s, t, j]`` is the expected count of topic t's tracked term j (``tracked[t, j]``,
    a dictionary id) in span s: each token shared among the topics in proportion to
    theta * phi, as in the E-step. A term's change is its share of the topic's tracked
    tokens in the second half of the spans less its share in the first half.
    """
    s = counts.shape[0]
    out = []
    for t, topic in enumerate(ids):
        c = counts[:, t, :]
        per_span = tuple(
            tuple(id2token[int(tracked[t, j])] for j in np.argsort(-c[i], kind="stable")[:top] if c[i, j] > 0)
            for i in range(s)
        )
        rose: tuple[Term, ...] = ()
        fell: tuple[Term, ...] = ()
        if s >= 2:
            half = s // 2
            early, late = c[:half].sum(axis=0), c[half:].sum(axis=0)
            if early.sum() and late.sum():
                change = late / late.sum() - early / early.sum()
                order = np.argsort(-change, kind="stable")
                rose = tuple(
                    Term(id2token[int(tracked[t, j])], float(change[j])) for j in order[:top] if change[j] > 0
                )
                fell = tuple(
                    Term(id2token[int(tracked[t, j])], float(change[j]))
                    for j in order[::-1][:top]
                    if change[j] < 0
                )
        out.append(TermShift(int(topic), per_span, rose, fell))
    return tuple(out)


def expected_counts(
    thetas: np.ndarray,
    bows: Sequence[list[tuple[int, int]]],
    span_of_unit: np.ndarray,
    phi: np.ndarray,
    slot: np.ndarray,
    out: np.ndarray,
) -> None:
    """Add a block of units' expected term counts per topic into ``out[span, topic, slot]``
    (``slot[t, w]``: the column of dictionary id w among topic t's tracked terms, or -1)."""
    uid = np.repeat(np.arange(len(bows)), [len(b) for b in bows])
    if not len(uid):
        return
    flat = np.array([x for b in bows for x in b], dtype=np.int64).reshape(-1, 2)
    wid, cnt = flat[:, 0], flat[:, 1].astype(float)
    resp = np.asarray(thetas)[uid] * phi[:, wid].T  # (tokens, topics)
    resp /= np.maximum(resp.sum(axis=1, keepdims=True), 1e-300)
    resp *= cnt[:, None]
    cols = slot[:, wid].T  # (tokens, topics)
    keep = cols >= 0
    rows, topics = np.nonzero(keep)
    np.add.at(out, (span_of_unit[uid[rows]], topics, cols[rows, topics]), resp[rows, topics])


def explorer(
    phi: np.ndarray,
    term_share: np.ndarray,
    term_count: np.ndarray,
    topic_tokens: np.ndarray,
    id2token: dict[int, str],
    lam: float,
    rank: int,
    min_count: int = 0,
) -> Explorer:
    """The terms the page can show for any λ: per topic, the union over λ = 0, 0.05, …, 1
    of its first ``rank`` terms by relevance (Sievert and Shirley 2014), as LDAvis does,
    of the terms counted ``min_count`` times or more."""
    k = phi.shape[0]
    allowed = int((np.asarray(term_count) >= min_count).sum())
    chosen: list[set[int]] = [set() for _ in range(k)]
    for step in np.arange(0.0, 1.0 + 1e-9, LAMBDA_STEP):
        # A block of topics at a time: scoring and ranking make several topics x terms arrays.
        for first in range(0, k, measures.BLOCK):
            scores = measures.relevance_floored(
                phi[first : first + measures.BLOCK], term_share, float(step), term_count, min_count
            )
            top = np.argsort(-scores, axis=1, kind="stable")[:, : min(rank, allowed)]
            for t, terms in enumerate(top, first):
                chosen[t].update(int(w) for w in terms)
    vocab = sorted(set().union(*chosen))
    index = {w: j for j, w in enumerate(vocab)}
    sub = _significant(phi[:, vocab])
    mass = sub * np.asarray(topic_tokens, dtype=float)[:, None]  # (topics, terms)
    total = mass.sum(axis=0)
    held = (mass >= LISTED * total) | (sub >= sub.max(axis=0) / 2)
    return Explorer(
        terms=tuple(id2token[w] for w in vocab),
        share=_significant(term_share[vocab]),
        count=term_count[vocab],
        phi=sub,
        topic_tokens=topic_tokens,
        candidates=tuple(tuple(sorted(index[w] for w in chosen[t])) for t in range(k)),
        holders=tuple(tuple(int(t) for t in np.flatnonzero(held[:, j])) for j in range(len(vocab))),
        mass=total,
        lam=lam,
        rank=rank,
        min_count=min_count,
    )


def _significant(a: np.ndarray, digits: int = 6) -> np.ndarray:
    """Rounded to ``digits`` significant digits: what the page carries, so the script and
    Python rank the same numbers. Zero stays zero."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(np.where(a == 0, 1.0, a)))))
    return np.asarray(np.round(a * scale) / scale)
