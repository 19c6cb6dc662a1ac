"""tokenize: units.jsonl -> tokens.jsonl (jieba words after stopwords and filters).

Each line of ``tokens.jsonl`` is ``{"unit_id": ..., "tokens": [...]}`` in unit order.
Every filter counts what it removed: the counts and the most frequent removed words,
and the words jieba's HMM found outside its dictionary, go to ``tokenize_audit.json``
(merged into ``vocab_audit.json`` by the dictionary stage), so a user can see what
cleaning cost. Large corpora are cut by ``tokenize.workers`` processes, each loading
jieba and the word lists once; the output is identical to one process.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from pipeline import corpus
from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.stages.base import Counts, Progress, Stage

NUMBER = re.compile(
    r"^第?([\d.,:%％+\-/]+|[零〇一二三四五六七八九十两百千万亿几]+)(多|余)?"
    r"([年月日号时分秒天周个次名人位届期批场件项条种份家所支层级%％])?$"
)
LATIN = re.compile(r"^[A-Za-z0-9_.\-+&']+$")
FILTERS = ("punctuation", "number", "latin", "stopword", "short", "pos")
USER_WORD_TAG = "nz"  # dictionary words without a tag count as proper nouns for the POS filter
BUILTIN_FREQ = 2000
CHUNK = 1000  # units per task sent to a worker
PARALLEL_MIN_UNITS = 4000  # below this, starting workers costs more than it saves


def _is_symbol(token: str) -> bool:
    return all(unicodedata.category(c)[0] in "PSZC" for c in token)


class Tokenizer:
    """jieba with the built-in and user dictionaries, stopwords and token filters."""

    def __init__(self, config: Config) -> None:
        import jieba

        cfg = config.tokenize
        self.cfg = cfg
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        entries: list[tuple[str, int | None, str | None]] = []
        if cfg.builtin_userdict:
            # Compounds get enough weight to win against jieba's own longer words in
            # context (广大党员|干部 -> 广大|党员干部); two-character words keep jieba's
            # suggested weight so they do not swallow their neighbours (统一|线上).
            entries += [
                (w, BUILTIN_FREQ if len(w) >= 3 else None, None)
                for w in corpus.load_resource_lines("userdict.txt")
            ]
        for path in cfg.userdict:
            entries += corpus.read_userdict(config.resolve(path))
        for word, freq, pos in entries:
            self._jieba.add_word(word, freq, pos or USER_WORD_TAG)
        self._pos = None
        if cfg.pos:
            import jieba.posseg

            self._pos = jieba.posseg.POSTokenizer(self._jieba)
        stop: set[str] = set()
        if cfg.builtin_stopwords:
            stop.update(corpus.load_resource_lines("stopwords.txt"))
        for path in cfg.stopwords:
            stop.update(corpus.read_word_list(config.resolve(path)))
        stop.difference_update(cfg.keep_words)
        self.stopwords = frozenset(stop)
        self.removed: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}
        self.new_words: Counter[str] = Counter()

    def reason(self, token: str, tag: str | None = None) -> str | None:
        """Which filter drops this token, or None to keep it."""
        if _is_symbol(token):
            return "punctuation"
        if self.cfg.drop_numbers and NUMBER.match(token):
            return "number"
        if self.cfg.drop_latin and LATIN.match(token):
            return "latin"
        if token in self.stopwords or token.lower() in self.stopwords:
            return "stopword"
        if len(token) < self.cfg.min_len:
            return "short"
        if tag is not None and not tag.startswith(tuple(self.cfg.pos)):
            return "pos"
        return None

    def _cut(self, text: str) -> Iterator[tuple[str, str | None]]:
        if self._pos is not None:
            for pair in self._pos.cut(text, HMM=self.cfg.hmm):
                yield pair.word, pair.flag
        else:
            for word in self._jieba.cut(text, HMM=self.cfg.hmm):
                yield word, None

    def __call__(self, text: str) -> list[str]:
        kept = []
        for raw, tag in self._cut(text):
            token = raw.strip()
            if not token:
                continue
            why = self.reason(token, tag)
            if why is None:
                kept.append(token)
                if token not in self._jieba.FREQ:
                    self.new_words[token] += 1
            else:
                self.removed[why][token] += 1
        return kept

    def take_counts(self) -> tuple[dict[str, Counter[str]], Counter[str]]:
        """The counters so far, reset: how workers report per chunk."""
        removed, new = self.removed, self.new_words
        self.removed = {name: Counter() for name in FILTERS}
        self.new_words = Counter()
        return removed, new


# -- worker processes -----------------------------------------------------------------

_WORKER: Tokenizer | None = None

ChunkResult = tuple[list[list[str]], dict[str, Counter[str]], Counter[str]]


def _init_worker(config: Config) -> None:
    global _WORKER
    _WORKER = Tokenizer(config)


def _tokenize_chunk(texts: list[str]) -> ChunkResult:
    assert _WORKER is not None
    tokens = [_WORKER(t) for t in texts]
    removed, new = _WORKER.take_counts()
    return tokens, removed, new


def tokenize_stream(
    config: Config, texts: Iterable[str], workers: int
) -> Iterator[tuple[list[list[str]], dict[str, Counter[str]], Counter[str]]]:
    """Token lists chunk by chunk, in input order, with at most a few chunks in flight."""
    source = iter(texts)
    chunks = iter(lambda: list(islice(source, CHUNK)), [])
    if workers <= 1:
        _init_worker(config)
        for chunk in chunks:
            yield _tokenize_chunk(chunk)
        return
    # fork where the platform has it: spawn would re-import the caller's __main__, which
    # breaks scripts without a main guard. Workers touch only jieba and this module.
    method = "fork" if "fork" in get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        workers, mp_context=get_context(method), initializer=_init_worker, initargs=(config,)
    ) as pool:
        pending: deque[Future[ChunkResult]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_tokenize_chunk, chunk))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def worker_count(config: Config, n_units: int | None) -> int:
    wanted = config.tokenize.workers or os.cpu_count() or 1
    if n_units is not None and n_units < PARALLEL_MIN_UNITS:
        return 1
    return wanted


# -- the stage ------------------------------------------------------------------------


def _apply_phrases(config: Config, store: RunStore) -> tuple[int, list[tuple[str, float]]]:
    """Learn collocations over tokens.jsonl, rewrite it with them joined, return candidates."""
    from gensim.models.phrases import Phrases

    cfg = config.tokenize

    def sentences() -> Iterator[list[str]]:
        for row in store.read_jsonl("tokens.jsonl"):
            yield row["tokens"]

    phrases = Phrases(
        sentences(),
        min_count=cfg.phrases_min_count,
        threshold=cfg.phrases_threshold,
        scoring="npmi",
        delimiter="",
    ).freeze()
    found = sorted(phrases.phrasegrams.items(), key=lambda kv: (-kv[1], kv[0]))
    joined = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal joined
        for row in store.read_jsonl("tokens.jsonl"):
            tokens = phrases[row["tokens"]]
            joined += len(row["tokens"]) - len(tokens)
            yield {"unit_id": row["unit_id"], "tokens": tokens}

    store.write_jsonl("tokens.jsonl", rows())
    return joined, [(p, float(s)) for p, s in found]


def run(config: Config, store: RunStore, progress: Progress) -> Counts:
    counts: dict[str, int] = {"units": 0, "tokens": 0, "empty_units": 0}
    segment_counts = store.load_manifest().get("stages", {}).get("segment", {}).get("counts", {})
    total = segment_counts.get("units")
    workers = worker_count(config, total)
    removed: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}
    new_words: Counter[str] = Counter()

    def rows() -> Iterator[dict[str, Any]]:
        ids: deque[str] = deque()

        def texts() -> Iterator[str]:
            for unit in store.read_jsonl("units.jsonl"):
                ids.append(unit["unit_id"])
                yield unit.get("text_simplified", unit["text"])

        for token_lists, chunk_removed, chunk_new in progress.track(
            tokenize_stream(config, texts(), workers),
            None if total is None else -(-total // CHUNK),
            "tokenize",
        ):
            for name, c in chunk_removed.items():
                removed[name].update(c)
            new_words.update(chunk_new)
            for tokens in token_lists:
                counts["units"] += 1
                counts["tokens"] += len(tokens)
                counts["empty_units"] += not tokens
                yield {"unit_id": ids.popleft(), "tokens": tokens}
        if counts["tokens"] == 0:
            # Raised inside the stream so the write is abandoned and old outputs stay.
            shown = ", ".join(f"{k} {sum(c.values())}" for k, c in removed.items())
            raise DataError(
                f"every token was filtered out ({shown}); check tokenize.min_len, "
                "tokenize.stopwords and the input text"
            )

    store.write_jsonl("tokens.jsonl", rows())
    candidates: list[tuple[str, float]] = []
    if config.tokenize.phrases:
        counts["phrase_joins"], candidates = _apply_phrases(config, store)
        counts["phrases"] = len(candidates)
    store.write_csv(
        "phrases.tsv", ["phrase", "npmi"], ([p, f"{s:.4f}"] for p, s in candidates), delimiter="\t"
    )
    audit: dict[str, Any] = {
        name: {"removed": sum(c.values()), "top": [[w, n] for w, n in c.most_common(30)]}
        for name, c in removed.items()
    }
    audit["hmm_new_words"] = [[w, n] for w, n in new_words.most_common(100)]
    store.write_json("tokenize_audit.json", audit)
    for name, c in removed.items():
        counts[f"removed_{name}"] = sum(c.values())
    counts["workers"] = workers
    return counts


STAGE = Stage(
    name="tokenize",
    sections=(
        "tokenize.stopwords",
        "tokenize.keep_words",
        "tokenize.builtin_stopwords",
        "tokenize.userdict",
        "tokenize.builtin_userdict",
        "tokenize.hmm",
        "tokenize.min_len",
        "tokenize.drop_numbers",
        "tokenize.drop_latin",
        "tokenize.pos",
        "tokenize.phrases",
        "tokenize.phrases_threshold",
        "tokenize.phrases_min_count",
    ),
    inputs=("units.jsonl",),
    outputs=("tokens.jsonl", "tokenize_audit.json", "phrases.tsv"),
    run=run,
    summary="segment words with jieba, drop stopwords and noise",
)
