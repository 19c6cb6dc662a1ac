"""tokenize: units.jsonl -> tokens.jsonl (jieba words after stopwords and filters).

Each line of ``tokens.jsonl`` is ``{"unit_id": ..., "tokens": [...]}`` in unit order.
Every filter counts what it removed: the counts and the most frequent removed words
go to ``tokenize_audit.json`` (merged into ``vocab_audit.json`` by the dictionary
stage), so a user can see what cleaning cost.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pipeline import corpus
from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.stages.base import Counts, Progress, Stage

NUMBER = re.compile(
    r"^([\d.,:%％+\-/]+|[零〇一二三四五六七八九十两百千万亿几]+)"
    r"([年月日号时分秒天周个次名人位届期批%％]|多|余)?$"
)
LATIN = re.compile(r"^[A-Za-z0-9_.\-+&']+$")
FILTERS = ("punctuation", "number", "latin", "stopword", "short")


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
            entries += [(w, None, None) for w in corpus.load_resource_lines("userdict.txt")]
        for path in cfg.userdict:
            entries += corpus.read_userdict(config.resolve(path))
        for word, freq, pos in entries:
            self._jieba.add_word(word, freq, pos)
        stop: set[str] = set()
        if cfg.builtin_stopwords:
            stop.update(corpus.load_resource_lines("stopwords.txt"))
        for path in cfg.stopwords:
            stop.update(corpus.read_word_list(config.resolve(path)))
        stop.difference_update(cfg.keep_words)
        self.stopwords = frozenset(stop)
        self.removed: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}

    def reason(self, token: str) -> str | None:
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
        return None

    def __call__(self, text: str) -> list[str]:
        kept = []
        for raw in self._jieba.cut(text, HMM=self.cfg.hmm):
            token = raw.strip()
            if not token:
                continue
            why = self.reason(token)
            if why is None:
                kept.append(token)
            else:
                self.removed[why][token] += 1
        return kept


def run(config: Config, store: RunStore, progress: Progress) -> Counts:
    tokenizer = Tokenizer(config)
    counts: dict[str, int] = {"units": 0, "tokens": 0, "empty_units": 0}
    total = store.load_manifest().get("stages", {}).get("segment", {}).get("counts", {}).get("units")

    def rows() -> Iterator[dict[str, Any]]:
        for unit in progress.track(store.read_jsonl("units.jsonl"), total, "tokenize"):
            tokens = tokenizer(unit["text"])
            counts["units"] += 1
            counts["tokens"] += len(tokens)
            counts["empty_units"] += not tokens
            yield {"unit_id": unit["unit_id"], "tokens": tokens}
        if counts["tokens"] == 0:
            # Raised inside the stream so the write is abandoned and old outputs stay.
            removed = ", ".join(f"{k} {sum(c.values())}" for k, c in tokenizer.removed.items())
            raise DataError(
                f"every token was filtered out ({removed}); check tokenize.min_len, "
                "tokenize.stopwords and the input text"
            )

    store.write_jsonl("tokens.jsonl", rows())
    audit = {
        name: {"removed": sum(c.values()), "top": [[w, n] for w, n in c.most_common(30)]}
        for name, c in tokenizer.removed.items()
    }
    store.write_json("tokenize_audit.json", audit)
    for name, c in tokenizer.removed.items():
        counts[f"removed_{name}"] = sum(c.values())
    return counts


STAGE = Stage(
    name="tokenize",
    sections=("tokenize",),
    inputs=("units.jsonl",),
    outputs=("tokens.jsonl", "tokenize_audit.json"),
    run=run,
    summary="segment words with jieba, drop stopwords and noise",
)
