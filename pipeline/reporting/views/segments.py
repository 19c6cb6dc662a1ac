"""Topic segments of long documents: each drawn as a strip of its segments (segments.csv)."""

from __future__ import annotations

from typing import Any

from pipeline.reporting.data import Block, ReportData, Strip, Strips
from pipeline.reporting.inputs import ReportInputs

STRIP_DOCS = 60  # documents drawn as strips of their segments: the longest ones


def build(inputs: ReportInputs) -> Strips | None:
    docs, multi = inputs.strips
    if not docs:
        return None
    units = inputs.units
    names = dict(zip(units.doc_ids, units.names, strict=True))
    return Strips(
        tuple(
            Strip(
                d["doc_id"],
                d["units"],
                tuple(Block(s["units"], s["topic"], s["first_unit"], s["last_unit"]) for s in d["segments"]),
                names.get(d["doc_id"], ""),
            )
            for d in docs
        ),
        multi,
    )


def page(data: ReportData) -> dict[str, Any] | None:
    return None if data.strips is None else {"strips": data.strips}
