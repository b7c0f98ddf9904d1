"""Closing a case about a component can set the component's status, recorded in its history."""

from __future__ import annotations

import pytest

from tests.assets.factories import make_component
from tests.cases.conftest import act, evidence, make_case, standard_id
from zhili.assets import service as assets_service
from zhili.cases.states import CaseStatus
from zhili.core.errors import Invalid


def _to_close(session, cfg, component_code: str | None):  # type: ignore[no-untyped-def]
    kw = {"class_kind": "component", "class_code": "03005"}
    if component_code:
        kw["component_id"] = component_code
    case = make_case(session, cfg, **kw)
    steps = [("shift_leader", "register", {"standard_id": standard_id(session, "component", "03005")}),
             ("dispatcher", "dispatch", {}), ("handler", "accept", {}),
             ("handler", "handle", {"result": "已更换垃圾箱", "evidence": evidence(session)}),
             ("inspector", "check", {"passed": True})]
    for username, action, fields in steps:
        case = act(session, cfg, username, case, action, **fields)
    assert case.status == CaseStatus.to_close
    return case


def test_closing_sets_the_component_status_and_its_history_names_the_case(session, cfg, at) -> None:
    bin_ = make_component(session, class_code="03005", status="damaged")
    case = _to_close(session, cfg, bin_.code)
    closed = act(session, cfg, "shift_leader", case, "close", component_status="intact")
    assert closed.status == CaseStatus.closed
    assert assets_service.find_component(session, bin_.code).status == "intact"
    by_case = [v for v in assets_service.history(session, None, bin_.code) if v.case_number == closed.number]
    assert len(by_case) == 1, "one version of the component names the case"
    assert "intact" in str(by_case[0].changes["status"]) and "damaged" in str(by_case[0].changes["status"])


def test_component_status_without_a_component_is_refused_and_nothing_closes(session, cfg, at) -> None:
    case = _to_close(session, cfg, None)
    with pytest.raises(Invalid, match="component_id"):
        act(session, cfg, "shift_leader", case, "close", component_status="intact")
    session.refresh(case)
    assert case.status == CaseStatus.to_close


def test_the_close_form_offers_the_component_status_and_applies_it(client, session, cfg, at) -> None:
    import re

    from tests.identity.helpers import HTML, login

    bin_ = make_component(session, class_code="03005", status="missing")
    case = _to_close(session, cfg, bin_.code)
    session.commit()
    login(client, "shift_leader")
    page = client.get(f"/cases/{case.number}", headers=HTML).text
    assert 'name="component_status"' in page and bin_.code in page
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    resp = client.post(f"/cases/{case.number}/actions/close", headers=HTML, follow_redirects=False,
                       data={"csrf_token": token, "version": str(case.version), "component_status": "intact"})
    assert resp.status_code == 303
    session.expire_all()
    assert assets_service.find_component(session, bin_.code).status == "intact"
