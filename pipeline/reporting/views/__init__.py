"""The report page's views, in the page's order: VIEWS.

Each view is a module here with up to two functions, and a partial,
``templates/views/<module>.html.j2``:

- ``build(inputs, basis)`` computes the view's data (its field of ReportData) from
  what ``build.load_report_inputs`` read; ``build.report_data`` calls every one;
- ``page(data)`` turns ReportData into what the partial shows (charts drawn, numbers
  formatted), or None to leave the view and its entry in the table of contents out.

A new view is a module, a partial, a field of ReportData, a line in ``report_data`` and
a line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.reporting.data import ReportData
from pipeline.reporting.views import (
    documents,
    explorer,
    periods,
    prevalence,
    relations,
    search,
    segments,
    summary,
    sweep,
    terms_over_time,
    topic_map,
    topics,
)


@dataclass(frozen=True)
class View:
    name: str  # its section's id: the table of contents links to #name
    title: str  # its entry in the table of contents
    page: Callable[[ReportData], dict[str, Any] | None]  # what the partial shows; None: left out
    partial: str  # under templates/
    row: str = ""  # consecutive views of one row share a <div class="{row}">: side by side when wide


VIEWS: tuple[View, ...] = (
    View("summary", "Summary", summary.page, "views/summary.html.j2"),
    View("prevalence", "Prevalence", prevalence.page, "views/prevalence.html.j2", row="overview"),
    View("intertopic", "Topic map", topic_map.page, "views/topic_map.html.j2", row="overview"),
    View("explorer", "Terms", explorer.page, "views/explorer.html.j2"),
    View("topics", "Topics", topics.page, "views/topics.html.j2"),
    View("relations", "Relations", relations.page, "views/relations.html.j2"),
    View("documents", "Documents", documents.page, "views/documents.html.j2"),
    View("segments", "Segments", segments.page, "views/segments.html.j2"),
    View("periods", "Over time", periods.page, "views/periods.html.j2"),
    View("terms-over-time", "Terms over time", terms_over_time.page, "views/terms_over_time.html.j2"),
    View("sweep", "Choosing K", sweep.page, "views/sweep.html.j2"),
    View("search", "Search", search.page, "views/search.html.j2"),
)
