"""Words found in the corpus: character strings that behave as words but that jieba cuts.

jieba's dictionary does not know a corpus's own names and slogans: it cuts 一带一路 into
一带 and 一路, and 粤港澳大湾区 into 粤港澳, 大湾 and 区, so the fragments reach the topics.
The classic remedy for Chinese (new-word discovery: Sproat and Shih 1990 for cohesion,
Feng et al. 2004 and Huang and Powers 2003 for branching entropy) finds them from the
text alone:

- frequent: the string occurs at least ``min_count`` times in the runs of Chinese
  characters of the sample (counted level by level: an n-gram is counted only when its
  two (n-1)-grams are frequent, which bounds memory);
- cohesive: for every way of cutting it in two, the string occurs at least ``e^MIN_PMI``
  times as often as its two parts would by chance (pointwise mutual information);
- free: the characters before and after it vary (the entropy of either side's
  neighbours is at least ``MIN_ENTROPY`` nats; the start or end of a run counts as a
  neighbour of its own each time).

Such a string is added to the run's tokenizer only when it keeps a fragment whole: jieba
cuts it in pieces, one of which, of two characters, occurs inside it in at least
``DOMINANT`` of its own occurrences: 一带 is nearly always part of 一带一路, but 习近平 is
not always part of 习近平总书记, which stays two words. And no piece may be a word used
mostly elsewhere (less than ``INSIDE`` of its occurrences inside the string): 同比增长
would take 增长 from every topic of growth, 营商环境 环境, so they stay cut (measured on
xwlb items: such compounds lowered NMI by 0.01).
Strings that begin or end with a function character (的, 了, 在 ...), begin with a
measure that follows a number (日, 年, 个 ...: 日称, 个月), end with a numeral (神舟十)
or whose first piece is one character (部副部长, cut from 外交部副部长) are not words.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

MAX_LEN = 6  # longest string considered (粤港澳大湾区)
MIN_PMI = 3.0  # natural log: at least e^3, about 20 times, as often as chance
MIN_ENTROPY = 1.0  # nats, on each side
DOMINANT = 0.7  # share of a piece's occurrences inside the string that makes the piece a fragment
INSIDE = 0.4  # share of its occurrences inside the string below which a piece is a word of its own
RUN = re.compile(r"[\u4e00-\u9fff]+")
EDGE = set("的了是在和与及等也都就而并或这那之其以为于对把被让向从到将要还更最所着过吗呢吧啊")
AFTER_NUMBER = set("年月日号时分秒天周个次名人位届期批场件项条种份家所支层级万亿第")
NUMERAL = set("零〇一二三四五六七八九十百千万亿两")


@dataclass(frozen=True)
class NewWord:
    word: str
    count: int  # occurrences in the sample
    pmi: float  # the weakest cut's pointwise mutual information (nats)
    entropy: float  # the lower of its left and right neighbour entropies (nats)
    pieces: tuple[str, ...]  # how the tokenizer cut it before


def _runs(texts: Iterable[str]) -> list[str]:
    return [r for t in texts for r in RUN.findall(t)]


def ngram_counts(runs: list[str], min_count: int) -> dict[str, int]:
    """Every string of 1 to MAX_LEN characters occurring ``min_count`` times or more."""
    frequent: dict[str, int] = {
        c: n for c, n in Counter(c for r in runs for c in r).items() if n >= min_count
    }
    level = frequent
    for n in range(2, MAX_LEN + 1):
        counts: Counter[str] = Counter()
        for r in runs:
            for i in range(len(r) - n + 1):
                g = r[i : i + n]
                if g[:-1] in level and g[1:] in level:
                    counts[g] += 1
        level = {g: k for g, k in counts.items() if k >= min_count}
        if not level:
            break
        frequent.update(level)
    return frequent


def _entropy(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return -sum(n / total * math.log(n / total) for n in counts.values())


def candidates(runs: list[str], counts: dict[str, int]) -> list[tuple[str, int, float, float]]:
    """(string, count, cohesion, freedom) of every frequent (in ``counts``), cohesive and
    free string of two characters or more, most frequent first (ties in string order)."""
    total = sum(len(r) for r in runs)
    if not total:
        return []

    def p(g: str) -> float:
        return counts[g] / total

    cohesive: dict[str, float] = {}
    for g, _ in counts.items():
        if len(g) < 2 or g[0] in EDGE or g[-1] in EDGE or g[0] in AFTER_NUMBER or g[-1] in NUMERAL:
            continue
        pmi = min(math.log(p(g) / (p(g[:i]) * p(g[i:]))) for i in range(1, len(g)))
        if pmi >= MIN_PMI:
            cohesive[g] = pmi
    left: defaultdict[str, Counter[str]] = defaultdict(Counter)
    right: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for r in runs:
        for n in range(2, MAX_LEN + 1):
            for i in range(len(r) - n + 1):
                g = r[i : i + n]
                if g in cohesive:
                    # A run's edge is a different neighbour every time: it does not bind.
                    left[g][r[i - 1] if i else f"^{sum(left[g].values())}"] += 1
                    right[g][r[i + n] if i + n < len(r) else f"${sum(right[g].values())}"] += 1
    found = []
    for g, pmi in cohesive.items():
        free = min(_entropy(left[g]), _entropy(right[g]))
        if free >= MIN_ENTROPY:
            found.append((g, counts[g], pmi, free))
    found.sort(key=lambda f: (-f[1], f[0]))
    return found


def discover(texts: Iterable[str], min_count: int, cut: Callable[[str], list[str]]) -> list[NewWord]:
    """The strings to keep whole: frequent, cohesive and free strings that ``cut`` (the
    tokenizer without them) breaks into pieces, one of them a fragment of the string."""
    runs = _runs(texts)
    counts = ngram_counts(runs, min_count)
    words = []
    for g, n, pmi, free in candidates(runs, counts):
        pieces = tuple(cut(g))
        if len(pieces) < 2 or len(pieces[0]) < 2:
            # Kept whole already; or its first character ends the word before it
            # (外交部副部长 gives 部副部长: 部 belongs to 外交部).
            continue
        inside = {q: n / counts[q] for q in pieces if len(q) >= 2 and q in counts}
        fragment = any(len(q) == 2 and share >= DOMINANT for q, share in inside.items())
        if fragment and all(share >= INSIDE for share in inside.values()):
            words.append(NewWord(g, n, round(pmi, 3), round(free, 3), pieces))
    return words
