"""CSV and Excel component tables: lon/lat columns in the declared CRS, a header row of field names."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from zhili.assets.formats.fields import EXPORT_FIELDS, RawRow, canonical, cell_text
from zhili.core.errors import Invalid


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else GB 18030 — what spreadsheets in China save as 'CSV'."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is not an error.
        if exc.start < len(head) - 4:
            return "gb18030"
    return "utf-8-sig"


def _header(cells: Sequence[Any]) -> list[str | None]:
    names = [canonical(str(c)) if c is not None else None for c in cells]
    if "lon" not in names or "lat" not in names:
        raise Invalid("The table needs lon and lat columns (经度, 纬度) in the declared CRS.")
    return names


def read_csv(path: Path) -> Iterator[RawRow]:
    with path.open("r", encoding=_csv_encoding(path), newline="") as fh:
        reader = csv.reader(fh)
        first = next(reader, None)
        if first is None:
            raise Invalid("The CSV file is empty.")
        names = _header(first)
        for number, values in enumerate(reader, start=1):
            if not any(v.strip() for v in values):
                continue
            yield number, {n: v for n, v in zip(names, values, strict=False) if n is not None}


def read_xlsx(path: Path) -> Iterator[RawRow]:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Invalid(f"The file is not an Excel workbook (.xlsx): {exc}") from exc
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise Invalid("The first worksheet is empty.")
        names = _header(first)
        for number, values in enumerate(rows, start=1):
            if not any(v not in (None, "") for v in values):
                continue
            yield number, {n: v for n, v in zip(names, values, strict=False) if n is not None}
    finally:
        wb.close()


def write_csv(path: Path, chunks: Iterator[list[dict[str, Any]]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel opens it as UTF-8
        w = csv.writer(fh)
        w.writerow([*EXPORT_FIELDS, "lon", "lat"])
        for rows in chunks:
            for r in rows:
                w.writerow(
                    [cell_text(r[k]) if r[k] is not None else "" for k in (*EXPORT_FIELDS, "lon", "lat")]
                )
                n += 1
    return n


def write_xlsx(path: Path, chunks: Iterator[list[dict[str, Any]]]) -> int:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("components")
    ws.append([*EXPORT_FIELDS, "lon", "lat"])
    n = 0
    for rows in chunks:
        for r in rows:
            ws.append([cell_text(r[k]) for k in (*EXPORT_FIELDS, "lon", "lat")])
            n += 1
    wb.save(path)
    return n
