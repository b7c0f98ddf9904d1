"""Cases over HTTP: intake, queues, detail, actions and versions, batch, idempotency, scope, rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.responses import JSONResponse

from tests.cases.conftest import API, action, evidence, report, report_fields, standard_id
from zhili.cases.models import CaseActivity, CaseRecord
from zhili.core.audit import AuditEntry


@pytest.fixture
def photos(session):
    def make(n: int = 1) -> list[str]:
        shas = evidence(session, n)
        session.commit()
        return shas

    return make


def test_inspector_reports_and_the_case_walks_the_main_line_over_http(client, h, session, at, photos) -> None:
    resp = report(client, h, session)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert case["status"] == "to_register" and case["clock"]["stage"] == "register"
    assert case["clock"]["colour"] == "green" and case["clock"]["remaining_seconds"] == 1800
    assert case["timeline"][0]["action"] == "report"
    steps = [
        ("shift_leader", "register", {"standard_id": standard_id(session)}),
        ("dispatcher", "dispatch", {}),
        ("handler", "accept", {}),
        ("handler", "handle", {"result": "已清理", "evidence": photos()}),
        ("inspector", "check", {"passed": True}),
        ("shift_leader", "close", {}),
    ]
    for username, name, fields in steps:
        resp = action(client, h, username, case, name, **fields)
        assert resp.status_code == 200, (name, resp.text)
        case = resp.json()
    assert case["status"] == "closed" and case["allowed_actions"] == []
    assert [t["action"] for t in case["timeline"]] == ["report", *[s[1] for s in steps]]
    assert {e["stage"] for e in case["evidence"]} == {"after"}


def test_action_errors_are_problem_details_with_allowed_actions(client, h, session, at) -> None:
    case = report(client, h, session).json()
    resp = action(client, h, "shift_leader", case, "close")
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == 409 and set(body["allowed_actions"]) == {
        "register",
        "not_accept",
        "cancel",
        "merge",
    }
    assert body["case_status"] == "to_register"
    resp = action(client, h, "dispatcher", case, "register", standard_id=standard_id(session))
    assert resp.status_code == 403 and "cases:register" in resp.json()["detail"]
    resp = action(
        client,
        h,
        "shift_leader",
        {**case, "version": case["version"] + 5},
        "register",
        standard_id=standard_id(session),
    )
    assert resp.status_code == 409 and "changed since you read it" in resp.json()["detail"]
    resp = client.post(
        f"{API}/cases/{case['number']}/actions/fly", json={"version": 1}, headers=h("shift_leader")
    )
    assert resp.status_code == 422
    resp = client.post(
        f"{API}/cases/{case['number']}/actions/register",
        json={"version": 1, "colour": "x"},
        headers=h("shift_leader"),
    )
    assert resp.status_code == 422  # unknown field


def test_bad_reports_get_clear_422s_and_nothing_is_written(client, h, session, at) -> None:
    before = session.scalar(select(func.count()).select_from(CaseRecord))
    assert report(client, h, session, class_code="99999").status_code == 422
    assert report(client, h, session, lon=116.397, lat=39.909).status_code == 422
    assert report(client, h, session, lon=200).status_code == 422
    assert report(client, h, session, evidence=["ab" * 32]).status_code == 422
    assert report(client, h, session, description="").status_code == 422
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == before


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, h, session, at) -> None:
    first = report(client, h, session, key="hotline-ticket-1")
    again = report(client, h, session, key="hotline-ticket-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert (
        session.scalar(
            select(func.count()).select_from(CaseRecord).where(CaseRecord.number == first.json()["number"])
        )
        == 1
    )
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == 1
    other = report(client, h, session, key="hotline-ticket-1", description="另一件事")
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    # Actions too: a retried register does not fail as a stale version, it replays.
    case = first.json()
    one = action(client, h, "shift_leader", case, "register", key="reg-1", standard_id=standard_id(session))
    two = action(client, h, "shift_leader", case, "register", key="reg-1", standard_id=standard_id(session))
    assert one.status_code == two.status_code == 200 and one.json()["version"] == two.json()["version"]
    registers = session.scalar(
        select(func.count()).select_from(CaseActivity).where(CaseActivity.action == "register")
    )
    assert registers == 1
    # Keys are per caller: another user's same key is a new request.
    assert (
        report(client, h, session, username="operator", key="hotline-ticket-1", source="hotline").status_code
        == 201
    )


def test_queues_filters_and_search(client, h, session, at) -> None:
    a = report(client, h, session).json()
    report(client, h, session, username="operator", source="public", class_code="06012")
    resp = client.get(f"{API}/cases", params={"queue": "to_verify"}, headers=h("operator"))
    assert [c["class_code"] for c in resp.json()["items"]] == ["06012"]
    resp = client.get(
        f"{API}/cases", params={"queue": "to_register", "with_total": True}, headers=h("operator")
    )
    assert resp.json()["total"] == 1 and resp.json()["items"][0]["number"] == a["number"]
    resp = client.get(f"{API}/cases", params={"q": a["number"]}, headers=h("leader"))
    assert [c["number"] for c in resp.json()["items"]] == [a["number"]]
    resp = client.get(f"{API}/cases", params={"q": "暴露"}, headers=h("leader"))
    assert len(resp.json()["items"]) == 2
    resp = client.get(f"{API}/cases", params={"page_size": 1}, headers=h("leader"))
    assert resp.json()["has_more"] is True and len(resp.json()["items"]) == 1
    resp = client.get(
        f"{API}/cases", params={"status": ["to_verify", "to_register"], "crs": "gcj02"}, headers=h("leader")
    )
    item = resp.json()["items"][0]
    assert item["crs"] == "gcj02" and item["lon"] != pytest.approx(a["lon"], abs=1e-5)
    assert client.get(f"{API}/cases", params={"queue": "nope"}, headers=h("leader")).status_code == 422
    mine = client.get(f"{API}/cases", params={"mine": True}, headers=h("inspector")).json()["items"]
    assert [c["class_code"] for c in mine] == ["06012"]  # the verify task of his grid
    tasks = client.get(f"{API}/case-tasks", headers=h("inspector")).json()
    assert [(t["kind"], t["status"]) for t in tasks] == [("verify", "open")]


def test_overdue_queue_is_derived_from_the_clock(client, h, session, at) -> None:
    case = report(client, h, session).json()
    assert client.get(f"{API}/cases", params={"queue": "overdue"}, headers=h("leader")).json()["items"] == []
    at.advance(minutes=31)  # the 30-minute register limit has run out
    items = client.get(f"{API}/cases", params={"queue": "overdue"}, headers=h("leader")).json()["items"]
    assert [(c["number"], c["colour"]) for c in items] == [(case["number"], "red")]
    detail = client.get(f"{API}/cases/{case['number']}", headers=h("leader")).json()
    assert detail["clock"]["colour"] == "red" and detail["clock"]["remaining_seconds"] == -60


def test_component_cases_are_found_by_component_id(client, h, session, at, monkeypatch) -> None:
    from zhili.assets import service as assets_service

    known = {"44011103005000001"}
    monkeypatch.setattr(
        assets_service, "find_component", lambda _s, code: object() if code in known else None
    )
    resp = report(
        client, h, session, class_kind="component", class_code="03005", component_id="44011103005000001"
    )
    assert resp.status_code == 201, resp.text
    unknown = report(
        client, h, session, class_kind="component", class_code="03005", component_id="44011103005000002"
    )
    assert unknown.status_code == 422 and "No component" in unknown.json()["detail"]
    items = client.get(
        f"{API}/cases", params={"component_id": "44011103005000001"}, headers=h("leader")
    ).json()
    assert [c["component_id"] for c in items["items"]] == ["44011103005000001"]
    assert client.get(f"{API}/cases", params={"component_id": "123"}, headers=h("leader")).status_code == 422


def test_scope_a_handler_sees_only_its_department_and_a_citizen_only_its_own(client, h, session, at) -> None:
    case = report(client, h, session).json()
    assert client.get(f"{API}/cases/{case['number']}", headers=h("handler")).status_code == 404
    assert client.get(f"{API}/cases", headers=h("handler")).json()["items"] == []
    case = action(client, h, "shift_leader", case, "register", standard_id=standard_id(session)).json()
    case = action(client, h, "dispatcher", case, "dispatch").json()
    assert client.get(f"{API}/cases/{case['number']}", headers=h("handler")).status_code == 200
    assert client.get(f"{API}/cases/{case['number']}", headers=h("gas_officer")).status_code == 200
    assert client.get(f"{API}/cases", headers=h("citizen")).status_code == 403  # no cases:read
    mine = report(client, h, session, username="citizen", source="public")
    assert mine.status_code == 201 and mine.json()["allowed_actions"] == []


def test_inspector_scoped_to_a_street_does_not_see_other_streets(client, h, session, at) -> None:
    from tests.cases.conftest import spot
    from zhili.org import service as org_service

    other = next(
        g for g in org_service.area_index(session).grids if not g.community_code.startswith("440111002")
    )
    lon, lat = spot(session, other.inspector_staff_id)
    resp = report(client, h, session, username="operator", source="hotline", lon=lon, lat=lat)
    assert resp.status_code == 201
    number = resp.json()["number"]
    assert client.get(f"{API}/cases/{number}", headers=h("inspector")).status_code == 404
    assert client.get(f"{API}/cases/{number}", headers=h("operator")).status_code == 200


def test_batch_dispatch_reports_each_case_alone(client, h, session, at) -> None:
    cases = []
    for _ in range(3):
        c = report(client, h, session).json()
        registered = action(client, h, "shift_leader", c, "register", standard_id=standard_id(session))
        cases.append(registered.json())
    items = [{"number": c["number"], "version": c["version"]} for c in cases]
    items[1]["version"] = 99
    resp = client.post(
        f"{API}/cases/actions/dispatch/batch",
        json={"items": items, "note": "批量派遣"},
        headers=h("dispatcher"),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["done"], body["failed"]) == (2, 1)
    assert [r["status"] for r in body["results"]] == [200, 409, 200]
    statuses = dict(session.execute(select(CaseRecord.number, CaseRecord.status)).all())
    assert [statuses[c["number"]] for c in cases] == [
        "to_accept",
        "to_register" if False else "to_dispatch",
        "to_accept",
    ]
    assert (
        client.post(
            f"{API}/cases/actions/dispatch/batch", json={"items": items}, headers=h("handler")
        ).status_code
        == 403
    )


def test_prefer_return_minimal_answers_with_the_list_item(client, h, session, at) -> None:
    case = report(client, h, session).json()
    resp = client.post(
        f"{API}/cases/{case['number']}/actions/register",
        json={"version": case["version"], "standard_id": standard_id(session)},
        headers={**h("shift_leader"), "Prefer": "return=minimal"},
    )
    assert (
        resp.status_code == 200 and resp.json()["status"] == "to_dispatch" and "timeline" not in resp.json()
    )


def test_a_minimal_report_answers_with_the_list_item_and_opens_the_same_case(client, h, session, at) -> None:
    resp = client.post(f"{API}/cases", json=report_fields(session),
                       headers={**h("inspector"), "Prefer": "return=minimal"})
    assert resp.status_code == 201, resp.text
    item = resp.json()
    assert "timeline" not in item and item["status"] == "to_register"
    full = client.get(f"{API}/cases/{item['number']}", headers=h("inspector")).json()
    assert full["version"] == item["version"] and [e["action"] for e in full["timeline"]] == ["report"]


def test_every_action_is_audited_with_the_caller(client, h, session, at) -> None:
    case = report(client, h, session).json()
    action(client, h, "shift_leader", case, "register", standard_id=standard_id(session))
    actors = session.execute(
        select(AuditEntry.actor, AuditEntry.action)
        .where(AuditEntry.entity_id == case["number"])
        .order_by(AuditEntry.id)
    ).all()
    assert [tuple(a) for a in actors] == [("inspector", "cases.report"), ("shift_leader", "cases.register")]


def test_duplicates_endpoint_proposes_nearby_cases_of_the_same_class(client, h, session, at) -> None:
    a = report(client, h, session).json()
    b = report(client, h, session, username="operator", source="hotline").json()
    resp = client.get(f"{API}/cases/{b['number']}/duplicates", headers=h("shift_leader"))
    assert [d["number"] for d in resp.json()] == [a["number"]]
    merged = action(client, h, "shift_leader", b, "merge", target_number=a["number"], reason="重复")
    assert merged.json()["status"] == "merged" and merged.json()["merged_into_number"] == a["number"]


# --- standards ---------------------------------------------------------------------------------------


def test_area_dispatch_rule_overrides_the_standard_department(client, h, session, at) -> None:
    from zhili.org import repository as org_repository

    street_office = org_repository.department_by_code(session, "ST-440111002")
    assert street_office is not None
    rule = {
        "class_kind": "matter",
        "class_code": "06010",
        "street_code": "440111002",
        "department_id": street_office.id,
    }
    resp = client.post(f"{API}/case-dispatch-rules", json=rule, headers=h("admin"))
    assert resp.status_code == 201, resp.text
    case = report(client, h, session).json()
    case = action(client, h, "shift_leader", case, "register", standard_id=standard_id(session)).json()
    assert case["suggested_department_id"] == street_office.id
    case = action(client, h, "dispatcher", case, "dispatch").json()
    assert case["department_id"] == street_office.id
    rules = client.get(f"{API}/case-dispatch-rules", headers=h("leader")).json()
    assert client.delete(f"{API}/case-dispatch-rules/{rules[0]['id']}", headers=h("admin")).status_code == 204


def test_openapi_documents_the_case_routes(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/actions/{action}",
        "/api/v1/cases/actions/{action}/batch",
        "/api/v1/case-standards/import",
    ):
        assert path in paths, path


def test_a_list_page_costs_the_same_queries_for_one_case_or_many(client, h, session, db, at) -> None:
    """Lists load the list columns of every row in one query: no query per listed case."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    report(client, h, session)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get(f"{API}/cases", headers=h("shift_leader"))  # warm: the token's first use is noted
        statements.clear()
        first = client.get(f"{API}/cases", headers=h("shift_leader"))
        one = len(statements)
        for _ in range(4):
            report(client, h, session)
        statements.clear()
        many = client.get(f"{API}/cases", headers=h("shift_leader"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(many.json()["items"]) >= len(first.json()["items"]) + 4
    assert len(statements) == one, statements
    assert all(item["colour"] and item["lon"] for item in many.json()["items"])


@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_list_items_are_what_the_model_makes_of_each_case(client, h, session, at, crs) -> None:
    """The list API builds its items without the model (views.list_item_json): the same JSON, field
    for field, for cases in several states and colours, urged or not, in both CRSs."""
    from zhili.cases.service import views

    plain = report(client, h, session).json()
    registered = report(client, h, session, class_code="06012").json()
    action(client, h, "shift_leader", registered, "register", standard_id=standard_id(session, code="06012"))
    urged = report(client, h, session).json()
    urged = action(client, h, "shift_leader", urged, "register", standard_id=standard_id(session)).json()
    urged = action(client, h, "dispatcher", urged, "dispatch").json()
    assert action(client, h, "shift_leader", urged, "urge", note="快").status_code == 200
    at.advance(hours=20)  # past some deadlines (the tokens last a day): other colours beside green
    late = report(client, h, session).json()
    numbers = {plain["number"], registered["number"], urged["number"], late["number"]}
    got = client.get(f"{API}/cases", params={"crs": crs, "page_size": 50}, headers=h("leader"))
    answer = got.json()
    # Written by pydantic-core (core.web.PydanticJSONResponse): byte for byte what the standard
    # library's encoder (Starlette's JSONResponse) writes of the same page, Chinese text as it is.
    assert got.content == JSONResponse(answer).body and "白云区".encode() in got.content
    items = {i["number"]: i for i in answer["items"] if i["number"] in numbers}
    assert set(items) == numbers
    session.expire_all()
    for case in session.scalars(select(CaseRecord).where(CaseRecord.number.in_(numbers))):
        assert items[case.number] == views.list_item(case, at.now(), crs).model_dump(mode="json")
    assert len({i["colour"] for i in items.values()}) >= 2, items
    assert any(i["urge_count"] for i in items.values()), items
