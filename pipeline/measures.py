"""Measures of topics and models: pure functions over arrays, no I/O, no training.

Notation follows the literature: ``phi`` (K x V) is the topic-term matrix, ``theta``
(units x K) the unit-topic matrix, ``lambda`` the relevance weight of LDAvis (Sievert
and Shirley 2014), FREX the frequency-exclusivity score of stm (Roberts et al.).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

# Terms per topic that coherence and exclusivity read, in the sweep and in the report alike,
# so a topic's scores do not change with how many terms the report lists.
SCORED_TERMS = 10


BLOCK = 8  # topics at a time, where each would make a topics x terms array (24 MB at K=50, 60,000 terms)


def js_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - Jensen-Shannon distance (base 2) between every row of ``a`` and of ``b``: in [0, 1]."""
    from scipy.special import rel_entr

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / a.sum(axis=1, keepdims=True)
    b = b / b.sum(axis=1, keepdims=True)
    out = np.empty((a.shape[0], b.shape[0]))
    # A block of b's rows at a time: each comparison makes three rows x terms arrays.
    for i, row in enumerate(a):
        for first in range(0, b.shape[0], BLOCK):
            part = b[first : first + BLOCK]
            m = (row[None, :] + part) / 2.0
            js = (rel_entr(row[None, :], m).sum(axis=1) + rel_entr(part, m).sum(axis=1)) / (2.0 * np.log(2.0))
            # Rounding can leave js a hair below 0 for identical rows: that is distance 0, not NaN.
            out[i, first : first + BLOCK] = 1.0 - np.sqrt(np.clip(js, 0.0, 1.0))
    return out


MATCH_MIN = 0.5  # below this similarity two topics are not the same topic (names, compare)


def match_topics(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one matching of the topics of ``a`` to those of ``b``.

    Returns (index in b for each topic of a, similarity of each matched pair); topics
    left over when the two models differ in size get index -1 and similarity 0.
    """
    sim = js_similarity(a, b)
    rows, cols = linear_sum_assignment(-sim)
    match = np.full(a.shape[0], -1)
    score = np.zeros(a.shape[0])
    match[rows] = cols
    score[rows] = sim[rows, cols]
    return match, score


def stability(models: Sequence[np.ndarray]) -> tuple[int, np.ndarray]:
    """The model that agrees best with the others, and its per-topic stability.

    Each topic's stability is the mean similarity of its matches in the other models;
    the reference is the model with the highest mean stability.
    """
    if len(models) < 2:
        return 0, np.full(models[0].shape[0], np.nan)
    per_model = []
    for i, ref in enumerate(models):
        scores = [match_topics(ref, other)[1] for j, other in enumerate(models) if j != i]
        per_model.append(np.mean(scores, axis=0))
    best = int(np.argmax([s.mean() for s in per_model]))
    return best, per_model[best]


def topic_diversity(phi: np.ndarray, topn: int = 25) -> float:
    """Share of unique terms among the top ``topn`` terms of all topics (Dieng et al. 2020)."""
    top = np.argsort(-phi, axis=1, kind="stable")[:, :topn]
    return float(len(np.unique(top)) / top.size)


def relevance(phi: np.ndarray, term_share: np.ndarray, lam: float) -> np.ndarray:
    """LDAvis relevance: lambda * log p(w|k) + (1 - lambda) * log(p(w|k) / p(w))."""
    with np.errstate(divide="ignore"):
        logphi = np.log(phi)
        lift = logphi - np.log(term_share)[None, :]
    return np.asarray(lam * logphi + (1 - lam) * lift)


def relevance_floored(
    phi: np.ndarray, term_share: np.ndarray, lam: float, term_count: np.ndarray, min_count: int
) -> np.ndarray:
    """Relevance with the terms counted fewer than ``min_count`` times in the corpus left
    out (-inf): at low lambda the rarest terms have the highest lift, from a handful of
    tokens that say nothing about the topic (LDAvis users filter them the same way)."""
    scores = relevance(phi, term_share, lam)
    scores[:, np.asarray(term_count) < min_count] = -np.inf
    return scores


def relevance_terms(
    phi: np.ndarray,
    term_share: np.ndarray,
    term_count: np.ndarray,
    id2token: dict[int, str],
    lam: float,
    topn: int,
    min_count: int,
) -> list[list[tuple[str, float]]]:
    """Per topic, its ``topn`` terms by relevance at ``lam``, of those counted ``min_count``
    times or more."""
    scores = relevance_floored(phi, term_share, lam, term_count, min_count)
    ranked = ranked_terms(scores, id2token, topn)
    return [[(t, s) for t, s in row if s != -np.inf] for row in ranked]


def frex(phi: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """stm's FREX: harmonic mean of the within-topic ECDFs of exclusivity and frequency."""
    total = phi.sum(axis=0, keepdims=True)
    v = phi.shape[1]
    out = np.empty(phi.shape)
    for first in range(0, phi.shape[0], BLOCK):  # a few topics x terms arrays, not seven
        rows = phi[first : first + BLOCK]
        fr = rankdata(rows, method="max", axis=1) / v
        ex = rankdata(rows / total, method="max", axis=1) / v
        out[first : first + BLOCK] = 1.0 / (weight / ex + (1 - weight) / fr)
    return out


def contenders(score: np.ndarray, n: int) -> np.ndarray:
    """The positions of the scores that can be among the ``n`` highest, ties at the n-th
    included, in order: all a sort needs to order for its first ``n``, found without
    sorting them all. ``score`` holds no NaN."""
    if n >= len(score):
        return np.arange(len(score))
    return np.flatnonzero(score >= np.partition(score, len(score) - n)[len(score) - n])


def ranked_terms(scores: np.ndarray, id2token: dict[int, str], topn: int) -> list[list[tuple[str, float]]]:
    """Per topic, the ``topn`` best terms by a score; ties broken by term."""
    out = []
    for row in scores:
        candidates: Any = range(len(row))
        n = min(topn, len(row))
        if 0 < n < len(row) and not np.isnan(row).any():  # -inf (a floored term) partitions too
            candidates = contenders(row, n).tolist()
        order = sorted(candidates, key=lambda i: (-row[i], id2token[i]))[:topn]
        out.append([(id2token[i], float(row[i])) for i in order])
    return out


def exclusivity(phi: np.ndarray, topn: int = SCORED_TERMS) -> np.ndarray:
    """Mean, over a topic's top terms, of the share of the term's probability held by the topic."""
    excl = phi / phi.sum(axis=0, keepdims=True)
    top = np.argsort(-phi, axis=1, kind="stable")[:, :topn]
    return np.array([excl[k, top[k]].mean() for k in range(phi.shape[0])])


def effective_words(phi: np.ndarray) -> np.ndarray:
    """1 / sum p(w|k)^2: how many words a topic effectively spreads over."""
    return np.asarray(1.0 / (phi**2).sum(axis=1))


class TopicAccumulator:
    """Streams over units once to collect prevalence, spread and rank-1 counts."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.mass = np.zeros(k)  # sum of theta * tokens
        self.mass_log = np.zeros(k)  # sum of (theta * tokens) * log(theta * tokens)
        self.rank1 = np.zeros(k, dtype=int)
        self.units = 0

    def add(self, theta: np.ndarray, tokens: int) -> None:
        if not tokens:  # a unit without tokens carries no topic: its theta is only the prior
            return
        m = theta * tokens
        self.mass += m
        with np.errstate(divide="ignore", invalid="ignore"):
            self.mass_log += np.where(m > 0, m * np.log(m), 0.0)
        self.rank1[int(np.argmax(theta))] += 1
        self.units += 1

    def add_rows(self, thetas: Any, tokens: np.ndarray, block: int = 50_000) -> None:
        """``add`` for many units at once (rows of ``thetas``, an array or rows on disk,
        read a block at a time by slices)."""
        for start in range(0, len(tokens), block):
            n = np.asarray(tokens[start : start + block], dtype=float)
            keep = n > 0
            theta = np.asarray(thetas[start : start + block])[keep]
            m = theta * n[keep, None]
            self.mass += m.sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                self.mass_log += np.where(m > 0, m * np.log(m), 0.0).sum(axis=0)
            self.rank1 += np.bincount(theta.argmax(axis=1), minlength=self.k)[: self.k] if len(theta) else 0
            self.units += int(keep.sum())

    def prevalence(self) -> np.ndarray:
        total = self.mass.sum()
        return self.mass / total if total else self.mass

    def document_entropy(self) -> np.ndarray:
        """Entropy of each topic's tokens over the units, divided by log(units): 1 = everywhere."""
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.log(self.mass) - self.mass_log / self.mass
        norm = math.log(self.units) if self.units > 1 else 1.0
        return np.nan_to_num(h / norm)


def junk_flags(diag: dict[str, np.ndarray]) -> list[list[str]]:
    """Reasons a topic looks like junk, after MALLET's diagnostics; empty when none."""
    k = len(diag["coherence"])
    coh = diag["coherence"]
    finite = coh[np.isfinite(coh)]
    low = min(0.0, float(finite.mean() - finite.std())) if finite.size else -np.inf
    flags: list[list[str]] = [[] for _ in range(k)]
    for t in range(k):
        if np.isfinite(coh[t]) and coh[t] < low:
            flags[t].append(f"low coherence ({coh[t]:.3f}, corpus mean {finite.mean():.3f})")
        if diag["effective_words"][t] < 8:
            flags[t].append(f"a few words dominate (effective words {diag['effective_words'][t]:.1f})")
        if diag["document_entropy"][t] > 0.95 and k > 2:
            flags[t].append("spread evenly over the corpus: background or boilerplate")
        if diag["rank1_units"][t] == 0:
            flags[t].append("not the main topic of any unit")
        if diag["token_share"][t] < 0.2 / k:
            flags[t].append(f"very rare ({100 * diag['token_share'][t]:.1f}% of tokens)")
    return flags


def label_scores(labels: Sequence[Any], clusters: Sequence[int]) -> dict[str, float]:
    """NMI, ARI and purity of clusters (dominant topics) against labels."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = [str(x) for x in labels]
    table: dict[int, dict[str, int]] = {}
    for lab, c in zip(labels, clusters, strict=True):
        table.setdefault(c, {}).setdefault(lab, 0)
        table[c][lab] += 1
    purity = sum(max(v.values()) for v in table.values()) / len(labels) if labels else 0.0
    return {
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
        "purity": float(purity),
    }


def coherence(
    topics: list[list[str]], texts: list[list[str]], dictionary: Any, measure: str
) -> list[float | None]:
    """Per-topic coherence from gensim's CoherenceModel: c_v, c_npmi or u_mass, one process."""
    from gensim.models.coherencemodel import CoherenceModel

    if not texts or not topics or min(len(t) for t in topics) < 2:
        return [None] * len(topics)
    kwargs: dict[str, Any] = {"texts": texts}
    if measure == "u_mass":
        kwargs = {"corpus": [dictionary.doc2bow(t) for t in texts]}
    cm = CoherenceModel(
        topics=topics,
        dictionary=dictionary,
        coherence=measure,
        topn=max(len(t) for t in topics),
        processes=1,
        **kwargs,
    )
    return [None if not math.isfinite(v) else float(v) for v in cm.get_coherence_per_topic()]


# -- text segmentation ------------------------------------------------------------------
# A segmentation of n units is the sequence of their segment numbers, e.g. [0, 0, 1, 1, 1].


def segmentation_k(reference: Sequence[int]) -> int:
    """The usual window: half the mean segment length of the reference, at least 1."""
    segments = 1 + sum(a != b for a, b in itertools.pairwise(reference))
    return max(1, round(len(reference) / (2 * segments)))


def _window(reference: Sequence[int], hypothesis: Sequence[int], k: int | None) -> int | None:
    """The window of Pk and WindowDiff (``segmentation_k`` unless given), None if none fits."""
    if len(hypothesis) != len(reference):
        raise ValueError(f"segmentations of {len(reference)} and {len(hypothesis)} units")
    k = segmentation_k(reference) if k is None else k
    return k if len(reference) > k else None


def pk(reference: Sequence[int], hypothesis: Sequence[int], k: int | None = None) -> float | None:
    """Beeferman et al. (1999): the share of unit pairs k apart that one segmentation puts
    in the same segment and the other does not. 0 is perfect; None if n <= k."""
    k = _window(reference, hypothesis, k)
    if k is None:
        return None
    n = len(reference)
    wrong = sum(
        (reference[i] == reference[i + k]) != (hypothesis[i] == hypothesis[i + k]) for i in range(n - k)
    )
    return wrong / (n - k)


def window_diff(reference: Sequence[int], hypothesis: Sequence[int], k: int | None = None) -> float | None:
    """Pevzner and Hearst (2002): the share of windows of k units across which the two
    segmentations count a different number of boundaries. 0 is perfect; None if n <= k."""
    k = _window(reference, hypothesis, k)
    if k is None:
        return None
    n = len(reference)

    def cuts(seg: Sequence[int]) -> np.ndarray:  # cuts[j]: boundaries before unit j
        return np.concatenate([[0], np.cumsum([a != b for a, b in itertools.pairwise(seg)])])

    ref, hyp = cuts(reference), cuts(hypothesis)
    wrong = sum((ref[i + k] - ref[i]) != (hyp[i + k] - hyp[i]) for i in range(n - k))
    return wrong / (n - k)
