"""Import each format with a declared CRS: dry runs with row errors, all or nothing, re-runs, round trip."""

from __future__ import annotations

import csv
import itertools
import json
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from shapely.geometry import shape
from sqlalchemy import func, select

from tests.assets.factories import OUTSIDE, SANYUANLI, TOWN, make_component, user
from zhili.assets import service
from zhili.assets.models import Component, ComponentVersion
from zhili.assets.schemas import ComponentFilters
from zhili.core import geo
from zhili.core.errors import Invalid


def _rows(n: int, *, start: int = 0) -> list[dict[str, object]]:
    return [
        {
            "name": f"导入垃圾箱{start + i}",
            "class_code": "03005",
            "status": "完好",
            "department": "BY-HW",
            "lon": SANYUANLI[0] + (start + i) * 0.00005,
            "lat": SANYUANLI[1],
            "address": f"测试路{start + i}号",
        }
        for i in range(n)
    ]


def _gcj(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    lons, lats = geo.wgs84_to_gcj02(np.array([r["lon"] for r in rows]), np.array([r["lat"] for r in rows]))
    return [{**r, "lon": float(x), "lat": float(y)} for r, x, y in zip(rows, lons, lats, strict=True)]


def write_geojson(path: Path, rows: list[dict[str, object]]) -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
            "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
        }
        for r in rows
    ]
    path.write_text(
        json.dumps(
            {"type": "FeatureCollection", "name": "部件", "features": features}, ensure_ascii=False, indent=1
        )
    )
    return path


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    header = {
        "name": "部件名称",
        "class_code": "部件类别",
        "status": "部件状态",
        "department": "主管部门",
        "lon": "经度",
        "lat": "纬度",
        "address": "地址",
        "code": "部件标识码",
    }
    keys = list(rows[0])
    with path.open("w", encoding="gb18030", newline="") as fh:  # what a Chinese spreadsheet saves
        w = csv.writer(fh)
        w.writerow([header[k] for k in keys])
        for r in rows:
            w.writerow([r[k] for k in keys])
    return path


def write_xlsx(path: Path, rows: list[dict[str, object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    keys = list(rows[0])
    ws.append(keys)
    for r in rows:
        ws.append([r[k] for k in keys])
    wb.save(path)
    return path


def _count(session, prefix: str = "导入垃圾箱") -> int:  # type: ignore[no-untyped-def]
    return int(
        session.scalar(select(func.count()).select_from(Component).where(Component.name.like(f"{prefix}%")))
    )


@pytest.mark.parametrize("writer", [write_geojson, write_csv, write_xlsx])
def test_each_table_format_imports_with_its_declared_crs(session, tmp_path, writer) -> None:
    suffix = {"write_geojson": ".geojson", "write_csv": ".csv", "write_xlsx": ".xlsx"}[writer.__name__]
    path = writer(tmp_path / f"in{suffix}", _gcj(_rows(3)))
    report = service.import_components(session, user(session, "admin"), path, crs="gcj02")
    assert report.ok and report.created == 3 and _count(session) == 3
    c = session.scalars(select(Component).where(Component.name == "导入垃圾箱0")).one()
    assert c.lon == pytest.approx(SANYUANLI[0], abs=1e-6) and c.street_code == "440111002"
    assert c.status == "intact" and c.code.startswith("44011103005")


def test_dry_run_reports_every_row_error_and_writes_nothing(session, tmp_path) -> None:
    existing = make_component(session)
    rows = [
        *_rows(2),
        {**_rows(1, start=10)[0], "code": "12345"},
        {**_rows(1, start=11)[0], "lon": OUTSIDE[0], "lat": OUTSIDE[1]},
        {**_rows(1, start=12)[0], "department": "BY-XX"},
        {**_rows(1, start=13)[0], "code": "44011103005555555"},
        {**_rows(1, start=14)[0], "code": "44011103005555555"},
        {**_rows(1, start=15)[0], "status": "很好"},
        {**_rows(1, start=16)[0], "class_code": "99999"},
        {**_rows(1, start=17)[0], "code": existing.code},
    ]
    path = write_geojson(tmp_path / "bad.geojson", rows)
    report = service.import_components(session, user(session, "admin"), path, crs="wgs84", dry_run=True)
    assert not report.ok and report.rows == 10 and _count(session) == 0
    messages = {e["row"]: e["msg"] for e in report.errors}
    assert "17 digits" in messages[3]
    assert "outside the district" in messages[4]
    assert "unknown department" in messages[5]
    assert "duplicate ID 44011103005555555: row 6" in messages[7]
    assert "很好" in messages[8]
    assert "unknown component class" in messages[9]
    assert set(messages) == {3, 4, 5, 7, 8, 9}
    with pytest.raises(Invalid) as raised:
        service.import_components(session, user(session, "admin"), path, crs="wgs84")
    assert raised.value.extra["error_count"] == 6 and len(raised.value.errors) == 6


def test_an_error_in_a_late_chunk_leaves_nothing_written(db, tmp_path) -> None:
    rows = [*_rows(7), {**_rows(1, start=20)[0], "lon": OUTSIDE[0], "lat": OUTSIDE[1]}]
    path = write_geojson(tmp_path / "late.geojson", rows)
    with db.sessionmaker() as s:
        with pytest.raises(Invalid):
            service.import_components(s, user(s, "admin"), path, crs="wgs84", chunk_rows=2)
        s.rollback()  # what the request or the CLI does with the Invalid
        assert (
            _count(s) == 0
            and s.scalar(
                select(func.count())
                .select_from(ComponentVersion)
                .join(Component)
                .where(Component.name.like("导入垃圾箱%"))
            )
            == 0
        )


def test_re_running_an_import_changes_nothing_and_updates_by_id(session, tmp_path) -> None:
    admin = user(session, "admin")
    rows = [{**r, "code": f"44011103005{700000 + i:06d}"} for i, r in enumerate(_rows(4))]
    path = write_geojson(tmp_path / "ids.geojson", rows)
    first = service.import_components(session, admin, path, crs="wgs84")
    again = service.import_components(session, admin, path, crs="wgs84")
    assert (first.created, again.created, again.updated, again.unchanged) == (4, 0, 0, 4)
    rows[0]["status"] = "破损"
    changed = service.import_components(
        session, admin, write_geojson(tmp_path / "v2.geojson", rows), crs="wgs84"
    )
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)
    versions = service.history(session, admin, "44011103005700000")
    assert [v.action for v in versions] == ["import", "import"] and versions[0].changes["status"] == [
        "intact",
        "damaged",
    ]


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx", "gpkg", "shp"])
def test_an_export_imports_back_unchanged_in_every_format(session, tmp_path, fmt) -> None:
    admin = user(session, "admin")
    make_component(session, name="往返井盖", class_code="01003", department="BY-SW", address="往返路1号")
    make_component(
        session,
        name="往返古树",
        class_code="04001",
        department="BY-YL",
        at=TOWN,
        attributes={"species": "榕树", "grade": "level_3", "age_years": 150},
    )
    filters = ComponentFilters(q="往返")
    path = tmp_path / f"out.{fmt if fmt != 'shp' else 'zip'}"
    assert service.export_components(session, admin, filters, path, fmt=fmt, crs="gcj02") == 2
    if fmt == "shp":
        assert {Path(n).suffix for n in zipfile.ZipFile(path).namelist()} >= {".shp", ".dbf", ".shx", ".cpg"}
    report = service.import_components(session, admin, path, crs="gcj02", fmt=fmt)
    assert report.ok and (report.rows, report.unchanged, report.updated, report.created) == (2, 2, 0, 0), (
        report
    )


def test_a_file_that_is_not_what_it_claims_gets_a_clear_error(session, tmp_path) -> None:
    admin = user(session, "admin")
    bad_json = tmp_path / "x.geojson"
    bad_json.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature",')
    with pytest.raises(Invalid, match="not valid JSON"):
        service.import_components(session, admin, bad_json, crs="wgs84")
    no_cols = tmp_path / "x.csv"
    no_cols.write_text("name,class\n箱,03005\n")
    with pytest.raises(Invalid, match="lon and lat"):
        service.import_components(session, admin, no_cols, crs="wgs84")
    with pytest.raises(Invalid, match="--format"):
        service.import_components(session, admin, tmp_path / "x.txt", crs="wgs84")
    with pytest.raises(Invalid, match="wgs84, gcj02 or bd09"):
        service.import_components(session, admin, no_cols, crs="epsg:3857")


def _point_rounding_across_a_grid_edge(session) -> tuple[float, float]:
    """A full-precision point in one unit grid whose 7-decimal rounding (as stored) lies in another."""
    from zhili.org import service as org_service

    index = org_service.area_index(session)
    street = index.locate(*SANYUANLI).street_code
    for g in index.grids:
        if not g.code.startswith(street):
            continue
        polygon = shape(g.geometry)
        ring = list(polygon.exterior.coords) if polygon.geom_type == "Polygon" else []
        for (ax, ay), (bx, by) in itertools.pairwise(ring):
            mx, my = (ax + bx) / 2, (ay + by) / 2
            rx, ry = round(mx, 7), round(my, 7)
            side = (bx - ax) * (ry - ay) - (by - ay) * (rx - ax)
            length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5
            if side == 0 or length == 0:
                continue
            nx, ny = -(by - ay) / length, (bx - ax) / length  # unit normal, on the positive side
            sign = -1 if side > 0 else 1  # the side away from the rounded point
            px, py = mx + sign * nx * 1e-8, my + sign * ny * 1e-8
            if (round(px, 7), round(py, 7)) != (rx, ry):
                continue
            here, there = index.locate(px, py), index.locate(rx, ry)
            if here is not None and there is not None and here.grid_code != there.grid_code:
                return px, py
    raise AssertionError("no grid edge of the street gives such a point")


def test_a_component_is_in_the_grid_of_its_stored_point(session, tmp_path) -> None:
    """Stored positions keep 7 decimals; the grid must be that of the stored point, or the component's
    own export would move it to another grid when imported back."""
    from zhili.org import service as org_service

    admin = user(session, "admin")
    lon, lat = _point_rounding_across_a_grid_edge(session)
    rows = [{**_rows(1)[0], "code": "44011103005799999", "lon": lon, "lat": lat}]
    path = write_geojson(tmp_path / "edge.geojson", rows)
    first = service.import_components(session, admin, path, crs="wgs84")
    assert first.created == 1
    stored = session.scalars(select(Component).where(Component.code == "44011103005799999")).one()
    assert (stored.lon, stored.lat) == (round(lon, 7), round(lat, 7))
    assert org_service.area_index(session).locate(stored.lon, stored.lat).grid_code == stored.grid_code
    out = tmp_path / "back.geojson"
    service.export_components(session, admin, ComponentFilters(q="44011103005799999"), out, fmt="geojson")
    again = service.import_components(session, admin, out, crs="wgs84")
    assert (again.unchanged, again.updated) == (1, 0)
