"""Case pages over HTTP: queues per role and scope, the detail's actions, form actions, 409 and 422 pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import drive, evidence, make_case, spot, standard_id, user
from tests.identity.helpers import HTML, login
from zhili.cases.models import CaseActivity, CaseRecord
from zhili.cases.service import rules
from zhili.cases.states import CaseStatus
from zhili.org import repository as org_repository
from zhili.org import service as org_service


@pytest.fixture
def as_user(client):
    """Log the test client in as a demo user (a new login replaces the previous one)."""

    def switch(username: str):
        client.cookies.clear()
        resp = login(client, username)
        assert resp.status_code == 303, resp.text
        return client

    return switch


def csrf(page_html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page_html)
    assert found
    return found.group(1)


def current_tab(html: str) -> str:
    found = re.search(r'data-tab="(\w+)" aria-current="page"', html)
    assert found, "one tab is marked current"
    return found.group(1)


def count_of(html: str, tab: str) -> int:
    found = re.search(rf'data-tab="{tab}"[^>]*>[^<]*<span class="count">(\d+)</span>', html)
    assert found, f"tab {tab} shows a count"
    return int(found.group(1))


def listed(html: str) -> set[str]:
    return set(re.findall(r'<a href="/cases/(\d{14})">', html))


def actions_on(html: str) -> set[str]:
    return set(re.findall(r'class="action-form[^"]*" data-action="(\w+)"', html))


def other_street_spot(session: Session) -> tuple[float, float]:
    """A point in a street other than the demo inspector's (440111002)."""
    from shapely.geometry import shape

    index = org_service.area_index(session)
    grid = next(g for g in index.grids if not g.code.startswith("440111002"))
    p = shape(grid.geometry).representative_point()
    return float(p.x), float(p.y)


@pytest.mark.parametrize(
    ("username", "tab"),
    [("shift_leader", "to_register"), ("dispatcher", "to_dispatch"), ("handler", "to_handle"),
     ("inspector", "mine"), ("operator", "to_verify"), ("leader", "overdue")],
)
def test_cases_page_opens_on_the_queue_of_the_role(as_user, username, tab) -> None:
    resp = as_user(username).get("/cases", headers=HTML)
    assert resp.status_code == 200, resp.text
    assert current_tab(resp.text) == tab


def test_queues_count_and_list_only_what_the_user_may_see(as_user, session, at, cfg) -> None:
    mine = make_case(session, cfg)  # in the inspector's street, to register
    far = make_case(session, cfg, reporter="operator", source="leader", spot=other_street_spot(session))
    sanitation = drive(session, cfg, make_case(session, cfg), CaseStatus.to_accept)
    greening = drive(session, cfg, make_case(session, cfg), CaseStatus.to_dispatch)
    dept = org_repository.department_by_code(session, "BY-YL")
    assert dept is not None
    from tests.cases.conftest import act

    greening = act(session, cfg, "dispatcher", greening, "dispatch", department_id=dept.id)
    session.commit()

    leader = as_user("shift_leader").get("/cases?tab=to_register", headers=HTML).text
    assert {mine.number, far.number} <= listed(leader)
    assert count_of(leader, "to_register") >= 2

    inspector = as_user("inspector").get("/cases?tab=all", headers=HTML).text
    assert mine.number in listed(inspector) and far.number not in listed(inspector), "street scope"

    handler = as_user("handler").get("/cases?tab=to_handle", headers=HTML).text
    assert sanitation.number in listed(handler)
    assert greening.number not in listed(handler), "a handler sees only its own department's cases"
    assert count_of(handler, "to_register") == 0

    searched = as_user("shift_leader").get(f"/cases?tab=all&q={far.number}", headers=HTML).text
    assert listed(searched) == {far.number}
    by_street = as_user("shift_leader").get(f"/cases?tab=all&street={far.street_code}", headers=HTML).text
    assert far.number in listed(by_street) and mine.number not in listed(by_street)


def test_a_bad_filter_is_a_readable_422(as_user) -> None:
    resp = as_user("shift_leader").get("/cases?from=yesterday", headers=HTML)
    assert resp.status_code == 422
    assert "yesterday" in resp.text and "YYYY-MM-DD" in resp.text


def test_detail_shows_exactly_the_actions_the_engine_allows(as_user, session, at, cfg) -> None:
    case = make_case(session, cfg)
    session.commit()
    for username in ("shift_leader", "dispatcher", "handler", "inspector"):
        html = as_user(username).get(f"/cases/{case.number}", headers=HTML).text
        allowed = rules.allowed_actions_for(session, user(session, username), case, cfg, at.t)
        engine = {a.value for a in allowed}
        assert actions_on(html) == engine, username
    leader_page = as_user("shift_leader").get(f"/cases/{case.number}", headers=HTML).text
    assert "register" in actions_on(leader_page) and "dispatch" not in actions_on(leader_page)
    assert 'id="case-map-config"' in leader_page and "白云区某路 1 号" in leader_page
    assert actions_on(as_user("dispatcher").get(f"/cases/{case.number}", headers=HTML).text) == set()


def test_dispatch_form_preselects_the_suggested_department(as_user, session, at, cfg) -> None:
    case = drive(session, cfg, make_case(session, cfg), CaseStatus.to_dispatch)
    session.commit()
    html = as_user("dispatcher").get(f"/cases/{case.number}", headers=HTML).text
    sanitation = org_repository.department_by_code(session, "BY-HW")
    assert sanitation is not None
    assert re.search(rf'<option value="{sanitation.id}" selected>', html), "the suggested department"


def test_a_form_action_moves_the_case_and_a_stale_version_gets_a_readable_409(
    as_user, session, at, cfg
) -> None:
    case = make_case(session, cfg)
    session.commit()
    c = as_user("shift_leader")
    page = c.get(f"/cases/{case.number}", headers=HTML).text
    read_version = case.version
    form = {"csrf_token": csrf(page), "version": str(read_version), "standard_id": str(standard_id(session)),
            "note": "符合立案条件"}
    moved = c.post(f"/cases/{case.number}/actions/register", data=form, headers=HTML, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/cases/{case.number}"
    session.expire_all()
    assert session.get(CaseRecord, case.id).status == "to_dispatch"

    again = c.post(f"/cases/{case.number}/actions/register", data={**form, "note": "我的备注"}, headers=HTML)
    assert again.status_code == 409
    assert 'id="action-error"' in again.text and "已被他人修改" in again.text
    assert "待派遣" in again.text, "the fresh state is shown"
    session.expire_all()
    assert session.get(CaseRecord, case.id).version == read_version + 1, "the stale post changed nothing"


def test_bad_action_input_shows_a_readable_message_and_changes_nothing(as_user, session, at, cfg) -> None:
    case = drive(session, cfg, make_case(session, cfg), CaseStatus.handling)
    session.commit()
    before = session.scalar(select(func.count()).where(CaseActivity.case_id == case.id))
    c = as_user("handler")
    page = c.get(f"/cases/{case.number}", headers=HTML).text
    assert "handle" in actions_on(page)
    resp = c.post(f"/cases/{case.number}/actions/handle", headers=HTML,
                  data={"csrf_token": csrf(page), "version": str(case.version), "note": "已处理一半"})
    assert resp.status_code == 422
    assert "result" in resp.text and 'value="已处理一半"' in resp.text, "the message and the typed note"
    session.expire_all()
    assert session.get(CaseRecord, case.id).status == "handling"
    assert session.scalar(select(func.count()).where(CaseActivity.case_id == case.id)) == before


def test_report_form_prefills_from_a_component_and_opens_a_case(as_user, session, at) -> None:
    lon, lat = spot(session, user(session, "inspector").staff_id)
    c = as_user("operator")
    page = c.get(f"/cases/new?component_id=44011103005000001&lon={lon}&lat={lat}", headers=HTML)
    assert page.status_code == 200
    assert 'value="component:03005" selected' in page.text and f'value="{lon:.7f}"' in page.text
    shas = evidence(session)
    session.commit()
    form = {"csrf_token": csrf(page.text), "source": "hotline", "class": "matter:06010", "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}", "crs": "wgs84", "address": "白云区同和路 8 号", "description": "垃圾堆放",
            "external_ref": "GZ12345-1", "evidence": shas}
    made = c.post("/cases/new", data=form, headers=HTML, follow_redirects=False)
    assert made.status_code == 303, made.text
    number = made.headers["location"].rsplit("/", 1)[1]
    case = session.scalars(select(CaseRecord).where(CaseRecord.number == number)).one()
    assert case.status == "to_verify" and case.external_ref == "GZ12345-1"


def test_a_report_outside_the_district_is_refused_and_nothing_is_written(as_user, session, at) -> None:
    c = as_user("operator")
    page = c.get("/cases/new", headers=HTML).text
    count = session.scalar(select(func.count()).select_from(CaseRecord))
    resp = c.post("/cases/new", headers=HTML, data={
        "csrf_token": csrf(page), "source": "hotline", "class": "matter:06010", "lon": "116.4", "lat": "39.9",
        "crs": "wgs84", "address": "北京", "description": "不在白云区"})
    assert resp.status_code == 422 and 'id="report-error"' in resp.text
    assert "不在白云区" in resp.text, "what was typed is kept"
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == count


def test_batch_dispatch_sends_each_ticked_case_and_redraws_the_queue(as_user, session, at, cfg) -> None:
    cases = [drive(session, cfg, make_case(session, cfg, spot=spot(session, nth=i)), CaseStatus.to_dispatch)
             for i in range(2)]
    session.commit()
    c = as_user("dispatcher")
    page = c.get("/cases?tab=to_dispatch", headers=HTML).text
    assert 'data-batch-action="dispatch"' in page
    # An unknown case, and a version typed as "²" (a digit to str.isdigit, not to int(): it was a 500)
    items = [f"{x.number}:{x.version}" for x in cases] + ["20260302999999:1", f"{cases[0].number}:²"]
    resp = c.post("/cases/batch/dispatch?tab=to_dispatch", data={"items": items, "department_id": ""},
                  headers={**HTML, "HX-Request": "true", "X-CSRF-Token": csrf(page)})
    assert resp.status_code == 200 and 'id="batch-result"' in resp.text
    assert "20260302999999" in resp.text, "the failed item is named"
    session.expire_all()
    assert {session.get(CaseRecord, x.id).status for x in cases} == {"to_accept"}


def test_field_home_lists_the_inspectors_tasks_and_the_handlers_cases(as_user, session, at, cfg) -> None:
    verify = make_case(session, cfg, reporter="operator", source="public")
    handle = drive(session, cfg, make_case(session, cfg), CaseStatus.to_accept)
    session.commit()
    inspector = as_user("inspector").get("/m", headers=HTML)
    assert inspector.status_code == 200
    assert f"/m/cases/{verify.number}" in inspector.text and 'href="/m"' in inspector.text, "nav shows Field"
    handler = as_user("handler").get("/m", headers=HTML).text
    assert f"/m/cases/{handle.number}" in handler and f"/m/cases/{verify.number}" not in handler
    worker = as_user("field_worker").get("/m", headers=HTML)
    assert worker.status_code == 200 and "/m/cases/" not in worker.text


def test_inspector_checks_on_the_phone_with_position_and_photo(as_user, session, at, cfg) -> None:
    case = drive(session, cfg, make_case(session, cfg), CaseStatus.to_check)
    shas = evidence(session)
    session.commit()
    c = as_user("inspector")
    page = c.get(f"/m/cases/{case.number}", headers=HTML).text
    assert 'capture="environment"' in page and "check" in actions_on(page)
    resp = c.post(f"/m/cases/{case.number}/actions/check", headers=HTML, follow_redirects=False, data={
        "csrf_token": csrf(page), "version": str(case.version), "passed": "yes", "evidence": shas,
        "lon": f"{case.lon:.7f}", "lat": f"{case.lat:.7f}"})
    assert resp.status_code == 303, resp.text
    session.expire_all()
    assert session.get(CaseRecord, case.id).status == "to_close"
    last = session.scalars(select(CaseActivity).where(CaseActivity.case_id == case.id)
                           .order_by(CaseActivity.id.desc())).first()
    assert last is not None and last.action == "check" and "WGS-84" in (last.note or "")


def test_self_handled_report_on_the_phone_needs_after_photos(as_user, session, at) -> None:
    lon, lat = spot(session, user(session, "inspector").staff_id)
    before, after = evidence(session), evidence(session)
    session.commit()
    c = as_user("inspector")
    page = c.get("/m/report", headers=HTML).text
    form = {"csrf_token": csrf(page), "class": "matter:06010", "lon": str(lon), "lat": str(lat),
            "address": "白云区某路 2 号", "description": "小片垃圾", "self_handled": "yes",
            "result": "已捡走", "evidence": before}
    refused = c.post("/m/report", data=form, headers=HTML)
    assert refused.status_code == 422 and 'id="report-error"' in refused.text
    made = c.post("/m/report", data={**form, "after_evidence": after}, headers=HTML, follow_redirects=False)
    assert made.status_code == 303, made.text
    number = made.headers["location"].split("/")[-1].split("?")[0]
    case = session.scalars(select(CaseRecord).where(CaseRecord.number == number)).one()
    assert case.status == "closed" and case.self_handled


def test_the_class_filter_marks_the_chosen_class_and_escapes_names(session, as_user) -> None:
    from zhili.catalog import service as catalog_service
    from zhili.catalog.schemas import LocalClassCreate

    admin = user(session, "admin")
    catalog_service.add_local_class(
        session, admin, LocalClassCreate(kind="matter", code="06901", name="<b>测试</b>类")
    )
    session.commit()
    client = as_user("shift_leader")
    page = client.get("/cases", params={"tab": "all", "cls": "matter:06010"}).text
    start = page.index('<select name="cls">')
    select_html = page[start : page.index("</select>", start)]
    assert re.findall(r'<option value="([^"]+)" selected>', select_html) == ["matter:06010"]
    assert "&lt;b&gt;测试&lt;/b&gt;类" in select_html and "<b>测试</b>" not in select_html
    plain = client.get("/cases", params={"tab": "all"}).text
    start = plain.index('<select name="cls">')
    assert " selected>" not in plain[start : plain.index("</select>", start)]
