"""dictionary: tokens.jsonl -> gensim Dictionary, vocab.tsv and the bag-of-words corpus.

The corpus is serialized in Matrix Market format (``corpus/corpus.mm`` with its index)
so training and assignment stream it from disk. Row i of the corpus is unit i of
``units.jsonl``; a unit whose tokens were all filtered is an empty row.

Both passes over the tokens run on the executor, in partitions of a fixed number of
rows: the first counts each partition's terms in a gensim ``Dictionary`` of its own, and
the partial dictionaries are merged in partition order, which numbers the terms as one
``Dictionary`` reading every row would; the second turns each partition's rows into
bag-of-words lines of the corpus file, written in partition order. The files are
therefore the same however many workers ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from pipeline.artifacts import CORPUS, DICTIONARY, CorpusPart, RunStore, parse_row
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.executor import Executor
from pipeline.stages.base import Counts, Progress, Stage

PARTITION = 5000  # token rows a task
TOKENS = "tokens.jsonl"


Lines = list[tuple[int, str]]  # (line number, line) of tokens.jsonl


def _partitions(store: RunStore) -> Iterator[Lines]:
    lines = store.read_numbered_lines(TOKENS)
    return iter(lambda: list(islice(lines, PARTITION)), [])


def _tokens(lines: Lines, path: Path) -> Iterator[list[str]]:
    for lineno, line in lines:
        yield parse_row(path, lineno, line)["tokens"]


def _count(lines: Lines, path: Path) -> Any:
    """A partition's own Dictionary: its terms numbered in order of first appearance."""
    from gensim.corpora import Dictionary

    return Dictionary(_tokens(lines, path), prune_at=None)


def merge(into: Any, part: Any) -> None:
    """Add a partial Dictionary's counts to ``into``; its new terms are numbered in their
    order in ``part``, so merging partitions in order numbers terms as one pass would.
    (gensim's ``merge_with`` drops the collection frequencies.)"""
    for token, i in part.token2id.items():
        j = into.token2id.setdefault(token, len(into.token2id))
        into.dfs[j] = into.dfs.get(j, 0) + part.dfs[i]
        into.cfs[j] = into.cfs.get(j, 0) + part.cfs[i]
    into.num_docs += part.num_docs
    into.num_pos += part.num_pos
    into.num_nnz += part.num_nnz
    into.id2token = {}


def _rows(part: tuple[int, Lines], dct: Any, path: Path) -> tuple[CorpusPart, int, int]:
    """A partition's rows as Matrix Market lines, numbered from its first row; with its
    count of rows without entries and its tokens."""
    first, lines = part
    out: list[str] = []
    starts: list[int] = []
    size = nnz = empty = tokens = 0
    for row, words in enumerate(_tokens(lines, path), start=first + 1):
        bow = dct.doc2bow(words)
        starts.append(size if bow else -1)
        empty += not bow
        for term, count in bow:
            entry = f"{row} {term + 1} {count}\n"
            out.append(entry)
            size += len(entry)  # ASCII: characters are bytes
            tokens += count
        nnz += len(bow)
    return CorpusPart("".join(out).encode("ascii"), starts, nnz), empty, tokens


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    from gensim.corpora import Dictionary

    cfg = config.dictionary
    dct = Dictionary(prune_at=None)
    path = store.path(TOKENS)
    tokenized = store.load_manifest().get("stages", {}).get("tokenize", {}).get("counts", {}).get("units")
    with progress.task(tokenized, "counting terms", "units") as update:
        for part in ex.map(_count, _partitions(store), path):
            merge(dct, part)
            update(dct.num_docs)
    before = dict(dct.dfs)
    before_cfs = dict(dct.cfs)
    terms_before = len(dct)
    id2token_before = {i: t for t, i in dct.token2id.items()}
    dct.filter_extremes(no_below=cfg.no_below, no_above=cfg.no_above, keep_n=cfg.keep_n)
    if len(dct) == 0:
        raise DataError(
            f"every token was filtered out by the dictionary ({terms_before} terms, none in at "
            f"least {cfg.no_below} units and at most {cfg.no_above:.0%} of units); "
            "lower dictionary.no_below or raise dictionary.no_above"
        )
    kept = set(dct.token2id)
    dropped_ids = [i for i, t in id2token_before.items() if t not in kept]
    dropped = sorted(
        ((id2token_before[i], n) for i, n in before.items() if id2token_before[i] not in kept),
        key=lambda x: (-x[1], x[0]),
    )
    store.save_dictionary(dct)
    rows = sorted(((t, dct.dfs[i], dct.cfs[i]) for t, i in dct.token2id.items()), key=lambda r: (-r[2], r[0]))
    store.write_csv("vocab.tsv", ["token", "doc_freq", "count"], ([*r] for r in rows), delimiter="\t")
    n_units = n_empty = n_tokens = 0

    def parts(update: Callable[..., None]) -> Iterator[CorpusPart]:
        nonlocal n_units, n_empty, n_tokens
        numbered = ((n * PARTITION, lines) for n, lines in enumerate(_partitions(store)))
        for part, empty, tokens in ex.map(_rows, numbered, dct, path):
            n_units += len(part.starts)
            n_empty += empty
            n_tokens += tokens
            yield part
            update(n_units)

    with progress.task(dct.num_docs, "writing the corpus", "units") as update:
        store.save_corpus_parts(parts(update), len(dct))
    audit = {"tokenize": store.read_json("tokenize_audit.json")}
    audit["dictionary"] = {
        "removed_terms": len(dropped),
        "removed_tokens": sum(before_cfs[dct_id] for dct_id in dropped_ids),
        "top": [[t, n] for t, n in dropped[:30]],
        "rule": f"no_below={cfg.no_below}, no_above={cfg.no_above}, keep_n={cfg.keep_n} (doc_freq shown)",
    }
    store.write_json("vocab_audit.json", audit)
    return {
        "terms": len(dct),
        "terms_removed": len(dropped),
        "tokens_removed": audit["dictionary"]["removed_tokens"],
        "units": n_units,
        "empty_units": n_empty,
        "tokens": n_tokens,
    }


STAGE = Stage(
    name="dictionary",
    sections=("dictionary",),
    inputs=(TOKENS, "tokenize_audit.json"),
    outputs=(DICTIONARY, "vocab.tsv", CORPUS, "vocab_audit.json"),
    run=run,
)
