"""dictionary: tokens.jsonl -> gensim Dictionary, vocab.tsv and the bag-of-words corpus.

The corpus is serialized in Matrix Market format (``corpus/corpus.mm`` with its index)
so training and assignment stream it from disk. Row i of the corpus is unit i of
``units.jsonl``; a unit whose tokens were all filtered is an empty row.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.artifacts import CORPUS, DICTIONARY, RunStore
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.executor import Executor
from pipeline.stages.base import Counts, Progress, Stage


def _token_lists(store: RunStore) -> Iterator[list[str]]:
    for row in store.read_jsonl("tokens.jsonl"):
        yield row["tokens"]


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    from gensim.corpora import Dictionary

    cfg = config.dictionary
    dct = Dictionary(progress.track(_token_lists(store), None, "dictionary"), prune_at=None)
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
    n_units = 0
    n_empty = 0
    n_tokens = 0

    def bows() -> Iterator[list[tuple[int, int]]]:
        nonlocal n_units, n_empty, n_tokens
        for tokens in _token_lists(store):
            bow = dct.doc2bow(tokens)
            n_units += 1
            n_empty += not bow
            n_tokens += sum(c for _, c in bow)
            yield bow

    store.save_corpus(bows(), dct)
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
    inputs=("tokens.jsonl", "tokenize_audit.json"),
    outputs=(DICTIONARY, "vocab.tsv", CORPUS, "vocab_audit.json"),
    run=run,
)
