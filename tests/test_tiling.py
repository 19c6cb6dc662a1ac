"""Topic segmentation of long documents, and the measures that score segmentations."""

from __future__ import annotations

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
