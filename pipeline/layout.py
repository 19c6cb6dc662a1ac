"""The layout of one document's lines: common indentation, wrap width, paragraph starts.

Plain-text corpora come in two layouts. Web text has one paragraph a line, of any
length. Older archives, wire copy and BBS posts are hard-wrapped: every line of a
paragraph but its last is cut at one width (30 to 40 characters, or 60 to 80 columns
with Chinese counted double), often with every line indented and paragraph starts
indented further. ``detect`` finds which layout a document has, so that segment can
judge headings and paragraph ends against it: a line at the wrap width carries on into
the next line and is never a heading.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

SPACES = " \t\u3000\xa0\u2002\u2003"
MIN_WRAP = 16  # characters: below this, lines of equal length are verse or lists, not a wrap
MAX_WRAP = 100  # characters: wider than any wrapped layout; equal long lines are chance
MAX_ENDING_SHARE = 0.5  # of the lines at the width that end a sentence: a wrap cuts mid-sentence
MIN_FULL_LINES = 3  # distinct lines at the width before a document counts as wrapped
MIN_FULL_SHARE = 0.3  # of its non-blank lines
MAX_LONGER_SHARE = 0.1  # lines longer than the width: a wrapped document has (almost) none


def columns(text: str) -> int:
    """Display width: wide and full-width characters (CJK) take two columns. Looked up
    for the whole line at once (a table of the basic plane), as every line is measured."""
    if text.isascii():
        return len(text)
    if len(text) < 64:  # a table lookup pays off on longer lines only
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    basic = codes < len(_wide())
    wide = int(_wide()[codes[basic]].sum())
    wide += sum(unicodedata.east_asian_width(chr(c)) in "WF" for c in codes[~basic].tolist())
    return len(text) + wide


@cache
def _wide() -> np.ndarray:
    """1 for each wide or full-width character of the basic plane, else 0."""
    return np.array([unicodedata.east_asian_width(chr(c)) in "WF" for c in range(0x10000)], dtype=np.uint8)


def chars(text: str) -> int:
    return len(text)


MEASURES: dict[str, Callable[[str], int]] = {"chars": chars, "columns": columns}
# How far short of the width a line that was cut may end: one wide character that did
# not fit, in either measure.
SLACK = {"chars": 1, "columns": 2}


@dataclass(frozen=True)
class Layout:
    """How a document's lines are laid out.

    ``indent`` is the leading whitespace common to every non-blank line (in characters,
    removed before anything else); ``wrap`` the width lines are hard-wrapped at, in
    ``measure`` (``chars``, or ``columns`` when the wrap counts CJK double), or None
    for one paragraph a line; ``starts`` how paragraphs start: ``indent`` (further
    indented first lines), ``blank`` (blank lines between them), ``short`` (a line
    short of the width ends its paragraph).
    """

    indent: int = 0
    wrap: int | None = None
    measure: str = "chars"
    starts: tuple[str, ...] = ()

    def width(self, text: str) -> int:
        return MEASURES[self.measure](text)

    def is_full(self, content: str, extra_indent: str = "") -> bool:
        """Whether a line (without its indentation) reaches the wrap width, so that its
        paragraph carries on into the next line. A first line counts its extra indent."""
        if self.wrap is None:
            return False
        return self.width(extra_indent + content) >= self.wrap - SLACK[self.measure]


def leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(SPACES))]


def detect(lines: Sequence[str], ends_sentence: Callable[[str], bool] = lambda s: False) -> Layout:
    """The layout of a document's raw lines (blank ones included).

    ``ends_sentence`` tells a line that ends a sentence: a wrap cuts lines anywhere, so
    lines that share a width and mostly end sentences are paragraphs of equal length.
    """
    body = [line.rstrip() for line in lines if line.strip()]
    if not body:
        return Layout()
    indent = min(len(leading(line)) for line in body)
    extra = [leading(line)[indent:] for line in body]
    starts = ["indent"] if any(extra) else []
    if any(not line.strip() for line in lines) and len(body) > 1:
        starts.append("blank")
    contents = [line.lstrip(SPACES) for line in body]
    best: tuple[float, int, str] | None = None
    for name in MEASURES:
        found = _wrap_width(contents, name, ends_sentence)
        if found is not None and (best is None or found[0] > best[0]):  # a tie keeps chars
            best = (found[0], found[1], name)
    if best is None:
        return Layout(indent, None, "chars", tuple(starts))
    return Layout(indent, best[1], best[2], (*starts, "short"))


def _wrap_width(
    contents: list[str], measure: str, ends_sentence: Callable[[str], bool]
) -> tuple[float, int] | None:
    """(share of lines right at the width, width) when most lines cluster at one width."""
    widths = [MEASURES[measure](c) for c in contents]
    slack = SLACK[measure]
    counts = Counter(w for w in widths if MIN_WRAP * slack <= w <= MAX_WRAP * slack)
    if not counts:
        return None
    # The mode; on a tie the wider, as a wrapped paragraph's last lines are shorter.
    wrap = max(counts, key=lambda w: (counts[w], w))
    near = {c for c, w in zip(contents, widths, strict=True) if wrap - slack <= w <= wrap + slack}
    longer = sum(1 for w in widths if w > wrap + slack)
    if (
        len(near) < MIN_FULL_LINES
        or len(near) < MIN_FULL_SHARE * len(contents)
        or longer > MAX_LONGER_SHARE * len(contents)
        or sum(map(ends_sentence, near)) > MAX_ENDING_SHARE * len(near)
    ):
        return None
    # Text wrapped in one measure also clusters, more loosely, in the other (a line
    # of 30 characters with a few half-width ones spans 54 to 60 columns). The measure
    # it was wrapped in puts the most lines at the width itself.
    exact = sum(1 for w in widths if wrap - slack < w <= wrap)
    return exact / len(contents), wrap
