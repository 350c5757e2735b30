"""Every CSV and XLSX the app writes goes through here, so no cell can become a formula.

Exports carry text that others typed or deployed (task names from the process owners' files,
case fields): a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by spreadsheet programs as a formula (``=HYPERLINK(...)`` phoning home, DDE). Such text is written
as text: in CSV behind a ``'``, in XLSX as a string cell marked with Excel's quote prefix. Numbers
stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Row = Sequence[object]


def risky(value: object) -> bool:
    """Text a spreadsheet program would read as a formula (leading spaces are skipped by some of them)."""
    return isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS)


def csv_cell(value: object) -> object:
    if value is None:
        return ""
    return "'" + value if risky(value) else value


def to_csv(header: Row, rows: Iterable[Row]) -> str:
    """UTF-8 CSV with a BOM, so spreadsheet programs read Chinese text right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return "\ufeff" + out.getvalue()


def to_xlsx(sheets: Iterable[tuple[str, Row, Iterable[Row]]]) -> bytes:
    """A workbook of ``(title, header, rows)`` sheets; risky text is a string cell with a quote prefix."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        for r, row in enumerate([header, *rows], start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=c)
                cell.value = value
                if risky(value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
