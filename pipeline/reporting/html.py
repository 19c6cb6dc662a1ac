"""report.html: the whole run on one self-contained page, readable offline on a laptop or a phone.

Everything is inline (CSS, charts as SVG, one small script), so the file can be mailed,
archived or opened from a USB stick and shows the same thing years later: no CDN, no web
fonts, no request. The page reads with scripts off; the script adds the relevance slider,
term selection and the search box. The HTML comes from ``templates/report.html.j2``
(Jinja2, autoescaped); charts from ``charts``.
"""

from __future__ import annotations

import math
import re
from functools import cache, partial
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from pipeline.reporting import axes, charts
from pipeline.reporting.analysis import LISTED
from pipeline.reporting.data import Explorer, Prevalence, ReportData, Topic
from pipeline.reporting.summary import excerpt

LABEL_TERMS = 10
CHART_TERMS = 12
EXPLORER_BARS = 15  # terms the relevance explorer draws at once

# System fonts only: Latin UI fonts first, then the CJK fonts shipped with macOS, Windows,
# Android and common Linux desktops, so Chinese never falls back to boxes or a serif.
FONT_STACK = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", Roboto, "Helvetica Neue", Arial, sans-serif'
)

SWEEP_METRICS = [
    ("c_v", "C_V coherence", "higher is better"),
    ("c_npmi", "NPMI coherence", "higher is better"),
    ("u_mass", "UMass coherence", "closer to 0 is better"),
    ("diversity", "topic diversity", "share of unique top terms"),
    ("perplexity", "perplexity", "lower is better"),
    ("stability", "stability across seeds", "higher is better"),
]


# A topic card's measures beyond prevalence, coherence and stability: (label, significant
# digits, what it means). token_share is left out: it is the prevalence again.
DIAGNOSTICS = {
    "exclusivity": (
        "exclusivity",
        2,
        "share of its top terms' probability this topic holds rather than others",
    ),
    "effective_words": ("effective words", 3, "how many words the topic spreads over: 1 / Σ p(word)²"),
    "document_entropy": ("spread", 2, "entropy of the topic over the units, 0 to 1: 1 is evenly everywhere"),
}
HIDDEN = {"token_share", "coherence", "stability"}  # shown under their own labels, or repeated
COHERENCE_HINT = "NPMI of the top terms in the same units, -1 to 1: higher is more coherent"
STABILITY_HINT = "similarity to its match in models of other seeds or data, 0 to 1"


# -- formatting ------------------------------------------------------------------------------


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


# -- charts of the page ------------------------------------------------------------------------


def _prevalence_bars(topics: tuple[Topic, ...]) -> Markup:
    ranked = sorted(topics, key=lambda t: (-t.prevalence, t.id))
    top = max((t.prevalence for t in ranked), default=0.0) or 1.0
    bars = [
        charts.Bar(
            excerpt(f"{t.id} · {t.label}", 28),
            t.prevalence / top,
            pct(t.prevalence),
            f"#topic-{t.id}",
            f"Topic {t.id}: {pct(t.prevalence)} of tokens",
        )
        for t in ranked
    ]
    return charts.row_bars(bars, "Topic prevalence")


def _term_bars(t: Topic) -> Markup:
    weights = t.terms[:CHART_TERMS]
    top = max((x.score for x in weights), default=0.0) or 1.0
    bars = [
        charts.Bar(
            x.term, x.score / top, pct(x.score), None, f"{x.term}: {pct(x.score)} of the topic's tokens"
        )
        for x in weights
    ]
    return charts.row_bars(bars, f"Term probabilities of topic {t.id}")


def _sweep_figures(data: ReportData) -> list[tuple[str, str, Markup]]:
    sweep = data.sweep
    if sweep is None:
        return []
    ks = sorted({float(p.k) for p in sweep.points})

    def k_axis(a: float, b: float, width: float, size: float) -> axes.Axis:
        return axes.linear(ks[0], ks[-1], a, b, size, width=width, integer=True, extend=False, most=len(ks))

    out = []
    for key, title, hint in SWEEP_METRICS:
        points = [(float(p.k), v) for p in sweep.points if (v := p.metrics.get(key)) is not None]
        if points:
            chart = charts.line_chart(
                points,
                k_axis,
                marker=None if sweep.chosen_k is None else float(sweep.chosen_k),
                tip=lambda x, y: f"K={x:g}: {sig(y, 3)}",
            )
            out.append((title, hint, chart))
    return out


def _period_axis(prev: Prevalence) -> tuple[list[float], charts.XAxis]:
    """Each period's place on the x axis and the axis: a time line when the periods are
    dates (so a missing month leaves a gap), else the categories in order."""
    grain = axes.grain_of(prev.periods)
    dates = [axes.period_date(p) for p in prev.periods]
    if grain is None or any(d is None for d in dates):
        return [float(i) for i in range(len(prev.periods))], partial(axes.category_axis, list(prev.periods))
    known = [d for d in dates if d is not None]
    return [axes.year_position(d) for d in known], partial(axes.time_axis, known, grain)


def _period_figures(data: ReportData) -> list[tuple[Topic, Markup]]:
    prev = data.prevalence_chart or data.prevalence
    if prev is None:
        return []
    xs, x_axis = _period_axis(prev)
    name = dict(zip(xs, prev.periods, strict=True))
    hi = float(prev.high.max()) if prev.high.size else 1.0  # one scale: panels compare at a glance
    out = []
    for c, t in enumerate(data.shown):
        band = [(x, float(prev.low[i, c]), float(prev.high[i, c])) for i, x in enumerate(xs)]
        chart = charts.line_chart(
            [(x, float(prev.share[i, c])) for i, x in enumerate(xs)],
            x_axis,
            percent=True,
            y_range=(0.0, hi or 1.0),
            band=band if len(xs) > 1 else (),
            tip=lambda x, y: f"{name[x]}: {pct(y)}",
        )
        out.append((t, chart))
    return out


def _map(data: ReportData) -> Markup | None:
    if data.topic_map is None:
        return None
    bubbles = [
        charts.Bubble(
            t.id, *data.topic_map[t.id], t.prevalence, f"Topic {t.id} · {t.label} · {pct(t.prevalence)}"
        )
        for t in data.shown
    ]
    return charts.topic_map(bubbles)


def _metrics(t: Topic) -> list[tuple[str, str, str]]:
    """A topic card's measures as (label, value, what it means), every number formatted."""
    rows = [
        ("prevalence", pct(t.prevalence), "share of the corpus tokens"),
        ("coherence (NPMI)", sig(t.coherence), COHERENCE_HINT),
    ]
    if t.stability is not None:
        rows.append(("stability", sig(t.stability), STABILITY_HINT))
    for key, value in t.diagnostics.items():
        if key in HIDDEN:
            continue
        label, digits, hint = DIAGNOSTICS.get(key, (key.replace("_", " "), 2, ""))
        rows.append((label, sig(value, digits), hint))
    rows.append(
        ("top topic of", f"{t.rank1_units:,} units", "units in which this topic has the largest share")
    )
    return rows


def _search_placeholder(data: ReportData) -> str:
    """A word the page's passages hold: the largest topic's first term found in them."""
    texts = [s.text for s in data.search]
    for t in sorted(data.shown, key=lambda t: (-t.prevalence, t.id)):
        for term in (*t.terms, *t.label_terms):
            if any(term.term in x for x in texts):
                return term.term
    return ""


def _explorer_json(ex: Explorer, topics: tuple[Topic, ...]) -> dict[str, Any]:
    """The numbers the script ranks and lists: phi only where a view reads it, as
    [index, phi] pairs (a topic's candidate terms; a term's holders)."""
    return {
        "lambda": ex.lam,
        "min_count": ex.min_count,
        "bars": EXPLORER_BARS,
        "listed": LISTED,
        "topics": [t.id for t in topics],
        "labels": [t.label for t in topics],
        "terms": list(ex.terms),
        "share": ex.share.tolist(),
        "count": [int(v) for v in ex.count],
        "tokens": ex.topic_tokens.tolist(),
        "mass": ex.mass.tolist(),
        "candidates": [[[j, float(ex.phi[c, j])] for j in cand] for c, cand in enumerate(ex.candidates)],
        "holders": [[[c, float(ex.phi[c, j])] for c in held] for j, held in enumerate(ex.holders)],
    }


def explorer_ranking(ex: Explorer, topic: int, lam: float, n: int = EXPLORER_BARS) -> list[int]:
    """The indices into ``ex.terms`` the explorer shows for a topic at λ, best first: the
    same ranking the page's script computes (relevance, ties by term)."""
    phi, share = ex.phi[topic], ex.share
    scores = {
        j: lam * math.log(max(phi[j], 1e-300)) + (1 - lam) * math.log(max(phi[j], 1e-300) / share[j])
        for j in ex.candidates[topic]
    }
    return sorted(scores, key=lambda j: (-scores[j], ex.terms[j]))[:n]


def _explorer_rows(ex: Explorer, c: int) -> list[dict[str, Any]]:
    ranked = explorer_ranking(ex, c, ex.lam)
    top = max((float(ex.count[j]) for j in ranked), default=1.0) or 1.0
    return [
        {
            "term": ex.terms[j],
            "all": 100 * float(ex.count[j]) / top,
            "in": 100 * min(float(ex.phi[c, j] * ex.topic_tokens[c]), float(ex.count[j])) / top,
            "label": f"{ex.phi[c, j] * ex.topic_tokens[c]:,.0f} / {ex.count[j]:,.0f}",
        }
        for j in ranked
    ]


# -- page ------------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        count=count,
        num=num,
        sig=sig,
        pct=pct,
        seconds=seconds,
        clip=excerpt,
        highlight=highlight,
        colour=charts.topic_colour,
    )
    return env


def _static(name: str) -> Markup:
    text = resources.files("pipeline.reporting").joinpath("templates", name).read_text(encoding="utf-8")
    return Markup(text.replace("FONTS", FONT_STACK))


def render_html(data: ReportData) -> str:
    """One self-contained HTML page of a run. Pure: the same ``data`` gives the same page.
    Optional parts of ``data`` that are None leave their sections out."""
    shown = data.shown
    figures = {
        "prevalence": _prevalence_bars(shown) if shown else None,
        "map": _map(data),
        "terms": {t.id: _term_bars(t) for t in data.topics},
        "sweep": _sweep_figures(data),
        "periods": _period_figures(data),
        "dendrogram": None
        if data.relations is None
        else charts.dendrogram(
            data.relations.leaves,
            data.relations.links,
            data.relations.height,
            {t.id: t.label for t in data.topics},
        ),
    }
    ex = data.explorer
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            data=data,
            shown=shown,
            by_id={t.id: t for t in data.topics},
            figures=figures,
            css=_static("report.css"),
            script=_static("report.js"),
            explorer=None if ex is None else _explorer_json(ex, shown),
            explorer_rows=None if ex is None or not shown else _explorer_rows(ex, 0),
            search=[
                {"t": s.topic, "w": s.where, "d": s.doc_id, "x": s.text, "n": s.title, "a": s.date}
                for s in data.search
            ],
            search_hint=_search_placeholder(data),
            metrics={t.id: _metrics(t) for t in data.topics},
            chart_prevalence=data.prevalence_chart or data.prevalence,
            label_terms=LABEL_TERMS,
            total_seconds=sum(data.timings.values()),
        )
    )
