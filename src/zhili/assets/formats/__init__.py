"""Component files in and out: GeoJSON, zipped Shapefile, GeoPackage, CSV, Excel; read and written in chunks.

Readers yield lists of (row number, fields) with canonical field names (aliases such as 部件标识码 or
经度 are mapped, see fields.py), lon/lat taken from a Point geometry where the format has one. One
module per family: geojson.py, tables.py (CSV, Excel), ogr.py (Shapefile, GeoPackage). Nothing here
knows the database: the importer validates, the exporter supplies rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zhili.assets.formats import geojson, ogr, tables
from zhili.assets.formats.fields import EXPORT_FIELDS, FORMATS, Format, RawRow, canonical
from zhili.core.errors import Invalid

__all__ = [
    "EXPORT_FIELDS",
    "EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "Format",
    "RawRow",
    "canonical",
    "detect_format",
    "read_chunks",
    "write_file",
]

MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "shp": "application/zip",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"geojson": ".geojson", "shp": ".zip", "gpkg": ".gpkg", "csv": ".csv", "xlsx": ".xlsx"}


def detect_format(path: Path, given: str | None) -> Format:
    if given:
        name = given.strip().lower()
        name = {
            "json": "geojson",
            "shapefile": "shp",
            "zip": "shp",
            "excel": "xlsx",
            "geopackage": "gpkg",
        }.get(name, name)
        if name not in FORMATS:
            raise Invalid(f"unknown format {given!r}; use one of {', '.join(FORMATS)}")
        return name  # type: ignore[return-value]
    suffix = path.suffix.lower()
    found = {
        ".geojson": "geojson",
        ".json": "geojson",
        ".zip": "shp",
        ".gpkg": "gpkg",
        ".csv": "csv",
        ".xlsx": "xlsx",
    }.get(suffix)
    if found is None:
        raise Invalid(
            f"cannot tell the format of {path.name!r} from its extension; give --format "
            f"({', '.join(FORMATS)})"
        )
    return found  # type: ignore[return-value]


def read_chunks(path: Path, fmt: Format, chunk_size: int) -> Iterator[list[RawRow]]:
    if fmt == "geojson":
        rows = geojson.read_rows(path)
    elif fmt == "csv":
        rows = tables.read_csv(path)
    elif fmt == "xlsx":
        rows = tables.read_xlsx(path)
    else:
        rows = ogr.read_rows(path, fmt, chunk_size)
    batch: list[RawRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk_size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_file(path: Path, fmt: Format, chunks: Iterator[list[dict[str, Any]]], crs: str) -> int:
    """Write export rows (EXPORT_FIELDS + lon, lat) chunk by chunk; returns how many were written."""
    if fmt == "geojson":
        return geojson.write(path, chunks, crs)
    if fmt == "csv":
        return tables.write_csv(path, chunks)
    if fmt == "xlsx":
        return tables.write_xlsx(path, chunks)
    return ogr.write(path, fmt, chunks, crs)
