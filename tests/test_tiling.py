"""Topic segmentation of long documents, and the measures that score segmentations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline import measures, tiling


@pytest.mark.parametrize(
    ("reference", "hypothesis", "k", "pk", "wd"),
    [
        # Worked by hand: windows i = 0..3 of units i and i + 2.
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1], 2, 2 / 4, 2 / 4),
        # One extra boundary inside the second segment: Pk misses a window that WindowDiff counts.
        ([0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 2, 2], 2, 1 / 4, 2 / 4),
        ([0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1], 2, 0.0, 0.0),
        ([0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1], 3, 1.0, 1.0),
    ],
)
def test_pk_and_window_diff_by_hand(
    reference: list[int], hypothesis: list[int], k: int, pk: float, wd: float
) -> None:
    assert measures.pk(reference, hypothesis, k) == pytest.approx(pk)
    assert measures.window_diff(reference, hypothesis, k) == pytest.approx(wd)


def test_segmentation_k_is_half_the_mean_reference_segment() -> None:
    assert measures.segmentation_k([0, 0, 0, 0, 1, 1, 1, 1]) == 2
    assert measures.segmentation_k([0, 0, 0, 0, 0, 0]) == 3
    assert measures.segmentation_k([0, 1, 2, 3]) == 1
    assert measures.pk([0, 0], [0, 1], 2) is None  # no window fits


def _planted(rng: np.random.Generator, topics: list[int], k: int = 4) -> np.ndarray:
    """Noisy mixes leaning 80% on each unit's planted topic."""
    thetas = rng.dirichlet(np.ones(k), size=len(topics)) * 0.2
    thetas[np.arange(len(topics)), topics] += 0.8
    return thetas


def test_topic_tiling_finds_planted_boundaries() -> None:
    """Paragraphs of two planted topics, in runs: the cuts fall where the run changes."""
    rng = np.random.default_rng(1)
    runs = [(0, 5), (1, 4), (0, 6), (2, 5)]
    topics = [t for t, n in runs for _ in range(n)]
    tokens = rng.integers(20, 60, size=len(topics))
    segments = tiling.topic_tiling(_planted(rng, topics), tokens)
    assert [(s.first, s.last) for s in segments] == [(0, 4), (5, 8), (9, 14), (15, 19)]
    assert [s.dominant for s in segments] == [0, 1, 0, 2]
    reference = [i for i, (_, n) in enumerate(runs) for _ in range(n)]
    found = [i for i, s in enumerate(segments) for _ in range(s.first, s.last + 1)]
    assert measures.window_diff(reference, found) == 0.0


def test_gap_coherence_weights_units_by_nearness_to_the_gap() -> None:
    # Units alternate between two topics; a window of 2 counts the nearer unit 1, the other 1/2.
    thetas = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    coherence = tiling.gap_coherence(thetas, np.ones(4), window=2)
    # [1, 0] against [0.5, 1]; [0.5, 1] against [1, 0.5]; [1, 0.5] against [0, 1]
    np.testing.assert_allclose(coherence, [1 / np.sqrt(5), 0.8, 1 / np.sqrt(5)])


def test_long_units_do_not_hide_the_boundaries_beside_them() -> None:
    """Planted stories whose units differ in length by up to 30 times: a unit counts by the
    square root of its tokens, so one long unit does not fill its side of a window."""
    runs = [(0, 4), (1, 5), (2, 4), (1, 5)]
    topics = [t for t, n in runs for _ in range(n)]
    reference = [i for i, (_, n) in enumerate(runs) for _ in range(n)]
    scores = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        thetas = rng.dirichlet(np.ones(4), size=len(topics)) * 0.5
        thetas[np.arange(len(topics)), topics] += 0.5
        segments = tiling.topic_tiling(thetas, rng.choice([10, 20, 30, 300], size=len(topics)))
        found = [i for i, s in enumerate(segments) for _ in range(s.first, s.last + 1)]
        scores.append(measures.window_diff(reference, found))
    assert np.mean(scores) < 0.03  # 0.008 measured; 0.09 with flat windows of 3 units weighted by tokens


def test_units_without_tokens_join_a_neighbour_and_mark_a_segment_without_topic() -> None:
    rng = np.random.default_rng(2)
    topics = [0, 0, 0, 0, 1, 1, 1, 1]
    thetas = _planted(rng, topics)
    tokens = np.array([0, 30, 30, 30, 0, 30, 30, 30])  # an empty first unit, and one after topic 0's run
    segments = tiling.topic_tiling(thetas, tokens)
    assert [(s.first, s.last) for s in segments] == [(0, 4), (5, 7)]
    np.testing.assert_allclose(segments[0].mix, thetas[1:4].mean(axis=0))
    empty = tiling.topic_tiling(thetas[:2], np.array([0, 0]))
    assert [(s.first, s.last, s.dominant) for s in empty] == [(0, 1, None)]
    assert tiling.topic_tiling(thetas[:1], np.array([10]))[0].dominant == 0


def _segment(first: int, last: int, mix: list[float], tokens: int) -> tiling.Segment:
    return tiling.Segment(first, last, np.array(mix), tokens)


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        # 7 | 7 | 3: the first two are one theme
        (
            [_segment(0, 1, [0.2, 0.8], 10), _segment(2, 3, [0.4, 0.6], 30), _segment(4, 5, [0.9, 0.1], 5)],
            [(0, 3, [0.35, 0.65], 40), (4, 5, [0.9, 0.1], 5)],
        ),
        # 1 | 0 | 1: a change each time, nothing merges
        (
            [_segment(0, 0, [0.2, 0.8], 1), _segment(1, 1, [0.8, 0.2], 1), _segment(2, 2, [0.3, 0.7], 1)],
            [(0, 0, [0.2, 0.8], 1), (1, 1, [0.8, 0.2], 1), (2, 2, [0.3, 0.7], 1)],
        ),
        # one segment
        ([_segment(0, 4, [0.5, 0.5], 8)], [(0, 4, [0.5, 0.5], 8)]),
    ],
)
def test_neighbours_with_the_same_topic_are_one_segment(
    segments: list[tiling.Segment], expected: list[tuple[int, int, list[float], int]]
) -> None:
    merged = tiling.merge_same_topic(segments, lambda s: s.dominant)
    assert [(s.first, s.last, s.tokens) for s in merged] == [(a, b, n) for a, b, _, n in expected]
    for seg, (*_, mix, _) in zip(merged, expected, strict=True):
        np.testing.assert_allclose(seg.mix, mix)
    dominants = [s.dominant for s in merged]
    assert all(a != b for a, b in itertools.pairwise(dominants))


def test_neighbours_of_one_topic_whose_second_theme_changes_stay_apart() -> None:
    # Both lean on topic 1, one with topic 0 beside it, the other with topic 2: cosine 0.65.
    a, b = _segment(0, 2, [0.05, 0.5, 0.45], 10), _segment(3, 5, [0.45, 0.5, 0.05], 10)
    assert tiling.cosine(a.mix, b.mix) < tiling.SAME_MIX
    assert len(tiling.merge_same_topic([a, b], lambda s: s.dominant)) == 2


def test_merged_tiling_of_a_long_document_changes_topic_at_every_cut() -> None:
    rng = np.random.default_rng(3)
    topics = [0] * 8 + [1] * 8 + [1] * 8 + [2] * 8
    thetas = _planted(rng, topics)
    segments = tiling.merge_same_topic(
        tiling.topic_tiling(thetas, np.full(len(topics), 20)), lambda s: s.dominant
    )
    assert [s.dominant for s in segments] == [0, 1, 2]
    assert [s.first for s in segments] == [0, 8, 24]
