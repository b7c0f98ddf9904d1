"""The org JSON API as the map and other systems use it: GeoJSON in the caller's CRS, lookups, errors."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import bearer_for
from zhili.core import geo
from zhili.core.audit import AuditEntry
from zhili.org import service


@pytest.fixture
def leader(db):  # type: ignore[no-untyped-def]
    return bearer_for(db, "leader")


def test_streets_come_as_geojson_with_codes_and_the_approximate_flag(client, leader) -> None:
    resp = client.get("/api/v1/areas", params={"level": "street"}, headers=leader)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/geo+json")
    features = resp.json()["features"]
    assert len(features) == 24
    props = {f["properties"]["code"]: f["properties"] for f in features}
    assert props["440111002"]["name"] == "三元里街道" and props["440111002"]["approximate"] is True
    assert props["440111113"]["level"] == "town"


def test_gcj02_output_is_shifted_from_wgs84_by_the_datum_offset(client, leader) -> None:
    wgs = client.get("/api/v1/areas", params={"level": "district"}, headers=leader).json()
    gcj = client.get("/api/v1/areas", params={"level": "district", "crs": "gcj02"}, headers=leader).json()
    w = wgs["features"][0]["geometry"]["coordinates"][0][0][0]
    g = gcj["features"][0]["geometry"]["coordinates"][0][0][0]
    assert geo.wgs84_to_gcj02(*w) == pytest.approx(tuple(g), abs=2e-7)
    assert 300 < geo.distance_m(w[0], w[1], g[0], g[1]) < 800


def test_viewport_returns_the_grids_in_the_box_with_their_inspector(client, leader) -> None:
    resp = client.get("/api/v1/grids", params={"bbox": "113.26,23.17,113.275,23.18"}, headers=leader)
    assert resp.status_code == 200
    features = resp.json()["features"]
    assert 20 < len(features) < 3000
    p = features[0]["properties"]
    assert len(p["code"]) == 15 and p["street_name"] and p["community_name"] and p["inspector_name"]


@pytest.mark.parametrize(("bbox", "message"), [
    ("113.0,23.0,113.6,23.5", "too large"),
    ("113.27,23.18,113.26,23.17", "minlon < maxlon"),
    ("a,b,c,d", "four numbers"),
    ("113.26,95,113.27,96", "latitude"),
])
def test_a_bad_viewport_gets_422_saying_what_is_wrong(client, leader, bbox, message) -> None:
    resp = client.get("/api/v1/grids", params={"bbox": bbox}, headers=leader)
    assert resp.status_code == 422
    assert message in resp.json()["detail"]


def test_grid_detail_and_unknown_grid(client, leader, session) -> None:
    code = service.locate(session, 113.2712, 23.1756).grid_code
    resp = client.get(f"/api/v1/grids/{code}", headers=leader)
    assert resp.status_code == 200 and resp.json()["code"] == code and resp.json()["area_m2"] > 5000
    missing = client.get("/api/v1/grids/440111999999999", headers=leader)
    assert missing.status_code == 404 and "15 digits" in missing.json()["detail"]


def test_locate_names_the_grid_and_refuses_points_outside(client, leader) -> None:
    glon, glat = geo.wgs84_to_gcj02(113.2712, 23.1756)
    ok = client.get("/api/v1/locate", params={"lon": glon, "lat": glat, "crs": "gcj02"}, headers=leader)
    assert ok.status_code == 200 and ok.json()["street_code"].startswith("440111")
    out = client.get("/api/v1/locate", params={"lon": 113.33, "lat": 23.12}, headers=leader)
    assert out.status_code == 422 and "outside 白云区" in out.json()["detail"]
    assert out.headers["content-type"].startswith("application/problem+json")
    bad_crs = client.get("/api/v1/locate", params={"lon": 113.27, "lat": 23.17, "crs": "utm"}, headers=leader)
    assert bad_crs.status_code == 422 and "wgs84, gcj02 or bd09" in bad_crs.json()["detail"]


def test_map_data_needs_a_login_and_the_map_permission(client, db) -> None:
    assert client.get("/api/v1/areas").status_code == 401
    citizen = bearer_for(db, "citizen")
    resp = client.get("/api/v1/areas", headers=citizen)
    assert resp.status_code == 403 and "map:view" in resp.json()["detail"]


def test_departments_list_teams_and_staff(client, leader) -> None:
    resp = client.get("/api/v1/departments", headers=leader)
    assert resp.status_code == 200
    depts = {d["code"]: d for d in resp.json()}
    sanitation = depts["BY-HW"]
    assert sanitation["kind"] == "sanitation" and sanitation["teams"] and sanitation["staff_count"]
    assert depts["ST-440111002"]["street_code"] == "440111002"


def test_binding_an_inspector_is_audited_and_shows_on_the_grid(client, admin_headers, session, db) -> None:
    loc = service.locate(session, 113.2712, 23.1756)
    other = client.get("/api/v1/grids", params={"bbox": "113.36,23.26,113.372,23.272"},
                       headers=admin_headers).json()["features"][0]["properties"]
    assert other["responsibility_grid_code"] != loc.responsibility_grid_code
    from zhili.org.models import ResponsibilityGrid, Staff
    staff_no = session.scalar(select(Staff.employee_no).join(
        ResponsibilityGrid, ResponsibilityGrid.inspector_staff_id == Staff.id)
        .where(ResponsibilityGrid.code == other["responsibility_grid_code"]))
    resp = client.put(f"/api/v1/responsibility-grids/{loc.responsibility_grid_code}/inspector",
                      json={"employee_no": staff_no}, headers=admin_headers)
    assert resp.status_code == 204
    after = client.get(f"/api/v1/grids/{loc.grid_code}", headers=admin_headers).json()
    assert after["inspector_name"] == other["inspector_name"]
    with db.sessionmaker() as s:
        entry = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry.action == "org.assign_inspector" and entry.actor == "admin"


def test_binding_a_non_inspector_or_without_permission_is_refused(client, admin_headers, db) -> None:
    url = "/api/v1/responsibility-grids/440111002R001/inspector"
    resp = client.put(url, json={"employee_no": "BY-CC-0001"}, headers=admin_headers)
    assert resp.status_code == 422 and "not an active inspector" in resp.json()["detail"]
    leader = bearer_for(db, "leader")
    assert client.put(url, json={"employee_no": "JD00001"}, headers=leader).status_code == 403
    assert client.put("/api/v1/responsibility-grids/NOPE/inspector", json={"employee_no": None},
                      headers=admin_headers).status_code == 404
