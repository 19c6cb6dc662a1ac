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
the number of workers. Memory grows with the number of documents: about 900 bytes each
(9 KB with ``MinHashLSH`` itself, on 74,545 news items).

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
    it would find. Each band's values are hashed to one 64-bit key (a collision only adds
    a candidate, which the signatures then judge), kept in a ``_BandIndex``; signatures
    are kept as 32-bit rows of arrays. About 900 bytes an original document (935 on
    30,000 news items)."""

    def __init__(self, threshold: float) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        ranges = list(MinHashLSH(threshold=min(threshold, FLOOR), num_perm=NUM_PERM).hashranges)
        self.bands, self.rows = len(ranges), ranges[0][1] - ranges[0][0]
        if ranges != [(i * self.rows, (i + 1) * self.rows) for i in range(self.bands)]:
            raise ValueError(f"bands of unequal rows: {ranges}")
        self.index = _BandIndex()
        self.ids: list[str] = []  # the originals' doc ids, numbered as indexed
        self.signatures: list[np.ndarray] = []  # blocks of SIGNATURE_BLOCK rows (uint32)

    def _keys(self, values: np.ndarray) -> np.ndarray:
        """One key per band: a polynomial hash of its values, with the band's number."""
        bands = values[: self.bands * self.rows].reshape(self.bands, self.rows)
        keys = np.arange(self.bands, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(self.rows):
                keys = keys * _KEY_BASE + bands[:, j]
        return keys

    def _signature(self, n: int) -> np.ndarray:
        return self.signatures[n // SIGNATURE_BLOCK][n % SIGNATURE_BLOCK]

    def add(self, doc_id: str, sig: Signature | None) -> Duplicate | None:
        if sig is None:
            return None
        values = np.asarray(sig.hashvalues, dtype=np.uint64)
        keys = self._keys(values)
        need = needed(self.threshold, sig.shingles)
        own = values.astype(np.uint32)
        for n in sorted(self.index.find(keys)):
            similarity = float(np.count_nonzero(own == self._signature(n))) / NUM_PERM  # MinHash.jaccard
            if similarity >= need:
                return Duplicate(doc_id, self.ids[n], similarity)
        n = len(self.ids)
        self.index.add(keys, n)
        if n % SIGNATURE_BLOCK == 0:
            self.signatures.append(np.zeros((SIGNATURE_BLOCK, NUM_PERM), dtype=np.uint32))
        self.signatures[-1][n % SIGNATURE_BLOCK] = own
        self.ids.append(doc_id)
        return None


SIGNATURE_BLOCK = 4096  # signatures a block
RECENT = 1 << 16  # keys held in a dict before they join the sorted runs
_KEY_BASE = np.uint64(0x9E3779B97F4A7C15)


class _BandIndex:
    """Band keys -> the originals holding them, as a log-structured index: the latest
    keys in a dict, the rest in sorted runs of (key, original) arrays, 12 bytes an
    entry where a dict entry costs about a hundred; a run is merged with the one before
    it when that is no more than twice its size, so there are few runs to search."""

    def __init__(self) -> None:
        self.recent: dict[int, int | list[int]] = {}
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def find(self, keys: np.ndarray) -> set[int]:
        found: set[int] = set()
        for key in keys.tolist():
            hit = self.recent.get(key)
            if isinstance(hit, int):
                found.add(hit)
            elif hit is not None:
                found.update(hit)
        for run_keys, run_ids in self.runs:
            at = np.searchsorted(run_keys, keys)
            hits = run_keys[np.minimum(at, len(run_keys) - 1)] == keys
            for key, a in zip(keys[hits].tolist(), at[hits].tolist(), strict=True):
                while a < len(run_keys) and run_keys[a] == key:  # a key's originals, in a row
                    found.add(int(run_ids[a]))
                    a += 1
        return found

    def add(self, keys: np.ndarray, n: int) -> None:
        for key in keys.tolist():
            hit = self.recent.get(key)
            if hit is None:
                self.recent[key] = n  # most keys belong to one document: no list for it
            elif isinstance(hit, int):
                self.recent[key] = [hit, n]
            else:
                hit.append(n)
        if len(self.recent) >= RECENT:
            self._flush()

    def _flush(self) -> None:
        pairs = [(k, v) for k, hit in self.recent.items() for v in ([hit] if isinstance(hit, int) else hit)]
        keys = np.fromiter((k for k, _ in pairs), dtype=np.uint64, count=len(pairs))
        ids = np.fromiter((v for _, v in pairs), dtype=np.int32, count=len(pairs))
        self.recent = {}
        self.runs.append((keys, ids))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (k1, i1), (k2, i2) = self.runs.pop(), self.runs.pop()
            self.runs.append((np.concatenate([k2, k1]), np.concatenate([i2, i1])))
        keys, ids = self.runs[-1]
        order = np.argsort(keys, kind="stable")
        self.runs[-1] = (keys[order], ids[order])


def rows(found: list[Duplicate]) -> Iterator[list[str]]:
    for d in found:
        yield [d.doc_id, d.duplicate_of, f"{d.similarity:.4f}"]


def read(store: Any) -> dict[str, str]:
    """doc_id -> the document it duplicates, from a run folder's duplicates.csv (none
    when the file is missing: a run from before duplicates were found)."""
    if not store.exists(DUPLICATES):
        return {}
    return {row["doc_id"]: row["duplicate_of"] for row in store.read_csv(DUPLICATES)}


def training_rows(
    store: Any, train_duplicates: bool, documents: tuple[np.ndarray, dict[str, int]] | None = None
) -> np.ndarray | None:
    """Which corpus rows (units, in units.jsonl order) training uses: all (None) unless
    near-duplicate documents are left out, when theirs are False. ``documents``, each
    unit's document number and the numbering of the doc ids, spares a caller that has
    them a pass over units.jsonl."""
    if train_duplicates:
        return None
    dupes = read(store)
    if not dupes:
        return None
    if documents is None:
        units = store.read_jsonl("units.jsonl")
        return np.fromiter((row["doc_id"] not in dupes for row in units), dtype=bool)
    rows, numbering = documents
    left = np.zeros(len(numbering), dtype=bool)
    left[[numbering[d] for d in dupes if d in numbering]] = True
    return ~left[rows]
