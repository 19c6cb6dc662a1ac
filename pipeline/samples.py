"""Deterministic samples of a run's units, and the documents they belong to, shared by
training, assign and the report."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from pipeline.artifacts import RunStore

COHERENCE_SAMPLE = 20000  # units: co-occurrence statistics need texts, so large corpora are sampled


def in_stride_sample(total: int, limit: int) -> Callable[[int], bool]:
    """Whether item i is in a deterministic sample of at most ``limit`` of ``total`` items:
    every ``ceil(total/limit)``-th. Readers skip the other items unread."""
    step = max(1, math.ceil(total / limit))
    return lambda i: i % step == 0


def coherence_texts(store: RunStore, dct: Any, n_units: int) -> list[list[str]]:
    """The texts coherence is counted over, for the sweep and the report alike: the
    units' tokens in the dictionary, every ``n_units / COHERENCE_SAMPLE``-th unit.

    Each token is the dictionary's own string, not the one parsed from its line: held
    once, a sampled token takes a list's 8 bytes, not a string's 78 or more.
    """
    own = {w: w for w in dct.token2id}
    return [
        [own[w] for w in row["tokens"] if w in own]
        for _, row in store.read_jsonl_where("tokens.jsonl", in_stride_sample(n_units, COHERENCE_SAMPLE))
    ]


class Subset:
    """A restartable view of the corpus: the rows whose mask is True.

    Its length is the number of rows it yields: gensim checks the two agree.
    """

    def __init__(self, corpus: Any, mask: np.ndarray) -> None:
        self.corpus = corpus
        self.mask = mask

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for keep, bow in zip(self.mask, self.corpus, strict=True):
            if keep:
                yield bow

    def __len__(self) -> int:
        return int(self.mask.sum())


def document_numbers(store: RunStore) -> tuple[np.ndarray, dict[str, int]]:
    """Each unit's document, numbered in order of first appearance, in corpus row order;
    and the numbering of the doc ids. One pass over units.jsonl."""
    numbers: dict[str, int] = {}
    rows = store.read_jsonl("units.jsonl")
    unit_docs = np.fromiter((numbers.setdefault(row["doc_id"], len(numbers)) for row in rows), dtype=np.int64)
    return unit_docs, numbers
