"""Dates in meta fields: the period a value falls in, read one way by segment, which
checks the values, and by the report, which groups units by them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DATE = re.compile(r"^\s*(\d{4})(?:[-/.年]?(\d{1,2}))?(?:[-/.月]?(\d{1,2}))?")
GRAINS = ("day", "month", "year")


def period(value: Any, grain: str) -> str | None:
    """The period a meta value falls in at ``grain`` (2019, 2019-07, 2019-07-01), None when
    it is not a date with a ``grain`` (empty, missing, or text that is no date)."""
    m = DATE.match("" if value is None else str(value))
    if not m or (grain != "year" and not m.group(2)) or (grain == "day" and not m.group(3)):
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    if grain == "year":
        return year
    if grain == "month":
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"


SHOWN_CHARS = 40  # of a value quoted in an error


@dataclass
class Undated:
    """The documents whose meta values are not dates, per field and grain: how many, and
    the first (where it is, its id, its value). Segment fills it as it reads; the runner
    checks it against ``report.prevalence_field`` before training."""

    found: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def add(self, where: str, doc_id: str, meta: dict[str, Any], fields: list[str]) -> None:
        for name in fields:
            value = meta.get(name)
            for grain in GRAINS:
                if period(value, grain) is None:
                    shown = "" if value is None else str(value)[:SHOWN_CHARS]
                    first = {"documents": 0, "first": where, "doc_id": doc_id, "value": shown}
                    self.found.setdefault(name, {}).setdefault(grain, first)["documents"] += 1


def undated_error(record: dict[str, Any] | None, field_name: str, grain: str) -> str | None:
    """The error for a prevalence field whose values are not all dates of ``grain``, from
    ``Undated.found`` as segment recorded it; None when they all are."""
    bad = ((record or {}).get(field_name) or {}).get(grain)
    if not bad:
        return None
    n = int(bad["documents"])
    more = f", and {n - 1} more document{'' if n == 2 else 's'}" if n > 1 else ""
    return (
        f"{bad['first']} (document {bad['doc_id']!r}{more}): report.prevalence_field: {field_name} "
        f"value {bad['value']!r} is not a date with a {grain}; use YYYY-MM-DD, or set "
        "report.prevalence_period: category"
    )
