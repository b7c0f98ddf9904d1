"""The organisation page: departments and teams, and binding an inspector to a responsibility grid."""

from __future__ import annotations

import re

from tests.identity.helpers import HTML, csrf_from_page, login


def test_admin_sees_departments_and_rebinds_an_inspector(client) -> None:
    login(client, "admin")
    page = client.get("/org", params={"street": "440111002"}, headers=HTML)
    assert page.status_code == 200
    assert "白云区环境卫生管理中心" in page.text and "道路保洁一队" in page.text
    assert "440111002R001" in page.text
    token = csrf_from_page(client, "/org")
    resp = client.post("/org/responsibility-grids/440111002R001/inspector", headers=HTML,
                       follow_redirects=False,
                       data={"csrf_token": token, "employee_no": "JD00010", "street": "440111002"})
    assert resp.status_code == 303 and "bound=440111002R001" in resp.headers["location"]
    after = client.get(resp.headers["location"], headers=HTML)
    row = re.search(r'<tr id="rg-440111002R001".*?</tr>', after.text, re.S)
    assert row and "JD00010" in row.group(0)


def test_binding_a_non_inspector_shows_a_readable_error_and_changes_nothing(client) -> None:
    login(client, "admin")
    token = csrf_from_page(client, "/org")
    resp = client.post("/org/responsibility-grids/440111002R001/inspector", headers=HTML,
                       data={"csrf_token": token, "employee_no": "BY-CC-0001", "street": "440111002"})
    assert resp.status_code == 422 and "not an active inspector" in resp.text
    row = re.search(r'<tr id="rg-440111002R001".*?</tr>',
                    client.get("/org", params={"street": "440111002"}, headers=HTML).text, re.S)
    assert row and "BY-CC-0001" not in row.group(0)


def test_a_leader_reads_the_page_but_gets_no_forms(client) -> None:
    login(client, "leader")
    page = client.get("/org", headers=HTML)
    assert page.status_code == 200 and 'class="inline-bind"' not in page.text
