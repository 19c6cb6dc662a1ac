"""How the page writes numbers and text: the filters its templates use, and the charts' labels."""

from __future__ import annotations

import math
import re

from markupsafe import Markup, escape


def num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def sig(x: float | None, digits: int = 2) -> str:
    """``x`` to ``digits`` significant digits, thousands grouped, never in exponent form
    above 0.001 and never with more than 4 decimals."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude < -3:
        return f"{x:.{digits - 1}e}"
    return f"{x:,.{min(4, max(0, digits - 1 - magnitude))}f}"


def count(n: int) -> str:
    return f"{n:,}"


def pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def seconds(s: float) -> str:
    if s < 60:
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    m, rest = divmod(round(s), 60)
    return f"{m} min {rest:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def highlight(text: str, terms: list[str]) -> Markup:
    """``text`` escaped, with every occurrence of ``terms`` in <mark>.

    Chinese has no spaces between words, so terms are matched as substrings; longer terms go
    first in the alternation so that 疫情防控 wins over 疫情 when both are listed.
    """
    unique = sorted({t for t in terms if t.strip()}, key=lambda t: (-len(t), t))
    if not unique:
        return escape(text)
    out, last = [], 0
    for m in re.finditer("|".join(map(re.escape, unique)), text):
        out += [str(escape(text[last : m.start()])), f"<mark>{escape(m.group())}</mark>"]
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))
