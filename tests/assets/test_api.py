"""The assets HTTP API and pages: permissions, street scope, history at a date, map data, files."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import delete

from tests.assets.factories import SANYUANLI, TOWN, make_component
from tests.conftest import bearer_for
from tests.threads import run_at_once
from zhili.assets import repository
from zhili.assets.models import ComponentSerial


@pytest.fixture
def admin(db):  # type: ignore[no-untyped-def]
    return bearer_for(db, "admin")


BODY = {
    "class_code": "03001",
    "name": "三元里公厕",
    "department": "BY-HW",
    "lon": SANYUANLI[0],
    "lat": SANYUANLI[1],
    "attributes": {"grade": "class_1", "opening_hours": "24h", "accessible": True},
}


def test_reading_needs_assets_read_and_changing_needs_assets_manage(client, db, admin) -> None:
    assert client.get("/api/v1/components").status_code == 401
    assert client.get("/api/v1/components", headers=bearer_for(db, "citizen")).status_code == 403
    leader = bearer_for(db, "leader")
    assert client.get("/api/v1/components", headers=leader).status_code == 200
    refused = client.post("/api/v1/components", json=BODY, headers=leader)
    assert refused.status_code == 403 and "assets:manage" in refused.json()["detail"]
    made = client.post("/api/v1/components", json=BODY, headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (
        body["code"].startswith("44011103001")
        and body["street_name"]
        and body["attributes"]["grade"] == "class_1"
    )


def test_bad_input_gets_a_422_saying_what_is_wrong(client, admin) -> None:
    outside = client.post("/api/v1/components", json={**BODY, "lon": 113.33, "lat": 23.12}, headers=admin)
    assert outside.status_code == 422 and "outside" in outside.json()["detail"]
    attrs = client.post("/api/v1/components", json={**BODY, "attributes": {"grade": "best"}}, headers=admin)
    assert attrs.status_code == 422 and "attributes.grade" in attrs.json()["detail"]
    dept = client.post("/api/v1/components", json={**BODY, "department": "NOPE"}, headers=admin)
    assert dept.status_code == 422 and "unknown department" in dept.json()["detail"]
    assert client.get("/api/v1/components/123", headers=admin).status_code == 422
    assert client.get("/api/v1/components/44011103001999999", headers=admin).status_code == 404
    bad_box = client.get("/api/v1/components/map", params={"bbox": "1,2,3", "zoom": 12}, headers=admin)
    assert bad_box.status_code == 422


def test_change_history_and_state_at_a_date_over_http(client, admin) -> None:
    code = client.post("/api/v1/components", json=BODY, headers=admin).json()["code"]
    changed = client.patch(
        f"/api/v1/components/{code}",
        json={"version": 1, "status": "damaged", "note": "门坏了"},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.patch(f"/api/v1/components/{code}", json={"version": 1, "status": "intact"}, headers=admin)
    assert stale.status_code == 409
    history = client.get(f"/api/v1/components/{code}/history", headers=admin).json()
    assert [h["action"] for h in history] == ["change", "create"] and history[0]["changes"]["status"][
        1
    ] == "damaged"
    before = client.get(f"/api/v1/components/{code}", params={"at": "2020-01-01"}, headers=admin)
    assert before.status_code == 404 and "not yet recorded" in before.json()["detail"]
    today = client.get(f"/api/v1/components/{code}", params={"at": "2099-01-01"}, headers=admin).json()
    assert today["status"] == "damaged" and today["as_of"]
    assert client.get(f"/api/v1/components/{code}", params={"at": "soon"}, headers=admin).status_code == 422


def test_a_street_scoped_inspector_sees_only_its_streets(client, db, session, admin) -> None:
    here = make_component(session, name="范围内的箱")
    there = make_component(session, at=TOWN, name="范围外的箱")
    session.commit()
    inspector = bearer_for(db, "inspector")
    listed = {
        i["code"]
        for i in client.get("/api/v1/components", params={"q": "范围"}, headers=inspector).json()["items"]
    }
    assert here.code in listed and there.code not in listed
    assert client.get(f"/api/v1/components/{there.code}", headers=inspector).status_code == 404
    assert client.get(f"/api/v1/components/{here.code}", headers=inspector).status_code == 200
    all_listed = {
        i["code"]
        for i in client.get("/api/v1/components", params={"q": "范围"}, headers=admin).json()["items"]
    }
    assert {here.code, there.code} <= all_listed


def test_map_data_and_layers(client, session, admin) -> None:
    mine = make_component(session, name="地图上的箱")
    session.commit()
    cells = client.get(
        "/api/v1/components/map", params={"bbox": "113.1,23.1,113.6,23.5", "zoom": 11}, headers=admin
    ).json()
    assert cells["mode"] == "cells" and cells["total"] >= 1
    points = client.get(
        "/api/v1/components/map",
        headers=admin,
        params={"bbox": "113.259,23.161,113.262,23.163", "zoom": 18, "class_code": "03005"},
    ).json()
    assert points["mode"] == "points" and any(p[0] == mine.code for p in points["points"])
    layers = {c["code"]: c for c in client.get("/api/v1/components/classes", headers=admin).json()}
    assert layers["03005"]["count"] >= 1 and layers["03901"]["is_local"] is True
    assert "03901" in client.get("/api/v1/components/types", headers=admin).json()


def test_import_and_export_over_http(client, admin) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(SANYUANLI)},
                "properties": {"class_code": "03005", "name": "接口导入箱"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [113.33, 23.12]},
                "properties": {"class_code": "03005", "name": "界外箱"},
            },
        ],
    }
    files = {"file": ("in.geojson", io.BytesIO(json.dumps(fc).encode()), "application/geo+json")}
    dry = client.post(
        "/api/v1/components/import", data={"crs": "wgs84", "dry_run": "true"}, files=files, headers=admin
    )
    assert dry.status_code == 200 and dry.json()["ok"] is False and dry.json()["errors"][0]["row"] == 2
    files = {"file": ("in.geojson", io.BytesIO(json.dumps(fc).encode()), "application/geo+json")}
    real = client.post("/api/v1/components/import", data={"crs": "wgs84"}, files=files, headers=admin)
    assert real.status_code == 422 and real.json()["errors"][0]["row"] == 2
    assert client.get("/api/v1/components", params={"q": "接口导入箱"}, headers=admin).json()["total"] == 0
    fc["features"].pop()
    files = {"file": ("in.geojson", io.BytesIO(json.dumps(fc).encode()), "application/geo+json")}
    ok = client.post("/api/v1/components/import", data={"crs": "wgs84"}, files=files, headers=admin)
    assert ok.status_code == 200 and ok.json()["created"] == 1
    out = client.get("/api/v1/components/export", params={"format": "csv", "q": "接口导入箱"}, headers=admin)
    assert out.status_code == 200 and out.headers["content-type"].startswith("text/csv")
    assert (
        "接口导入箱" in out.content.decode("utf-8-sig") and "attachment" in out.headers["content-disposition"]
    )


def test_the_map_page_and_the_record_page_render(client, session, db) -> None:
    c = make_component(session, name="页面上的箱")
    session.commit()
    headers = {**bearer_for(db, "shift_leader"), "Accept": "text/html"}
    page = client.get("/components", headers=headers)
    assert page.status_code == 200 and 'id="components-config"' in page.text
    record = client.get(f"/components/{c.code}", headers=headers)
    assert record.status_code == 200 and c.code in record.text
    assert f"/api/v1/cases?component_id={c.code}" in record.text
    assert f"/cases/new?component_id={c.code}&amp;lon=" in record.text
    panel = client.get(f"/components/{c.code}/panel", headers=headers)
    assert panel.status_code == 200 and "<html" not in panel.text


def test_the_panels_status_form_refuses_what_the_model_refuses(client, session, db) -> None:
    c = make_component(session, name="表单上的箱")
    session.commit()
    headers = {**bearer_for(db, "admin"), "Accept": "text/html"}
    for form in ({"version": "-5", "status": "damaged"}, {"version": str(c.version), "status": "stolen"}):
        r = client.post(f"/components/{c.code}/status", data=form, headers=headers)
        assert r.status_code == 422, r.text
        assert ("version" if form["status"] == "damaged" else "status") in r.text
    session.expire_all()
    assert (session.get(type(c), c.id).status, session.get(type(c), c.id).version) == (c.status, c.version)


def test_two_concurrent_allocations_never_share_a_serial(seeded) -> None:
    """Each thread holds its own connection and transaction; the counter row serialises them."""
    from zhili.core.db import Database

    real = Database.from_url(seeded)  # outside the test's rolled-back transaction: real concurrency
    got: list[list[int]] = []

    def allocate() -> None:
        with real.session_scope() as s:
            firsts = [repository.allocate_serials(s, "99998", 5, "440111") for _ in range(10)]
            got.append([f + i for f in firsts for i in range(5)])

    try:
        run_at_once(allocate, 2, timeout=60)
        assert len(got) == 2 and not set(got[0]) & set(got[1]) and len(set(got[0]) | set(got[1])) == 100
    finally:
        with real.session_scope() as s:
            s.execute(delete(ComponentSerial).where(ComponentSerial.class_code == "99998"))
        real.engine.dispose()
