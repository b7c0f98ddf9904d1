"""Zipped Shapefiles and GeoPackages through GDAL (pyogrio): point layers in longitude/latitude."""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.raw
import shapely

from zhili.assets.formats.fields import EXPORT_FIELDS, Format, RawRow, canonical, cell_text
from zhili.core.errors import Invalid

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


def read_rows(path: Path, fmt: Format, chunk: int) -> Iterator[RawRow]:
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


def write(path: Path, fmt: Format, chunks: Iterator[list[dict[str, Any]]], crs: str) -> int:
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
                np.array([("" if r[k] is None else cell_text(r[k])) for r in rows], dtype=object)
                for k in fields
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
