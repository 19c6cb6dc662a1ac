"""Topic segmentation: where the theme changes inside a document, from its units' mixes.

TopicTiling (Riedl and Biemann 2012) in the form of TextTiling (Hearst 1997), over the
topic mixes of a document's units in reading order instead of word counts:

- the coherence of the gap after unit i is the cosine similarity of the topic mixes of
  the ``window`` units before it and the ``window`` units after it, each unit weighted
  by the square root of its tokens and by its nearness to the gap (a triangular window:
  1, 3/4, 1/2, 1/4 of the way out for 4 units);
- a gap's depth is how far its coherence lies below the peaks on either side (climbing
  from the gap while coherence rises);
- a gap whose depth is a local maximum and exceeds mean + 3/4 sd of the document's
  depths becomes a boundary.

The window (3 units) and the cut-off were first chosen on 40 days of the xwlb news
transcripts (``bench/paragraphs.py``, sample seed 42), among windows of 1 to 6 units
and cut-offs from mean - sd / 2 (TextTiling's) to mean + sd: smaller windows and
lower cut-offs cut stories in two. That window weighted its units by their tokens
and all alike across it, so one long unit could fill a side and a unit three away
from the gap counted as much as its neighbour. The weights and window now in use
were chosen on that sample and on 200 days (sample seed 11), model seeds as the
bench's, among unit weights (tokens, their square root, none), flat windows of 3 and
4 units and triangular ones of 3 to 6, and cut-offs mean + 0.5 to 1.25 sd: a
triangular window lowered WindowDiff against a flat one of the same size in 66 of 72
comparisons (engine, sample, weight, cut-off; the 6 others at 3 units and mean +
sd / 2, by 0.005 at most), and square root weights, 4 units and mean + 3/4 sd did
best on both samples together
(WindowDiff, gensim and tomotopy: 0.343 and 0.298 against 0.362 and 0.320 on the 40
days, 0.310 and 0.290 against 0.322 and 0.302 on the 200; merged segments' paragraph
NMI 0.386 and 0.471 against 0.366 and 0.452, and 0.376 and 0.377 against 0.369 and
0.373). Then on 200 days of sample seed 7, which took no part in the choice:
WindowDiff 0.300 and 0.285 against 0.314 and 0.303, paragraph NMI 0.335 and 0.379
against 0.323 and 0.371, same-topic cuts 1.8% and 0.8% against 1.8% and 1.1%.
Smoothing the coherence (2 or 3 gaps) and cutting at depths that are not local
maxima were worse on both samples; giving a segment the plain or log mean of its
units' mixes, or its units' vote, instead of their token-weighted mean, gained on
one sample and lost on the other, so a segment's mix is still that mean.

Units without tokens have no mix of their own: they take no part in the coherence and
join the segment of the unit before them (the one after, at a document's start).

A cut is meant to say where the theme changes: two neighbouring segments whose
dominant topic is the same are one segment (``merge_same_topic``), unless their mixes
differ clearly all the same (cosine similarity below ``SAME_MIX``: the second theme
changes). The cut-off was chosen among 0.6 to 0.9 on the 40 days of xwlb transcripts
(sample seed 42) that chose the window, where every cut-off up to 0.75 left WindowDiff
no worse than without merging for either engine (at 0.7: 0.346 against 0.348 for
gensim, 0.334 against 0.342 for tomotopy), and on 3,000 xwlb items, where the cuts
that still separate segments of one topic are 3.8% at 0.7 and 7.9% at 0.75 (41%
without merging): 0.7 is the highest that keeps them under 5%. Measured with the
window of 3 units then in use; with the triangular window 0.7 still is, on the bench's
share of same-topic cuts (gensim, 40 days: 0.7% at 0.65, 2.0% at 0.7, 6.0% at 0.75),
and WindowDiff moves by 0.001 at most between 0.65 and 0.75.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WINDOW = 4  # units on each side of a gap, weighted 1, 3/4, 1/2, 1/4 from the gap out
CUTOFF_SD = 0.75  # a boundary's depth exceeds the document's mean depth by this many sd
SAME_MIX = 0.7  # cosine similarity at which two neighbouring segments of one topic are one


@dataclass(frozen=True)
class Segment:
    first: int  # index of the first unit in the document
    last: int  # index of the last unit, inclusive
    mix: np.ndarray  # token-weighted mean of its units' mixes (K)
    tokens: int  # 0: no unit of the segment has tokens, and ``mix`` means nothing

    @property
    def dominant(self) -> int | None:
        """The segment's largest column; None without tokens."""
        return int(np.argmax(self.mix)) if self.tokens else None


def gap_coherence(thetas: np.ndarray, weights: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Cosine similarity across each of the n - 1 gaps of n units (rows of ``thetas``,
    each weighted by ``weights``): the units at distance d = 0 .. window - 1 from a gap
    count (window - d) / window on their side of it."""
    n = len(thetas)
    if n < 2:
        return np.zeros(0)
    x = thetas * weights[:, None]
    cut = np.arange(1, n)  # the gap after unit g: cut[g] = g + 1, the first unit of the right side
    left = np.zeros((n - 1, thetas.shape[1]))
    right = np.zeros_like(left)
    for d in range(window):
        near = (window - d) / window
        before, after = cut - 1 - d, cut + d
        left[before >= 0] += near * x[before[before >= 0]]
        right[after < n] += near * x[after[after < n]]
    norm = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    dot = (left * right).sum(axis=1)
    return np.divide(dot, norm, out=np.ones(n - 1), where=norm > 0)


def depth_scores(coherence: np.ndarray) -> np.ndarray:
    """How deep each gap lies below the highest coherence reached by climbing left and right."""
    n = len(coherence)
    left_peak = coherence.copy()  # the top of the climb to the left of each gap
    for g in range(1, n):
        if coherence[g - 1] >= coherence[g]:
            left_peak[g] = left_peak[g - 1]
    right_peak = coherence.copy()
    for g in range(n - 2, -1, -1):
        if coherence[g + 1] >= coherence[g]:
            right_peak[g] = right_peak[g + 1]
    return np.asarray((left_peak - coherence) + (right_peak - coherence))


def boundaries(depth: np.ndarray, cutoff_sd: float = CUTOFF_SD) -> list[int]:
    """The gaps cut: local maxima of depth above mean + ``cutoff_sd`` sd, ascending."""
    if not len(depth) or depth.max() <= 0:
        return []
    cutoff = depth.mean() + cutoff_sd * depth.std()
    cut = []
    for g, d in enumerate(depth):
        left = depth[g - 1] if g > 0 else -np.inf
        right = depth[g + 1] if g + 1 < len(depth) else -np.inf
        if d > 0 and d > cutoff and d >= left and d > right:
            cut.append(g)
    return cut


def topic_tiling(thetas: np.ndarray, tokens: np.ndarray, window: int = WINDOW) -> list[Segment]:
    """A document's units (mixes in reading order, tokens per unit) cut into segments."""
    n = len(thetas)
    if n == 0:
        return []
    k = thetas.shape[1]
    with_tokens = np.flatnonzero(tokens > 0)
    cuts: set[int] = set()  # a cut after unit i
    if len(with_tokens) > 2:  # one or two units: one gap, whose depth is 0
        weights = np.sqrt(tokens[with_tokens].astype(float))
        inner = boundaries(depth_scores(gap_coherence(thetas[with_tokens], weights, window)))
        # A gap between two units with tokens moves to just before the later one, so a unit
        # without tokens stays with the unit before it.
        cuts = {int(with_tokens[g + 1]) - 1 for g in inner}
    segments = []
    start = 0
    for i in range(n):
        if i in cuts or i == n - 1:
            part = slice(start, i + 1)
            count = int(tokens[part].sum())
            mix = (thetas[part] * tokens[part, None]).sum(axis=0) / count if count else np.zeros(k)
            segments.append(Segment(start, i, mix, count))
            start = i + 1
    return segments


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def merge_same_topic(
    segments: list[Segment], dominant: Callable[[Segment], int | None], same_mix: float = SAME_MIX
) -> list[Segment]:
    """Neighbouring segments with the same dominant topic and mixes at least ``same_mix``
    alike (cosine) joined into one, their mixes weighted by their tokens. Joining two mixes
    whose largest column is the same keeps it the largest, so a merged segment keeps the
    topic of its parts."""
    out: list[Segment] = []
    for seg in segments:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.tokens
            and seg.tokens
            and dominant(prev) == dominant(seg)
            and cosine(prev.mix, seg.mix) >= same_mix
        ):
            tokens = prev.tokens + seg.tokens
            mix = (prev.mix * prev.tokens + seg.mix * seg.tokens) / tokens
            out[-1] = Segment(prev.first, seg.last, mix, tokens)
        else:
            out.append(seg)
    return out
