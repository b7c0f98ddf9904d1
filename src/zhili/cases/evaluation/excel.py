"""The evaluation as an Excel workbook: Chinese headers, counts as numbers, rates as percentages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from zhili.cases.evaluation.indicators import COLUMNS, GROUPING_LABELS, POST_LABELS, IndicatorRow

FORMATS = {"rate": "0.0%", "hours": "0.00", "score": "0.00", "count": "0"}


def workbook_bytes(rows: Sequence[IndicatorRow], *, group_by: str, start: datetime, end: datetime) -> bytes:
    """One sheet named after the grouping; a title line with the period, then the table."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = GROUPING_LABELS[group_by][1]
    columns = list(COLUMNS)
    if group_by == "post":
        columns.insert(1, ("post", "Post", "岗位", "text"))
    ws.append([f"综合评价 {GROUPING_LABELS[group_by][1]}  {start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"])
    ws["A1"].font = Font(bold=True)
    ws.append([zh for _, _, zh, _ in columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        values: list[object] = []
        for field, _, _, _kind in columns:
            value = getattr(row, field)
            if field == "post":
                value = POST_LABELS[value][1] if value in POST_LABELS else ""
            values.append(value)
        ws.append(values)
        for (_field, _, _, kind), cell in zip(columns, ws[ws.max_row], strict=True):
            if kind in FORMATS:
                cell.number_format = FORMATS[kind]
    ws.freeze_panes = "B3"
    for i, (_field, _, zh, kind) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 22 if kind == "text" else max(10, len(zh) * 2)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()
