"""Exports for people who work in spreadsheets and data frames: Parquet and Excel."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


def write_parquet(assignments_csv: Path, target: Path) -> None:
    """assignments.csv as a typed Parquet table (ids as text, weights as floats)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv
    from pyarrow import parquet as pq

    text_columns = {"unit_id": pa.string(), "doc_id": pa.string()}
    table = pacsv.read_csv(
        assignments_csv,
        convert_options=pacsv.ConvertOptions(column_types=text_columns, strings_can_be_null=False),
    )
    pq.write_table(table, target)


def write_workbook(
    target: Path,
    sheets: dict[str, tuple[list[str], Iterable[list[Any]]]],
) -> None:
    """An .xlsx workbook, one sheet per entry, streamed (openpyxl write-only mode)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(title=name)
        ws.append(header)
        for n, row in enumerate(rows):
            if n == EXCEL_MAX_ROWS:
                log.warning(
                    "report.export: sheet %s cut at %d rows (Excel's limit); use the Parquet export",
                    name,
                    EXCEL_MAX_ROWS,
                )
                break
            ws.append(row)
    wb.save(target)
