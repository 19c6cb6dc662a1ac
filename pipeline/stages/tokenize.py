"""tokenize: units.jsonl -> tokens.jsonl (jieba words after stopwords and filters).

Each line of ``tokens.jsonl`` is ``{"unit_id": ..., "tokens": [...]}`` in unit order.
Words are cut by ``tokenize.engine``: jieba (the Python package) or rjieba (jieba-rs,
the same dictionary and HMM, several times faster); both get the same built-in and
user dictionary words, and everything after cutting is shared. Every filter counts
what it removed: the counts and the most frequent removed words, and the words
jieba's HMM found outside its dictionary, go to ``tokenize_audit.json`` (merged into
``vocab_audit.json`` by the dictionary stage), so a user can see what cleaning cost.
Large corpora are cut in partitions on the run's executor (``executor.workers``
processes, or a Dask cluster's workers), each worker loading the segmenter and the
word lists once and turning raw ``units.jsonl`` lines into finished ``tokens.jsonl``
lines; the output is identical to one process.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

from pipeline import corpus, newwords
from pipeline.artifacts import RunStore
from pipeline.config import Config
from pipeline.errors import DataError
from pipeline.executor import Executor, LocalExecutor
from pipeline.stages.base import Counts, Progress, Stage

NUMBER = re.compile(
    r"^第?([\d.,:%％+\-/]+|[零〇一二三四五六七八九十两百千万亿几]+)(多|余)?"
    r"([年月日号时分秒天周个次名人位届期批场件项条种份家所支层级%％])?$"
)
LATIN = re.compile(r"^[A-Za-z0-9_.\-+&']+$")
# A measure or date suffix that jieba cut from its number keeps a character of the next
# word: 16日称 -> 16 | 日称, 3月份 -> 3 | 月份, 10年来 -> 10 | 年来. After a number such a
# two-character token is the number's, and goes with it.
NUMERIC = re.compile(r"^(\d[\d.,]*|[零〇一二三四五六七八九十两百千万亿]+)$")
UNIT_LED = re.compile(r"^[年月日号时分秒天周个次名人位届期批场件项条种份家所支层级]\w$")
FILTERS = ("punctuation", "number", "latin", "stopword", "short", "pos", "number_suffix")
USER_WORD_TAG = "nz"  # dictionary words without a tag count as proper nouns for the POS filter
BUILTIN_FREQ = 2000
CHUNK = 1000  # units per task sent to a worker
PARTITION = 10 * CHUNK  # units per task on a Dask cluster
PARALLEL_MIN_UNITS = 4000  # below this, starting workers costs more than it saves
VERDICT_CACHE = 200_000  # distinct raw words whose filter verdict is remembered (bounded memory)


def _is_symbol(token: str) -> bool:
    return all(unicodedata.category(c)[0] in "PSZC" for c in token)


Entry = tuple[str, int | None, str | None]  # a dictionary word, its weight, its part of speech
Cut = Callable[[str], list[str]]
Tag = Callable[[str], list[tuple[str, str]]]


def _rjieba(entries: list[Entry], hmm: bool, tagged: bool) -> tuple[Cut, Tag | None, Callable[[str], bool]]:
    import rjieba

    seg = rjieba.Jieba()
    for word, freq, pos in entries:
        # rjieba needs a whole-number weight: jieba's own rule (add_word with
        # freq=None) is suggest_freq against the dictionary so far, in the same order.
        seg.add_word(word, seg.suggest_freq(word) if freq is None else freq, pos or USER_WORD_TAG)
    tag: Tag | None = (lambda text: seg.tag(text, hmm)) if tagged else None
    return (lambda text: seg.cut(text, hmm)), tag, seg.has_word


def _jieba(entries: list[Entry], hmm: bool, tagged: bool) -> tuple[Cut, Tag | None, Callable[[str], bool]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jb = jieba.Tokenizer()
    jb.initialize()
    for word, freq, pos in entries:
        jb.add_word(word, freq, pos or USER_WORD_TAG)
    tag: Tag | None = None
    if tagged:
        import jieba.posseg

        pos_tok = jieba.posseg.POSTokenizer(jb)
        tag = lambda text: [(p.word, p.flag) for p in pos_tok.cut(text, HMM=hmm)]  # noqa: E731
    # FREQ also holds every prefix of a dictionary word with weight 0: not words.
    return (lambda text: jb.lcut(text, HMM=hmm)), tag, (lambda word: bool(jb.FREQ.get(word)))


# tokenize.engine -> what builds its word cutter, part-of-speech tagger and dictionary test.
SEGMENTERS: dict[str, Callable[[list[Entry], bool, bool], tuple[Cut, Tag | None, Callable[[str], bool]]]] = {
    "jieba": _jieba,
    "rjieba": _rjieba,
}


class Tokenizer:
    """jieba or rjieba with the built-in and user dictionaries, stopwords and token filters.

    Calling it cuts one text and returns the kept tokens. What the filters removed and
    which kept words are outside the dictionary are counted in ``removed`` and
    ``new_words``. The filter verdict of each distinct raw word is computed once and
    remembered (up to ``VERDICT_CACHE`` words), so filtering costs a dictionary lookup
    per token; the counters are filled lazily from one C-level ``Counter.update`` per text.
    """

    def __init__(self, config: Config, new_words: Sequence[str] = ()) -> None:
        cfg = config.tokenize
        self.cfg = cfg
        self.engine = cfg.engine
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
        # Words found in this corpus (pipeline.newwords), all of three characters or more.
        entries += [(w, BUILTIN_FREQ, None) for w in new_words]
        hmm = cfg.hmm
        self._words, self._tagged, self._known = SEGMENTERS[cfg.engine](entries, hmm, bool(cfg.pos))
        self._pos_prefixes = tuple(cfg.pos)
        stop: set[str] = set()
        if cfg.builtin_stopwords:
            stop.update(corpus.load_resource_lines("stopwords.txt"))
        for path in cfg.stopwords:
            stop.update(corpus.read_word_list(config.resolve(path)))
        stop.difference_update(cfg.keep_words)
        self.stopwords = frozenset(stop)
        # Verdicts per raw word: the kept token ("" if dropped or blank); the filter and
        # stripped token of a dropped one; the kept ones that are not dictionary words.
        self._token: dict[str, str] = {}
        self._dropped: dict[str, tuple[str, str]] = {}
        self._new: set[str] = set()
        self._unit_led: set[str] = set()  # raw words that are a measure suffix after a number
        self._pending: Counter[str] = Counter()  # raw words (not dropped by POS) since the last flush
        self._pending_suffix: Counter[str] = Counter()  # suffixes dropped after a number since then
        self._pending_pos: Counter[str] = Counter()  # tokens dropped by the POS filter since then
        self._removed: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}
        self._new_words: Counter[str] = Counter()

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
        if tag is not None and not tag.startswith(self._pos_prefixes):
            return "pos"
        return None

    def _judge(self, raw: str) -> str:
        """Compute, remember and return the kept token for a raw word ("" if dropped)."""
        token = raw.strip()
        why = self.reason(token) if token else None
        if why is not None:
            self._dropped[raw] = (why, token)
            token = ""
        elif token and not self._known(token):
            self._new.add(raw)
        if UNIT_LED.match(token):
            self._unit_led.add(raw)
        self._token[raw] = token
        return token

    def _judge_all(self, words: Iterable[str]) -> None:
        if len(self._token) > VERDICT_CACHE:
            self._flush()
            self._token.clear()
            self._dropped.clear()
            self._new.clear()
            self._unit_led.clear()
        for raw in set(words).difference(self._token):
            self._judge(raw)

    def __call__(self, text: str) -> list[str]:
        if self._tagged is not None:
            return self._call_tagged(text)
        words = self._words(text)
        # map and filter keep the per-token work in C: a lookup, a truth test, a count.
        try:
            kept = list(filter(None, map(self._token.__getitem__, words)))
        except KeyError:
            self._judge_all(words)
            kept = list(filter(None, map(self._token.__getitem__, words)))
        if not self._unit_led.isdisjoint(words):  # rare: only then walk the words one by one
            words = self._without_suffixes(words)
            kept = list(filter(None, map(self._token.__getitem__, words)))
        self._pending.update(words)
        return kept

    def _without_suffixes(self, words: list[str]) -> list[str]:
        """The words less the measure suffixes that follow a number (UNIT_LED), counted."""
        out: list[str] = []
        after_number = False
        for raw in words:
            if after_number and raw in self._unit_led:
                self._pending_suffix[raw.strip()] += 1
                after_number = False
                continue
            after_number = bool(NUMERIC.match(raw))
            out.append(raw)
        return out

    def _call_tagged(self, text: str) -> list[str]:
        assert self._tagged is not None
        kept = []
        token, pending, prefixes = self._token, self._pending, self._pos_prefixes
        after_number = False
        for raw, tag in self._tagged(text):
            t = token.get(raw)
            if t is None:
                self._judge_all((raw,))
                t = token[raw]
            if after_number and raw in self._unit_led:
                self._pending_suffix[raw.strip()] += 1
                after_number = False
                continue
            after_number = bool(NUMERIC.match(raw))
            if t and not tag.startswith(prefixes):
                self._pending_pos[t] += 1
                continue
            pending[raw] += 1
            if t:
                kept.append(t)
        return kept

    def _flush(self) -> None:
        """Turn the pending raw-word counts into per-filter and new-word counts."""
        dropped, new, token = self._dropped, self._new, self._token
        for raw, n in self._pending.items():
            if raw in dropped:
                why, tok = dropped[raw]
                self._removed[why][tok] += n
            elif raw in new:
                self._new_words[token[raw]] += n
        self._removed["pos"].update(self._pending_pos)
        self._removed["number_suffix"].update(self._pending_suffix)
        self._pending.clear()
        self._pending_pos.clear()
        self._pending_suffix.clear()

    @property
    def removed(self) -> dict[str, Counter[str]]:
        """Per filter, the tokens it removed and how often."""
        self._flush()
        return self._removed

    @property
    def new_words(self) -> Counter[str]:
        """Kept tokens that are not dictionary words (found by the HMM), and how often."""
        self._flush()
        return self._new_words

    def take_counts(self) -> tuple[dict[str, Counter[str]], Counter[str]]:
        """The counters so far, reset: how workers report per chunk."""
        removed, new = self.removed, self.new_words
        self._removed = {name: Counter() for name in FILTERS}
        self._new_words = Counter()
        return removed, new


# -- worker processes -----------------------------------------------------------------

_DECODER = json.JSONDecoder()
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _token_line(unit_id: Any, tokens: list[str]) -> str:
    """The tokens.jsonl line RunStore.write_jsonl would write for this row, byte for byte
    (json.dumps with ensure_ascii=False and compact separators), at half the cost."""
    uid = encode_basestring(unit_id) if isinstance(unit_id, str) else _ENCODER.encode(unit_id)
    return '{"unit_id":' + uid + ',"tokens":[' + ",".join(map(encode_basestring, tokens)) + "]}\n"


LinesResult = tuple[str, int, int, int, dict[str, Counter[str]], Counter[str]]
# tokens.jsonl text of a chunk; its units, tokens and empty units; what was removed; new words


class Segmenter:
    """The config a worker needs, and the Tokenizer it builds from it on first use.

    Handed to every partition as a shared object, it reaches each worker process (or
    Dask worker) once, so each builds its Tokenizer once and keeps it for the run.
    """

    def __init__(self, config: Config, new_words: Sequence[str] = ()) -> None:
        self.config = config
        self.new_words = list(new_words)
        self._tokenizer: Tokenizer | None = None

    def __getstate__(self) -> dict[str, Any]:
        # The tokenizer is built again where it lands.
        return {"config": self.config, "new_words": self.new_words, "_tokenizer": None}

    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.config, self.new_words)
        return self._tokenizer


def _tokenize_partition(lines: list[str], segmenter: Segmenter) -> LinesResult:
    """Raw units.jsonl lines -> finished tokens.jsonl lines, in whichever process runs the
    partition: parsing and writing JSON happen there too, so the parent only moves text."""
    worker = segmenter.tokenizer()
    out: list[str] = []
    n_tokens = n_empty = 0
    decode = _DECODER.decode
    for line in lines:
        unit = decode(line)
        tokens = worker(unit.get("text_simplified", unit["text"]))
        n_tokens += len(tokens)
        n_empty += not tokens
        out.append(_token_line(unit["unit_id"], tokens))
    removed, new = worker.take_counts()
    return "".join(out), len(lines), n_tokens, n_empty, removed, new


# -- the stage ------------------------------------------------------------------------


def _apply_phrases(
    config: Config, store: RunStore, progress: Progress, units: int
) -> tuple[int, list[tuple[str, float]]]:
    """Learn collocations over tokens.jsonl, rewrite it with them joined, return candidates."""
    from gensim.models.phrases import Phrases

    cfg = config.tokenize

    def sentences() -> Iterator[list[str]]:
        for row in progress.track(store.read_jsonl("tokens.jsonl"), units, "learning phrases", "units"):
            yield row["tokens"]

    # gensim needs a non-empty delimiter; Chinese compounds are written without one.
    glue = "\u2063"
    phrases = Phrases(
        sentences(),
        min_count=cfg.phrases_min_count,
        threshold=cfg.phrases_threshold,
        scoring="npmi",
        delimiter=glue,
    ).freeze()
    found = sorted(
        ((p.replace(glue, ""), s) for p, s in phrases.phrasegrams.items()), key=lambda kv: (-kv[1], kv[0])
    )
    joined = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal joined
        for row in progress.track(store.read_jsonl("tokens.jsonl"), units, "joining phrases", "units"):
            tokens = [t.replace(glue, "") for t in phrases[row["tokens"]]]
            joined += len(row["tokens"]) - len(tokens)
            yield {"unit_id": row["unit_id"], "tokens": tokens}

    store.write_jsonl("tokens.jsonl", rows())
    return joined, [(p, float(s)) for p, s in found]


def _unit_lines(store: RunStore) -> Iterator[str]:
    return store.read_lines("units.jsonl")


NEW_WORD_UNITS = 20_000  # units new words are found in: every n-th, for a bounded cost
NEW_WORD_CHARS = 3_000_000  # and characters: units of a huge paragraph are long (150 on average)


def find_new_words(
    config: Config, store: RunStore, units: int | None, chars: int | None, ex: Executor
) -> list[newwords.NewWord]:
    """The words of this corpus that the segmenter would cut (``pipeline.newwords``),
    found in an evenly spaced sample of the units: every n-th, for at most
    ``NEW_WORD_UNITS`` units and about ``NEW_WORD_CHARS`` characters (``chars``, the
    units' characters, as segment counted them)."""
    step = max(1, -(-(units or 0) // NEW_WORD_UNITS), -(-(chars or 0) // NEW_WORD_CHARS))  # rounded up
    rows = store.read_jsonl_where("units.jsonl", lambda i: i % step == 0)
    texts = [row.get("text_simplified", row["text"]) for _, row in rows]
    [found] = ex.map(_discover, [texts], config)  # to the end: the worker is gone after
    return found


def _discover(texts: list[str], config: Config) -> list[newwords.NewWord]:
    """New-word discovery in whichever process the executor gives it: a worker, when
    there are workers. The segmenter it builds and its n-gram counts leave about 50 MB
    that freeing does not return to the system, which every later worker of the run
    would be forked with."""
    cut = Tokenizer(config)._words  # the segmenter as it is, to see what it cuts
    return newwords.discover(texts, config.tokenize.new_words_min_count, cut)


def run(config: Config, store: RunStore, progress: Progress, ex: Executor) -> Counts:
    counts: dict[str, int] = {"units": 0, "tokens": 0, "empty_units": 0}
    segment_counts = store.load_manifest().get("stages", {}).get("segment", {}).get("counts", {})
    total = segment_counts.get("units")
    removed: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}
    new_words: Counter[str] = Counter()

    # A few thousand units are cut faster here than by starting workers.
    small = ex.kind == "local" and total is not None and total < PARALLEL_MIN_UNITS
    runner = LocalExecutor(1) if small else ex
    size = PARTITION if ex.kind == "dask" else CHUNK
    chars = segment_counts.get("chars")
    found = find_new_words(config, store, total, chars, runner) if config.tokenize.new_words else []
    segmenter = Segmenter(config, [w.word for w in found])
    lines = _unit_lines(store)
    chunks = runner.map(_tokenize_partition, iter(lambda: list(islice(lines, size)), []), segmenter)
    with store.open_write("tokens.jsonl") as fh, progress.task(total, "", "units") as update:
        for text, n_units, n_tokens, n_empty, chunk_removed, chunk_new in chunks:
            for name, c in chunk_removed.items():
                removed[name].update(c)
            new_words.update(chunk_new)
            counts["units"] += n_units
            counts["tokens"] += n_tokens
            counts["empty_units"] += n_empty
            fh.write(text)
            update(counts["units"])
        if counts["tokens"] == 0:
            # Raised before the file is renamed into place, so old outputs stay.
            shown = ", ".join(f"{k} {sum(c.values())}" for k, c in removed.items())
            raise DataError(
                f"every token was filtered out ({shown}); check tokenize.min_len, "
                "tokenize.stopwords and the input text"
            )
    candidates: list[tuple[str, float]] = []
    if config.tokenize.phrases:
        counts["phrase_joins"], candidates = _apply_phrases(config, store, progress, counts["units"])
        counts["phrases"] = len(candidates)
    store.write_csv(
        "phrases.tsv", ["phrase", "npmi"], ([p, f"{s:.4f}"] for p, s in candidates), delimiter="\t"
    )
    audit: dict[str, Any] = {
        name: {"removed": sum(c.values()), "top": [[w, n] for w, n in c.most_common(30)]}
        for name, c in removed.items()
    }
    audit["hmm_new_words"] = [[w, n] for w, n in new_words.most_common(100)]
    # Found in the corpus and kept whole: the word, its count in the sample, its cohesion
    # and freedom (nats), and how the segmenter cut it before.
    audit["new_words"] = [[w.word, w.count, w.pmi, w.entropy, " ".join(w.pieces)] for w in found]
    store.write_json("tokenize_audit.json", audit)
    for name, c in removed.items():
        counts[f"removed_{name}"] = sum(c.values())
    counts["new_words"] = len(found)
    if isinstance(runner, LocalExecutor):
        counts["workers"] = runner.workers if runner.parallel else 1
    return counts


STAGE = Stage(
    name="tokenize",
    sections=("tokenize",),
    inputs=("units.jsonl",),
    outputs=("tokens.jsonl", "tokenize_audit.json", "phrases.tsv"),
    run=run,
    reads=lambda config: [config.resolve(p) for p in (*config.tokenize.stopwords, *config.tokenize.userdict)],
)
