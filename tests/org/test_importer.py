"""Importing areas and unit grids from GeoJSON: all rows or none, CRS declared, errors per feature."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from zhili.core import geo
from zhili.core.errors import Invalid
from zhili.org import importer, service
from zhili.org.models import AdminArea, UnitGrid

# A 200 m square inside 三元里 (WGS-84), well inside the district.
SQUARE = box(113.2700, 23.1700, 113.2720, 23.1718)


def _fc(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _feature(code: str, geom=SQUARE, name: str = "测试社区", crs: str = "wgs84") -> dict:
    g = geo.transform_geojson_geometry(mapping(geom), "wgs84", crs) if crs != "wgs84" else mapping(geom)
    props = {"code": code, "name": name}
    return {"type": "Feature", "properties": props, "geometry": json.loads(json.dumps(g))}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_community_and_its_grid_imported_in_gcj02_are_found_by_lookup(session) -> None:
    report = importer.import_areas_bytes(session, "tester", _fc(_feature("440111002901", crs="gcj02")),
                                         crs="gcj02", level="community")
    assert report.ok and report.created == 1
    stored = session.scalars(select(AdminArea).where(AdminArea.code == "440111002901")).one()
    assert stored.approximate is False and stored.area_m2 == pytest.approx(205 * 200, rel=0.05)
    grid = _feature("44011100290101", crs="gcj02")  # a legacy 14-digit code: stored with 15
    report = importer.import_areas_bytes(session, "tester", _fc(grid), crs="gcj02", level="grid")
    assert report.ok and report.created == 1
    # The new grid overlaps demo grids; lookups return the lowest code among overlapping grids,
    # so check the new grid directly in the rebuilt index.
    index = service.area_index(session)
    assert index.grid("440111002901001") is not None
    assert index.location_of_grid("440111002901001").community_code == "440111002901"


def test_dry_run_reports_and_writes_nothing(session) -> None:
    before = _count(session, AdminArea)
    report = importer.import_areas_bytes(session, None, _fc(_feature("440111002902")), crs="wgs84",
                                         level="community", dry_run=True)
    assert report.ok and report.dry_run and report.created == 1
    assert _count(session, AdminArea) == before


def test_one_bad_feature_rejects_the_whole_file(session) -> None:
    before_areas, before_grids = _count(session, AdminArea), _count(session, UnitGrid)
    far_away = box(116.30, 39.90, 116.31, 39.91)  # Beijing
    features = _fc(
        _feature("440111002903"),
        _feature("440111002903", name="重复"),
        _feature("440111002904", geom=far_away),
        _feature("4401110029", name="短码"),
        _feature("440111099905"),  # its street 440111099 does not exist
        {"type": "Feature", "properties": {"code": "440111002906", "name": "点"},
         "geometry": {"type": "Point", "coordinates": [113.27, 23.17]}},
    )
    with pytest.raises(Invalid) as caught:
        importer.import_areas_bytes(session, None, features, crs="wgs84", level="community")
    messages = [e["msg"] for e in caught.value.errors]
    assert any("repeats feature 1" in m for m in messages)
    assert any("feature 3" in m and "outside the district" in m for m in messages)
    assert any("feature 4" in m and "12 digits" in m for m in messages)
    assert any("feature 5" in m and "440111099 does not exist" in m for m in messages)
    assert any("feature 6" in m and "Polygon or MultiPolygon" in m for m in messages)
    assert (_count(session, AdminArea), _count(session, UnitGrid)) == (before_areas, before_grids)


def test_reimport_updates_instead_of_duplicating(session) -> None:
    data = _fc(_feature("440111002907"))
    assert importer.import_areas_bytes(session, None, data, crs="wgs84", level="community").created == 1
    again = importer.import_areas_bytes(session, None, _fc(_feature("440111002907", name="改名社区")),
                                        crs="wgs84", level="community")
    assert (again.created, again.updated) == (0, 1)
    assert session.scalars(select(AdminArea.name).where(AdminArea.code == "440111002907")).one() == "改名社区"


@pytest.mark.parametrize(("raw", "crs", "message"), [
    (b"{not json", "wgs84", "not valid JSON"),
    (b'{"type": "Feature"}', "wgs84", "FeatureCollection"),
    (b'{"type": "FeatureCollection", "features": []}', "wgs84", "no features"),
    (_fc(_feature("440111002908")), "epsg:3857", "unknown CRS"),
])
def test_malformed_files_and_unknown_crs_are_refused(session, raw, crs, message) -> None:
    with pytest.raises(Invalid, match=message):
        importer.import_areas_bytes(session, None, raw, crs=crs, level="community")


def test_wrong_crs_declaration_is_caught_by_the_district_check(session) -> None:
    # A shape near the district's southern edge given in WGS-84 but declared BD-09 lands ~1 km off.
    edge = box(113.2650, 23.1450, 113.2700, 23.1480)
    data = _fc(_feature("440111002909", geom=edge))
    report = importer.import_areas_bytes(session, None, data, crs="bd09", level="community", dry_run=True)
    assert not report.ok and "is the CRS right? declared bd09" in report.errors[0]


def test_import_over_http_needs_org_manage_and_reports_errors(client, admin_headers, db) -> None:
    from tests.conftest import bearer_for

    files = {"file": ("c.geojson", _fc(_feature("440111002910")), "application/geo+json")}
    resp = client.post("/api/v1/areas/import", data={"crs": "wgs84", "level": "community", "dry_run": "true"},
                       files=files, headers=admin_headers)
    assert resp.status_code == 200 and resp.json()["ok"] and resp.json()["created"] == 1
    bad = {"file": ("c.geojson", b"[]", "application/geo+json")}
    resp = client.post("/api/v1/areas/import", data={"crs": "wgs84", "level": "community"}, files=bad,
                       headers=admin_headers)
    assert resp.status_code == 422 and "FeatureCollection" in resp.json()["detail"]
    resp = client.post("/api/v1/areas/import", data={"crs": "wgs84", "level": "community"}, files=files,
                       headers=bearer_for(db, "leader"))
    assert resp.status_code == 403
