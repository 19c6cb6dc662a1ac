"""Topic measures checked against values computed by hand and against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from pipeline import measures

PHI = np.array([[0.4, 0.35, 0.25], [0.1, 0.6, 0.3]])


def test_frex_matches_hand_computed_values() -> None:
    # Exclusivity: [[.8, .368, .455], [.2, .632, .545]]; ECDFs within each topic, then the
    # harmonic mean with weight 0.5.
    expected = np.array([[1.0, 4 / 9, 4 / 9], [1 / 3, 1.0, 2 / 3]])
    assert np.allclose(measures.frex(PHI), expected)


def test_relevance_matches_hand_computed_values() -> None:
    share = np.array([0.5, 0.3, 0.2])
    rel = measures.relevance(PHI, share, 0.6)
    assert rel[0, 0] == pytest.approx(0.6 * math.log(0.4) + 0.4 * math.log(0.4 / 0.5))
    assert rel[1, 2] == pytest.approx(0.6 * math.log(0.3) + 0.4 * math.log(0.3 / 0.2))
    assert np.allclose(measures.relevance(PHI, share, 1.0), np.log(PHI))  # lambda 1: by probability


def test_ranked_terms_orders_by_score_then_term() -> None:
    id2token = {0: "乙", 1: "甲", 2: "丙"}
    ranked = measures.ranked_terms(np.array([[0.2, 0.5, 0.2]]), id2token, 3)
    assert [t for t, _ in ranked[0]] == ["甲", "丙", "乙"]


def test_ranked_terms_with_many_terms_and_ties_match_a_full_sort() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=(4, 300)).astype(float)  # many ties at every rank
    id2token = {i: f"w{rng.integers(1000):03d}-{i}" for i in range(300)}
    for topn in (1, 10, 299, 300, 400):
        ranked = measures.ranked_terms(scores, id2token, topn)
        for row, got in zip(scores, ranked, strict=True):
            full = sorted(range(300), key=lambda i, row=row: (-row[i], id2token[i]))[:topn]
            assert got == [(id2token[i], float(row[i])) for i in full]


def _random_topics(seed: int, k: int = 6, v: int = 200) -> np.ndarray:
    return np.random.RandomState(seed).dirichlet(np.full(v, 0.05), size=k)


def test_stability_is_one_for_identical_models_in_any_order() -> None:
    phi = _random_topics(0)
    _, scores = measures.stability([phi, phi[::-1], phi[[1, 0, 2, 3, 4, 5]]])
    assert np.allclose(scores, 1.0)


def test_stability_is_low_for_unrelated_models() -> None:
    _, scores = measures.stability([_random_topics(s) for s in range(4)])
    assert scores.max() < 0.5


def test_match_topics_finds_the_permutation() -> None:
    phi = _random_topics(1)
    order = np.array([3, 0, 5, 1, 4, 2])
    match, score = measures.match_topics(phi, phi[order])
    assert [int(order[m]) for m in match] == list(range(6))
    assert np.allclose(score, 1.0)


@pytest.mark.parametrize(
    ("labels", "clusters", "purity"),
    [
        (["a", "a", "b", "b", "c"], [0, 0, 1, 1, 1], 0.8),
        (["x", "y", "x", "y"], [0, 1, 0, 1], 1.0),
        (["x", "x", "x", "y"], [0, 0, 0, 0], 0.75),
    ],
)
def test_label_scores_match_scikit_learn(labels: list[str], clusters: list[int], purity: float) -> None:
    s = measures.label_scores(labels, clusters)
    assert s["nmi"] == pytest.approx(normalized_mutual_info_score(labels, clusters))
    assert s["ari"] == pytest.approx(adjusted_rand_score(labels, clusters))
    assert s["purity"] == pytest.approx(purity)


def test_topic_diversity_counts_unique_top_terms() -> None:
    phi = np.array([[0.5, 0.3, 0.1, 0.1], [0.5, 0.1, 0.3, 0.1]])
    assert measures.topic_diversity(phi, topn=2) == pytest.approx(3 / 4)


def test_accumulator_gives_prevalence_entropy_and_rank1() -> None:
    acc = measures.TopicAccumulator(2)
    for theta, n in [([1.0, 0.0], 10), ([0.5, 0.5], 10), ([0.0, 1.0], 20)]:
        acc.add(np.array(theta), n)
    assert np.allclose(acc.prevalence(), [15 / 40, 25 / 40])
    assert list(acc.rank1) == [2, 1]  # the tie goes to the first topic
    # Topic 0 sits in two units with masses 10 and 5: entropy over log(3 units).
    h0 = -(10 / 15 * math.log(10 / 15) + 5 / 15 * math.log(5 / 15)) / math.log(3)
    assert acc.document_entropy()[0] == pytest.approx(h0)


def test_junk_flags_name_their_reason() -> None:
    diag = {
        "coherence": np.array([0.1, 0.12, -0.4, 0.11]),
        "effective_words": np.array([50.0, 4.0, 60.0, 40.0]),
        "document_entropy": np.array([0.5, 0.6, 0.5, 0.99]),
        "rank1_units": np.array([10, 5, 3, 0]),
        "token_share": np.array([0.3, 0.3, 0.3, 0.1]),
    }
    flags = measures.junk_flags(diag)
    assert flags[0] == []
    assert any("few words dominate" in f for f in flags[1])
    assert any("low coherence" in f for f in flags[2])
    assert any("background" in f for f in flags[3]) and any("not the main topic" in f for f in flags[3])
