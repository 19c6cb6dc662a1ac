"""Near-duplicate documents: MinHash signatures of character shingles, found with LSH.

News, Weibo and scraped corpora repeat items (reposts, one story on two days, one
document filed under two classes); a story told twice would weigh twice in training
and show twice among a topic's passages. Each document's text, as it reached units
(furniture and boilerplate gone, spaces dropped), is cut into overlapping character
shingles of ``SHINGLE`` characters; its MinHash signature (datasketch, ``NUM_PERM``
permutations) estimates the Jaccard similarity of two documents' shingle sets.

Documents are taken in input order: one whose estimated similarity to an earlier
document that is not itself a duplicate reaches ``segment.duplicate_similarity`` is a
duplicate of the first such document. In a short text one changed character takes a
large share of the shingles (three of the 18 of a 20-character title), so a text of
few shingles needs less: what is left after ``SHORT_EDITS`` changed characters, never
below ``FLOOR`` (``duplicates.csv``: ``doc_id``, ``duplicate_of``, ``similarity``);
the others are indexed by LSH bands (the bands datasketch's ``MinHashLSH`` would
choose) that find such candidates without comparing every pair.
Signatures are computed where each document is segmented (on the run's workers); the
index is kept in the main process, in input order, so the result does not depend on
the number of workers. Memory grows with the number of documents: about 4 KB each (9 KB with
``MinHashLSH`` itself, on 74,545 news items).

By default the training leaves duplicates out (``model.train_duplicates``), and the
report does not quote them; they still get their topic mixes in every output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

SHINGLE = 3  # characters a shingle
NUM_PERM = 128  # MinHash permutations
SEED = 1
SHORT_EDITS = 2  # changed characters a short text may differ by and still be a near-duplicate
FLOOR = 0.5  # the least similarity that makes a near-duplicate, however short the text
BATCH = 1 << 16  # shingles permuted at a time
SCHEME = "affine32"  # datasketch's hash scheme, named so that signatures stay comparable
DUPLICATES = "duplicates.csv"
HEADER = ["doc_id", "duplicate_of", "similarity"]
_BASE = np.uint64(1_000_003)
_MASK = np.uint64(0xFFFFFFFF)


def _hash32(value: int) -> int:
    """The shingles arrive hashed (``shingle_hashes``); datasketch applies its permutations."""
    return value


def shingle_hashes(text: str, size: int = SHINGLE) -> np.ndarray:
    """32-bit hashes of the text's distinct ``size``-character shingles (spaces dropped).
    A text shorter than a shingle is one shingle."""
    codes = np.frombuffer("".join(text.split()).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) == 0:
        return np.zeros(0, dtype=np.uint64)
    size = min(size, len(codes))
    h = np.zeros(len(codes) - size + 1, dtype=np.uint64)
    for i in range(size):  # a polynomial hash of each window, computed for all windows at once
        h = (h * _BASE + codes[i : len(codes) - size + 1 + i]) & _MASK
    return np.unique(h)


@dataclass(frozen=True)
class Signature:
    """A document's MinHash signature and the number of its distinct shingles."""

    hashvalues: np.ndarray
    shingles: int


def signature(text: str, size: int = SHINGLE) -> Signature | None:
    """The MinHash signature of a document's text; None for a text without characters."""
    from datasketch import MinHash

    hashes = shingle_hashes(text, size)
    if not len(hashes):
        return None
    m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_hash32, scheme=SCHEME, permutations=_permutations())
    # In slices: datasketch permutes a batch as one (shingles x NUM_PERM) array, which for
    # a document of a 200 MB line would be tens of gigabytes; the minimum is the same.
    for start in range(0, len(hashes), BATCH):
        m.update_batch(hashes[start : start + BATCH].tolist())
    return Signature(np.asarray(m.hashvalues, dtype=np.uint64), len(hashes))


@cache
def _permutations() -> Any:
    """datasketch's permutations for ``NUM_PERM`` and ``SEED``, drawn once a process, not
    for every document's MinHash."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_hash32, scheme=SCHEME).permutations


def needed(threshold: float, shingles: int) -> float:
    """The similarity a text of ``shingles`` shingles needs: ``threshold``, or what
    ``SHORT_EDITS`` changed characters leave of a short text, never below ``FLOOR``."""
    changed = SHORT_EDITS * SHINGLE  # shingles a changed character can touch, on each side
    edits = (shingles - changed) / (shingles + changed)
    return max(min(threshold, FLOOR), min(threshold, edits))


@dataclass(frozen=True)
class Duplicate:
    doc_id: str
    duplicate_of: str
    similarity: float


class Finder:
    """Documents in input order: each is a duplicate of the first earlier original it is
    similar enough to, or an original itself.

    The originals are indexed by LSH bands: two documents are candidates when one band
    (``r`` consecutive values of their signatures) is equal. The bands and rows are
    datasketch's ``MinHashLSH`` choice for the threshold, so the candidates are the ones
    it would find; each band is a dict from the band's bytes to the originals holding it,
    about half the memory of ``MinHashLSH``'s set a band a document."""

    def __init__(self, threshold: float) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.ranges = list(MinHashLSH(threshold=min(threshold, FLOOR), num_perm=NUM_PERM).hashranges)
        self.bands: list[dict[bytes, int | list[int]]] = [{} for _ in self.ranges]
        self.originals: list[tuple[str, np.ndarray]] = []  # (doc_id, signature), numbered as indexed

    def _candidates(self, values: np.ndarray) -> set[int]:
        found: set[int] = set()
        for (start, end), band in zip(self.ranges, self.bands, strict=True):
            hit = band.get(values[start:end].tobytes())
            if isinstance(hit, int):
                found.add(hit)
            elif hit is not None:
                found.update(hit)
        return found

    def add(self, doc_id: str, sig: Signature | None) -> Duplicate | None:
        if sig is None:
            return None
        values = np.asarray(sig.hashvalues, dtype=np.uint64)
        need = needed(self.threshold, sig.shingles)
        for n in sorted(self._candidates(values)):
            original, other = self.originals[n]
            similarity = float(np.count_nonzero(values == other)) / NUM_PERM  # MinHash.jaccard
            if similarity >= need:
                return Duplicate(doc_id, original, similarity)
        n = len(self.originals)
        for (start, end), band in zip(self.ranges, self.bands, strict=True):
            key = values[start:end].tobytes()
            hit = band.get(key)
            if hit is None:
                band[key] = n  # most bands hold one document: no list for it
            elif isinstance(hit, int):
                band[key] = [hit, n]
            else:
                hit.append(n)
        self.originals.append((doc_id, values))
        return None


def rows(found: list[Duplicate]) -> Iterator[list[str]]:
    for d in found:
        yield [d.doc_id, d.duplicate_of, f"{d.similarity:.4f}"]


def read(store: Any) -> dict[str, str]:
    """doc_id -> the document it duplicates, from a run folder's duplicates.csv (none
    when the file is missing: a run from before duplicates were found)."""
    if not store.exists(DUPLICATES):
        return {}
    return {row["doc_id"]: row["duplicate_of"] for row in store.read_csv(DUPLICATES)}


def training_rows(store: Any, train_duplicates: bool) -> np.ndarray | None:
    """Which corpus rows (units, in units.jsonl order) training uses: all (None) unless
    near-duplicate documents are left out, when theirs are False."""
    if train_duplicates:
        return None
    dupes = read(store)
    if not dupes:
        return None
    return np.fromiter((row["doc_id"] not in dupes for row in store.read_jsonl("units.jsonl")), dtype=bool)
