"""Component files in and out: GeoJSON, zipped Shapefile, GeoPackage, CSV, Excel; read and written in chunks.

Readers yield lists of (row number, fields) with canonical field names (aliases such as 部件标识码 or
经度 are mapped), lon/lat taken from a Point geometry where the format has one. Nothing here knows the
database: the importer validates, the exporter supplies rows.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import openpyxl
import pyogrio
import pyogrio.raw
import shapely

from zhili.core.errors import Invalid

Format = Literal["geojson", "shp", "gpkg", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = get_args(Format)
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "shp": "application/zip",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"geojson": ".geojson", "shp": ".zip", "gpkg": ".gpkg", "csv": ".csv", "xlsx": ".xlsx"}
RawRow = tuple[int, dict[str, Any]]

# Canonical name -> accepted column names (case-insensitive for ASCII). Export uses the canonical
# names, all at most 10 characters so that a Shapefile keeps them whole.
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "id", "component_id", "部件标识码", "标识码", "部件编码", "bsm"),
    "class_code": ("class_code", "class", "部件类别", "类别代码", "小类代码", "部件小类"),
    "name": ("name", "部件名称", "名称"),
    "department": ("department", "dept", "主管部门", "主管部门代码", "主管部门名称"),
    "owner": ("owner", "权属单位"),
    "maintainer": ("maintainer", "养护单位"),
    "status": ("status", "部件状态", "状态"),
    "lon": ("lon", "lng", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "address": ("address", "地址", "位置描述"),
    "initial_date": ("init_date", "initial_date", "初始日期"),
    "changed_date": ("chg_date", "changed_date", "变更日期"),
    "data_source": ("source", "data_source", "数据来源"),
    "accuracy": ("accuracy", "精度等级", "定位精度"),
    "attributes": ("attrs", "attributes", "扩展属性"),
    "notes": ("notes", "备注"),
}
_LOOKUP = {alias.lower(): canon for canon, aliases in ALIASES.items() for alias in aliases}

# Export columns, in order (lon/lat last for flat formats; spatial formats put them in the geometry).
EXPORT_FIELDS = (
    "code",
    "legacy",
    "class_code",
    "class_name",
    "name",
    "department",
    "owner",
    "maintainer",
    "status",
    "grid_code",
    "community",
    "street",
    "address",
    "init_date",
    "chg_date",
    "source",
    "accuracy",
    "attrs",
    "photos",
    "notes",
)


@lru_cache(maxsize=4096)
def canonical(name: str) -> str | None:
    return _LOOKUP.get(str(name).strip().lower())


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
    readers = {
        "geojson": _geojson_rows,
        "csv": _csv_rows,
        "xlsx": _xlsx_rows,
        "shp": _ogr_rows,
        "gpkg": _ogr_rows,
    }
    batch: list[RawRow] = []
    for row in readers[fmt](path, fmt, chunk_size):
        batch.append(row)
        if len(batch) >= chunk_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fields(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        canon = canonical(key)
        if canon is not None and canon not in out:
            out[canon] = value
    return out


# --- GeoJSON: streamed feature by feature, never the whole document in memory ------------------------

_READ_BYTES = 1 << 20


def _geojson_rows(path: Path, _fmt: Format, _chunk: int) -> Iterator[RawRow]:
    for number, feature in enumerate(_stream_features(path), start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            yield number, {"_error": "not a GeoJSON Feature"}
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            yield number, {"_error": "properties must be an object"}
            continue
        row = _fields(props)
        geom = feature.get("geometry")
        if (
            isinstance(geom, dict)
            and geom.get("type") == "Point"
            and isinstance(geom.get("coordinates"), list)
            and len(geom["coordinates"]) >= 2
        ):
            row["lon"], row["lat"] = geom["coordinates"][0], geom["coordinates"][1]
        elif geom is not None or "lon" not in row:
            got = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
            row["_error"] = f"geometry must be a Point, got {got}"
        yield number, row


class _Stream:
    """A text buffer over a file that grows on demand, for json.JSONDecoder.raw_decode."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self.fh, self.buf, self.pos, self.eof = fh, "", 0, False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(_READ_BYTES)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def expect(self, ch: str) -> None:
        got = self.skip_ws()
        if got != ch:
            raise Invalid(
                f"The file is not a GeoJSON FeatureCollection: expected {ch!r}, found {got or 'the end'!r}."
            )
        self.pos += 1

    def value(self, decoder: json.JSONDecoder) -> Any:
        self.skip_ws()
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue  # the value runs past the buffer: read on
                raise Invalid(f"The file is not valid JSON: {exc.msg}.") from exc
            if end == len(self.buf) and not self.eof and self.more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value


def _stream_features(path: Path) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            s = _Stream(fh)
            s.expect("{")
            saw_features = False
            while True:
                if s.skip_ws() == "}":
                    break
                key = s.value(decoder)
                s.expect(":")
                if key != "features":
                    kind = s.value(decoder)
                    if key == "type" and kind != "FeatureCollection":
                        raise Invalid(f"The file is a GeoJSON {kind!r}, not a FeatureCollection.")
                else:
                    saw_features = True
                    s.expect("[")
                    if s.skip_ws() == "]":
                        s.pos += 1
                    else:
                        while True:
                            yield s.value(decoder)
                            sep = s.skip_ws()
                            s.pos += 1
                            if sep == "]":
                                break
                            if sep != ",":
                                raise Invalid("The features array is malformed (expected ',' or ']').")
                if s.skip_ws() == ",":
                    s.pos += 1
            if not saw_features:
                raise Invalid("The file must be a GeoJSON FeatureCollection with a 'features' list.")
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text; GeoJSON must be UTF-8.") from exc


# --- CSV and Excel ------------------------------------------------------------------------------------


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


def _csv_rows(path: Path, _fmt: Format, _chunk: int) -> Iterator[RawRow]:
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


def _xlsx_rows(path: Path, _fmt: Format, _chunk: int) -> Iterator[RawRow]:
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


# --- Shapefile (zipped) and GeoPackage through GDAL ----------------------------------------------------

_GEOGRAPHIC = {"EPSG:4326", "EPSG:4490", "OGC:CRS84"}  # WGS-84, CGCS2000 (same to centimetres)


def ogr_path(path: Path, fmt: Format) -> str:
    if fmt != "shp":
        return str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
    except zipfile.BadZipFile as exc:
        raise Invalid(
            "A Shapefile must be uploaded as a .zip of its .shp, .shx, .dbf (and .prj, .cpg)."
        ) from exc
    if len(shps) != 1:
        raise Invalid(f"The zip must hold exactly one .shp file, found {len(shps)}.")
    return f"/vsizip/{path}/{shps[0]}"


def _ogr_rows(path: Path, fmt: Format, chunk: int) -> Iterator[RawRow]:
    source = ogr_path(path, fmt)
    try:
        info = pyogrio.read_info(source)
    except Exception as exc:  # GDAL raises its own error types for unreadable data
        raise Invalid(f"GDAL cannot read the file as {fmt}: {exc}") from exc
    crs = info.get("crs")
    if crs and crs not in _GEOGRAPHIC:
        raise Invalid(
            f"The layer is in {crs}; export it as longitude/latitude (WGS-84, GCJ-02 or BD-09) "
            "and declare that CRS."
        )
    if info.get("geometry_type") not in ("Point", "Point Z", "Unknown", None):
        raise Invalid(f"The layer holds {info.get('geometry_type')} geometries; components are points.")
    total = int(info.get("features") or 0)
    number = 0
    for skip in range(0, total, chunk):
        _meta, _fids, geometry, field_data = pyogrio.raw.read(source, skip_features=skip, max_features=chunk)
        names = [canonical(n) for n in _meta["fields"]]
        geoms = shapely.from_wkb(geometry)
        xs, ys = shapely.get_x(geoms), shapely.get_y(geoms)
        is_point = shapely.get_type_id(geoms) == 0
        columns = [(n, arr.tolist()) for n, arr in zip(names, field_data, strict=True) if n is not None]
        for i in range(len(geoms)):
            number += 1
            row = {n: values[i] for n, values in columns}
            if is_point[i] and np.isfinite(xs[i]):
                row["lon"], row["lat"] = float(xs[i]), float(ys[i])
            else:
                row["_error"] = "geometry must be a Point"
            yield number, row


# --- writers -------------------------------------------------------------------------------------------


def write_file(path: Path, fmt: Format, chunks: Iterator[list[dict[str, Any]]], crs: str) -> int:
    """Write export rows (EXPORT_FIELDS + lon, lat) chunk by chunk; returns how many were written."""
    writer = {
        "geojson": _write_geojson,
        "csv": _write_csv,
        "xlsx": _write_xlsx,
        "gpkg": _write_ogr,
        "shp": _write_ogr,
    }[fmt]
    return writer(path, fmt, chunks, crs)


def _text(v: Any) -> Any:
    if isinstance(v, date | datetime):
        return v.isoformat()
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":")) if v else ""
    return v


def _write_geojson(path: Path, _fmt: Format, chunks: Iterator[list[dict[str, Any]]], crs: str) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type":"FeatureCollection","crs_name":' + json.dumps(crs) + ',"features":[\n')
        for rows in chunks:
            for r in rows:
                props = {k: (r[k].isoformat() if isinstance(r[k], date) else r[k]) for k in EXPORT_FIELDS}
                feature = {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                    "properties": props,
                }
                fh.write(
                    ("," if n else "") + json.dumps(feature, ensure_ascii=False, separators=(",", ":")) + "\n"
                )
                n += 1
        fh.write("]}\n")
    return n


def _write_csv(path: Path, _fmt: Format, chunks: Iterator[list[dict[str, Any]]], _crs: str) -> int:
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel opens it as UTF-8
        w = csv.writer(fh)
        w.writerow([*EXPORT_FIELDS, "lon", "lat"])
        for rows in chunks:
            for r in rows:
                w.writerow([_text(r[k]) if r[k] is not None else "" for k in (*EXPORT_FIELDS, "lon", "lat")])
                n += 1
    return n


def _write_xlsx(path: Path, _fmt: Format, chunks: Iterator[list[dict[str, Any]]], _crs: str) -> int:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("components")
    ws.append([*EXPORT_FIELDS, "lon", "lat"])
    n = 0
    for rows in chunks:
        for r in rows:
            ws.append([_text(r[k]) for k in (*EXPORT_FIELDS, "lon", "lat")])
            n += 1
    wb.save(path)
    return n


def _write_ogr(path: Path, fmt: Format, chunks: Iterator[list[dict[str, Any]]], crs: str) -> int:
    target = path.with_suffix(".shp") if fmt == "shp" else path
    driver = "ESRI Shapefile" if fmt == "shp" else "GPKG"
    # GCJ-02 and BD-09 have no EPSG code: such files carry no CRS, the file name says which one it is.
    epsg = "EPSG:4326" if crs == "wgs84" else None
    fields = list(EXPORT_FIELDS)
    with warnings.catch_warnings():
        # GDAL warns that a layer without a CRS "may not be usable elsewhere": for GCJ-02 that is the truth.
        warnings.filterwarnings("ignore", message=".*crs.*was not provided", category=UserWarning)
        n = 0
        for rows in chunks:
            geometry = shapely.to_wkb(shapely.points([r["lon"] for r in rows], [r["lat"] for r in rows]))
            data = [
                np.array([("" if r[k] is None else _text(r[k])) for r in rows], dtype=object) for k in fields
            ]
            pyogrio.raw.write(
                str(target),
                geometry,
                data,
                fields,
                driver=driver,
                geometry_type="Point",
                crs=epsg,
                encoding="UTF-8",
                append=n > 0,
                layer="components",
            )
            n += len(rows)
        if n == 0:
            pyogrio.raw.write(
                str(target),
                np.array([], dtype=object),
                [np.array([], dtype=object) for _ in fields],
                fields,
                driver=driver,
                geometry_type="Point",
                crs=epsg,
                encoding="UTF-8",
                layer="components",
            )
    if fmt == "shp":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(target.parent.glob(target.stem + ".*")):
                if part != path:
                    zf.write(part, arcname=f"components{part.suffix}")
                    part.unlink()
    return n
