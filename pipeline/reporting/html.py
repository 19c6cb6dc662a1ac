"""report.html: the whole run on one self-contained page, readable offline on a laptop or a phone.

Everything is inline (CSS, charts as SVG, one small script), so the file can be mailed,
archived or opened from a USB stick and shows the same thing years later: no CDN, no web
fonts, no request. The page reads with scripts off; the script adds the relevance slider,
term selection and the search box. The HTML comes from ``templates/report.html.j2``
(Jinja2, autoescaped), which includes one partial per view of ``views.VIEWS``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from itertools import groupby
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline.reporting import charts
from pipeline.reporting.data import ReportData
from pipeline.reporting.formats import count, highlight, num, pct, seconds, sig
from pipeline.reporting.summary import excerpt
from pipeline.reporting.views import VIEWS, View

# System fonts only: Latin UI fonts first, then the CJK fonts shipped with macOS, Windows,
# Android and common Linux desktops, so Chinese never falls back to boxes or a serif.
FONT_STACK = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", '
    '"WenQuanYi Micro Hei", Roboto, "Helvetica Neue", Arial, sans-serif'
)


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
    Optional parts of ``data`` that are None leave their views out."""
    sections = _sections(data)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            data=data,
            shown=data.shown,
            by_id={t.id: t for t in data.topics},
            sections=sections,
            contents=[view for _, views in sections for view, _ in views],
            css=_static("report.css"),
            script=_static("report.js"),
        )
    )


def _sections(data: ReportData) -> list[tuple[str, list[tuple[View, dict[str, Any]]]]]:
    """The page's sections in the order of VIEWS, a row's views together: (row, each view
    shown with what its partial shows)."""
    out = []
    for _, group in groupby(VIEWS, key=lambda view: view.row or view.name):
        views = list(group)
        shown = [(view, part) for view in views if (part := view.page(data)) is not None]
        out.append((views[0].row, shown))
    return out
