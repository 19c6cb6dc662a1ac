"""Topic summaries: terms, prevalence, coherence and representative passages."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np


def topic_terms(topic_term: np.ndarray, id2token: dict[int, str], topn: int) -> list[list[tuple[str, float]]]:
    """The ``topn`` most probable terms of each topic; ties broken by term for stable output."""
    out = []
    for row in topic_term:
        order = sorted(range(len(row)), key=lambda i: (-row[i], id2token[i]))[:topn]
        out.append([(id2token[i], float(row[i])) for i in order])
    return out


def prevalence(thetas: Iterable[np.ndarray], lengths: Iterable[int], k: int) -> np.ndarray:
    """Each topic's share of corpus tokens: unit distributions weighted by token counts."""
    total = np.zeros(k)
    n = 0
    for theta, length in zip(thetas, lengths, strict=True):
        total += length * theta
        n += length
    return total / n if n else total


def top_units(rows: Iterable[tuple[int, np.ndarray]], k: int, n: int) -> list[list[tuple[float, int]]]:
    """Per topic, the ``n`` units with the highest weight as (weight, row index), kept in bounded heaps."""
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    for index, theta in rows:
        for t in range(k):
            item = (float(theta[t]), -index)  # earlier units win ties
            if len(heaps[t]) < n:
                heapq.heappush(heaps[t], item)
            elif item > heaps[t][0]:
                heapq.heapreplace(heaps[t], item)
    return [[(w, -i) for w, i in sorted(h, reverse=True)] for h in heaps]


def npmi_coherence(terms: list[list[str]], texts: list[list[str]], dictionary: Any) -> list[float | None]:
    """Mean NPMI of each topic's top terms over the units (gensim's c_npmi, one process)."""
    from gensim.models.coherencemodel import CoherenceModel

    if not texts or not terms or min(len(t) for t in terms) < 2:
        return [None] * len(terms)
    cm = CoherenceModel(
        topics=terms,
        texts=texts,
        dictionary=dictionary,
        coherence="c_npmi",
        topn=max(len(t) for t in terms),
        processes=1,
    )
    return [None if math.isnan(v) else float(v) for v in cm.get_coherence_per_topic()]


def excerpt(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stride_sample(items: Iterable[Any], total: int, limit: int) -> Iterator[Any]:
    """Every ``ceil(total/limit)``-th item: a deterministic sample of at most ``limit``."""
    step = max(1, math.ceil(total / limit))
    for i, item in enumerate(items):
        if i % step == 0:
            yield item
