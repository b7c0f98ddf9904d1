"""Numbers no column can hold, and filters the model refuses: a 4xx that says so, never a 500, and
nothing written. Found by fuzzing the OpenAPI schema (schemathesis): each of these was a 500."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.cases.conftest import API, action, report, standard_id
from zhili.cases.models import CaseActivity, CaseRecord

HUGE = 10317402329665090093056  # 74 bits: beyond SQLite's integers and PostgreSQL's bigint


def _refused_as_out_of_range(resp) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "out of range" in resp.json()["detail"]


def test_an_id_beyond_64_bits_is_refused_or_not_found_never_a_500(client, h, db) -> None:
    sqlite = db.engine.dialect.name == "sqlite"
    for method, path in (
        ("GET", f"/case-standards/{HUGE}"),
        ("DELETE", f"/case-dispatch-rules/{HUGE}"),
        ("GET", f"/work-plans/{HUGE}"),
        ("GET", f"/cases?department_id=-{HUGE}"),
        ("GET", f"/work-orders?team_id={HUGE}"),
    ):
        resp = client.request(method, API + path, headers=h("admin"))
        if sqlite or resp.status_code == 422:  # SQLite cannot bind it; PostgreSQL refuses some
            _refused_as_out_of_range(resp)
        else:  # PostgreSQL compares an untyped parameter as a numeric: nothing has that id
            assert resp.status_code in (200, 404), (path, resp.status_code, resp.text)


def test_a_department_beyond_64_bits_dispatches_nothing(client, h, session, db, at) -> None:
    case = report(client, h, session).json()
    case = action(client, h, "shift_leader", case, "register", standard_id=standard_id(session)).json()
    activities = session.scalar(select(func.count()).select_from(CaseActivity))
    resp = action(client, h, "dispatcher", case, "dispatch", department_id=HUGE)
    if db.engine.dialect.name == "sqlite":
        _refused_as_out_of_range(resp)
    else:  # PostgreSQL finds no such department
        assert 400 <= resp.status_code < 500, resp.text
    session.expire_all()
    row = session.scalars(select(CaseRecord).where(CaseRecord.number == case["number"])).one()
    assert (row.status, row.version, row.department_id) == ("to_dispatch", case["version"], None)
    assert session.scalar(select(func.count()).select_from(CaseActivity)) == activities
    resp = client.post(f"{API}/work-orders/{HUGE}/actions/pass_check", json={"version": 1},
                       headers=h("admin"))
    assert 400 <= resp.status_code < 500, resp.text


def test_a_component_filter_the_model_refuses_is_a_422_that_names_it(client, h) -> None:
    resp = client.get(f"{API}/components", params={"class_code": "abc"}, headers=h("admin"))
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert "class_codes" in body["detail"] and "5 digits" in body["detail"]
    resp = client.get(f"{API}/components/export", params={"class_code": "abc"}, headers=h("admin"))
    assert resp.status_code == 422
