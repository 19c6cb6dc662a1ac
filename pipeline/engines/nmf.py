"""A start for topic models: distinct themes from a seeded NMF of the documents' tf-idf.

gensim starts from near-uniform random topics; on short units variational EM then settles
in poor optima (topics that mix every theme). A factorisation of the tf-idf matrix finds
distinct themes first, and the engine's training refines them into LDA topics.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline import em
from pipeline.engines.base import Bow
from pipeline.executor import Executor, LocalExecutor

START_SAMPLE = 20000  # most documents (or units) factorised for the nmf start: bounds its memory
# Coordinate-descent iterations of the factorisation. The start needs distinct themes,
# not a converged factorisation, and the factorisation runs in one process before any
# E-step can: 30 iterations instead of sklearn's 200 (125 to its tolerance on 7,454 news
# items, 2.1 s against 0.65 s) gave the same document NMI on the four corpora of
# bench/quality.py (--docs 2000 --seeds 3; medians within 0.002, NPMI within its seed spread).
START_ITERATIONS = 30


def nmf_topics(
    corpus: Iterable[Bow] | em.RowSource,
    num_terms: int,
    k: int,
    seed: int,
    documents: np.ndarray | None = None,
    eta_prior: np.ndarray | None = None,
    ex: Executor | None = None,
) -> np.ndarray:
    """Starting topic-term counts (K x V) from a seeded NMF of the documents' tf-idf matrix.

    ``documents`` gives each corpus row's document: rows are pooled per document, as
    themes show in which words share a document, not only a paragraph. Each topic gets
    the corpus tokens the factorisation gives it, so the start weighs like one pass.
    With seed words, the components are matched to the seeded topics so that each seeded
    topic starts from the component that leans most towards its words.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfTransformer

    counts, tokens = _start_matrix(corpus, num_terms, k, documents, ex)
    tfidf = TfidfTransformer().fit_transform(counts)
    # NNDSVD needs at least K rows and columns; a random start serves smaller matrices.
    start = "nndsvdar" if k <= min(counts.shape) else "random"
    nmf = NMF(n_components=k, init=start, random_state=seed, max_iter=START_ITERATIONS)
    with warnings.catch_warnings():
        # A start needs distinct themes, not a converged factorisation.
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = nmf.fit_transform(tfidf)
    components = nmf.components_ + 1e-12
    components /= components.sum(axis=1, keepdims=True)
    share = weights.sum(axis=0) + 1e-12
    topics = components * (share / share.sum() * tokens)[:, None]
    if eta_prior is not None:
        from scipy.optimize import linear_sum_assignment

        _, order = linear_sum_assignment(-(eta_prior @ components.T))
        topics = topics[order]
    return np.asarray(topics)


@dataclass
class _StartScan:
    source: em.RowSource
    groups: np.ndarray  # each row's group (document or unit)
    stride: int  # groups kept: every stride-th


Entries = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def _start_rows(part: tuple[int, int, int], scan: _StartScan) -> Entries:
    """One partition's entries of the sampled groups, as (row, column, count); and its tokens."""
    _, start, end = part
    docs = scan.source.read(start, end)
    groups = scan.groups[start:end]
    if scan.source.mask is not None:
        groups = groups[scan.source.mask[start:end]]
    kept = [(int(g) // scan.stride, d) for g, d in zip(groups, docs, strict=True) if g % scan.stride == 0]
    none = np.zeros(0, dtype=np.int64)
    r = np.concatenate([np.full(len(ids), row, dtype=np.int64) for row, (ids, _) in kept] or [none])
    c = np.concatenate([ids for _, (ids, _) in kept] or [none])
    v = np.concatenate([counts for _, (_, counts) in kept] or [none]).astype(np.float64)
    return r, c, v, float(sum(float(counts.sum()) for _, counts in docs))


def _start_matrix(
    corpus: Iterable[Bow] | em.RowSource,
    num_terms: int,
    k: int,
    documents: np.ndarray | None,
    ex: Executor | None = None,
) -> tuple[Any, float]:
    """The term counts to factorise (documents, or units if there are fewer documents than
    topics), an evenly spaced sample of at most START_SAMPLE of them; and the corpus tokens.
    The corpus is read partition by partition on ``ex``."""
    from scipy import sparse

    source = corpus if isinstance(corpus, em.RowSource) else em.RowSource.of(corpus)
    rows = len(source)
    if documents is not None and len(documents) != rows:
        raise ValueError(f"{len(documents)} document numbers for {rows} corpus rows")
    chosen = documents if documents is not None and documents.max() + 1 >= k else np.arange(rows)
    n_groups = int(chosen.max()) + 1
    stride = -(-n_groups // START_SAMPLE)
    groups = chosen
    if source.mask is not None:  # numbered by all rows, as partitions are
        groups = np.zeros(source.rows, dtype=np.int64)
        groups[source.mask] = chosen
    scan = _StartScan(source, groups, stride)
    parts = list((ex or LocalExecutor(1)).map(_start_rows, iter(source.partitions()), scan))
    r, c, v = (np.concatenate([p[i] for p in parts]) for i in range(3))
    tokens = sum(p[3] for p in parts)
    shape = (-(-n_groups // stride), num_terms)
    return sparse.csr_matrix((v, (r, c)), shape=shape), tokens
