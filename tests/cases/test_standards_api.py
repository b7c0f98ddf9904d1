"""Case standards (立结案标准) over the API: create, update with a version, list; Excel export and import."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests.cases.conftest import API
from zhili.cases.models import CaseStandard
from zhili.cases.service.standards_excel import COLUMNS


def _row(**over):
    row = {
        "class_kind": "matter",
        "class_code": "06035",
        "condition_no": 1,
        "register_condition": "条件",
        "close_condition": "结案",
        "department_id": None,
        "dispatch_limit": 0.5,
        "dispatch_unit": "urgent_hours",
        "handle_limit": 2,
        "handle_unit": "working_hours",
        "check_limit": 1,
        "check_unit": "urgent_hours",
        "after_photo_required": True,
    }
    row.update(over)
    return row


def test_standards_crud_needs_manage_standards(client, h, session) -> None:
    hw = session.scalars(select(CaseStandard.department_id).where(CaseStandard.class_code == "06010")).first()
    resp = client.post(f"{API}/case-standards", json=_row(department_id=hw), headers=h("shift_leader"))
    assert resp.status_code == 403
    resp = client.post(f"{API}/case-standards", json=_row(department_id=hw), headers=h("admin"))
    assert resp.status_code == 201, resp.text
    row = resp.json()
    again = client.post(f"{API}/case-standards", json=_row(department_id=hw), headers=h("admin"))
    assert again.status_code == 409
    bad = client.post(
        f"{API}/case-standards", json=_row(department_id=hw, handle_unit="weeks"), headers=h("admin")
    )
    assert bad.status_code == 422
    update = {k: v for k, v in row.items() if k not in ("id", "class_kind", "class_code", "condition_no")}
    resp = client.put(
        f"{API}/case-standards/{row['id']}", json={**update, "handle_limit": 3}, headers=h("admin")
    )
    assert resp.status_code == 200 and resp.json()["handle_limit"] == 3
    stale = client.put(f"{API}/case-standards/{row['id']}", json=update, headers=h("admin"))
    assert stale.status_code == 409
    listed = client.get(f"{API}/case-standards", params={"class_code": "06035"}, headers=h("leader")).json()
    assert [r["handle_limit"] for r in listed] == [3]


def _workbook(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([header for _f, header in COLUMNS])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_standards_export_then_import_round_trips_and_a_bad_row_imports_nothing(client, h, session) -> None:
    resp = client.get(f"{API}/case-standards/export", headers=h("leader"))
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "类别 class_kind" and len(rows) - 1 == session.scalar(
        select(func.count()).select_from(CaseStandard)
    )
    files = {"file": ("s.xlsx", resp.content, "application/octet-stream")}
    same = client.post(f"{API}/case-standards/import", files=files, headers=h("admin"))
    assert same.status_code == 200, same.text
    assert same.json()["created"] == 0 and same.json()["updated"] == 0
    good = [
        "事项",
        "06036",
        1,
        "立案",
        "结案",
        "BY-HW",
        0.5,
        "紧急工作时",
        2,
        "工作时",
        1,
        "紧急工作时",
        "是",
        "是",
    ]
    bad = [
        "事项",
        "99999",
        1,
        "立案",
        "结案",
        "BY-XX",
        0.5,
        "weeks",
        2,
        "工作时",
        1,
        "紧急工作时",
        "也许",
        "是",
    ]
    resp = client.post(
        f"{API}/case-standards/import",
        headers=h("admin"),
        files={"file": ("s.xlsx", _workbook([good, bad]), "application/octet-stream")},
    )
    assert resp.status_code == 422
    problems = resp.json()["errors"]
    assert {p["row"] for p in problems} == {3} and {"department_code", "after_photo_required"} <= {
        p["column"] for p in problems
    }
    assert (
        session.scalar(
            select(func.count()).select_from(CaseStandard).where(CaseStandard.class_code == "06036")
        )
        == 0
    )
    dry = client.post(
        f"{API}/case-standards/import",
        params={"dry_run": True},
        headers=h("admin"),
        files={"file": ("s.xlsx", _workbook([good]), "application/octet-stream")},
    )
    assert dry.json() == {"dry_run": True, "created": 1, "updated": 0, "unchanged": 0}
    done = client.post(
        f"{API}/case-standards/import",
        headers=h("admin"),
        files={"file": ("s.xlsx", _workbook([good]), "application/octet-stream")},
    )
    assert done.json()["created"] == 1
    row = session.scalars(select(CaseStandard).where(CaseStandard.class_code == "06036")).one()
    assert (row.handle_limit, row.handle_unit, row.after_photo_required) == (2, "working_hours", True)
    junk = client.post(
        f"{API}/case-standards/import",
        headers=h("admin"),
        files={"file": ("s.xlsx", b"not a workbook", "application/octet-stream")},
    )
    assert junk.status_code == 422
    assert (
        client.post(
            f"{API}/case-standards/import",
            headers=h("leader"),
            files={"file": ("s.xlsx", b"x", "application/octet-stream")},
        ).status_code
        == 403
    )
