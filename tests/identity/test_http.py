"""Identity over HTTP: the login form, lock-out, CSRF, bearer tokens, guards and the audit trail."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.identity.helpers import HTML, csrf_from_page, login
from zhili.core.audit import AuditEntry
from zhili.core.db import Database
from zhili.identity.demo import DEMO_PASSWORD
from zhili.identity.models import User


def _user(db: Database, username: str) -> User | None:
    with db.sessionmaker() as s:
        return s.scalars(select(User).where(User.username == username)).one_or_none()


def _audit(db: Database, action: str, actor: str) -> list[AuditEntry]:
    with db.sessionmaker() as s:
        return list(
            s.scalars(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.actor == actor))
        )


def _bearer(client: TestClient, username: str) -> tuple[dict[str, str], int]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return {"Authorization": f"Bearer {body['token']}"}, body["details"]["id"]


def test_login_sets_a_hardened_session_cookie_and_goes_to_next(client: TestClient, db: Database) -> None:
    resp = login(client, "operator", next="/cases?status=open")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/cases?status=open"
    cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("zhili_session="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP on loopback in tests (settings.cookie_secure False)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["username"] == "operator"
    assert "cases:verify" in me.json()["permissions"]
    [entry] = _audit(db, "identity.login", "operator")
    assert entry.client_ip == "testclient"


def test_wrong_password_is_shown_on_the_login_page(client: TestClient) -> None:
    resp = login(client, "operator", password="not-my-password")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.text
    assert "zhili_session" not in client.cookies
    unknown = login(client, "no.such.user", password="not-my-password")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text


def test_login_form_without_its_csrf_cookie_is_refused(client: TestClient) -> None:
    resp = client.post(
        "/login",
        data={"username": "admin", "password": DEMO_PASSWORD, "login_csrf": "forged"},
        headers=HTML,
        follow_redirects=False,
    )
    assert resp.status_code == 403
    assert "zhili_session" not in client.cookies


def test_account_locks_after_repeated_failures_and_unlocks_later(
    client: TestClient, settings, frozen_clock, db: Database
) -> None:
    for _ in range(settings.login_max_failures - 1):
        assert login(client, "shift_leader", password="wrong-password").status_code == 401
    locked = login(client, "shift_leader", password="wrong-password")
    assert locked.status_code == 429 and "锁定" in locked.text
    assert login(client, "shift_leader").status_code == 429  # the right password does not help now
    assert _audit(db, "identity.login_locked", "shift_leader")
    frozen_clock(settings.login_lockout_s + 1)
    assert login(client, "shift_leader").status_code == 303


def test_token_endpoint_counts_failures_even_though_it_answers_401(client: TestClient, db: Database) -> None:
    resp = client.post("/api/v1/auth/token", json={"username": "leader", "password": "wrong-password"})
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    user = _user(db, "leader")
    assert user is not None and user.failed_logins == 1


@pytest.mark.parametrize(
    "evil",
    [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aLocation:evil",
    ],
)
def test_login_never_redirects_off_site(client: TestClient, evil: str) -> None:
    resp = login(client, "operator", next=evil)
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location == "/" or (location.startswith("/") and not location.startswith(("//", "/\\")))
    assert "evil.example" not in location or location.startswith("/%")
    # Already logged in: the login page itself also refuses to bounce elsewhere.
    again = client.get("/login", params={"next": "//evil.example"}, headers=HTML, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/"


def test_cookie_requests_that_change_things_need_the_csrf_token(client: TestClient) -> None:
    assert login(client, "admin").status_code == 303
    refused = client.post("/api/v1/me/tokens", json={"name": "script"})
    assert refused.status_code == 403 and "security token" in refused.json()["detail"]
    forged = client.post("/api/v1/me/tokens", json={"name": "script"}, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    token = csrf_from_page(client)
    accepted = client.post("/api/v1/me/tokens", json={"name": "script"}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 201 and accepted.json()["token"].startswith("zl_")


def test_logout_needs_the_form_token_and_ends_the_session(client: TestClient, db: Database) -> None:
    assert login(client, "admin").status_code == 303
    stolen_cookie = client.cookies["zhili_session"]
    assert client.post("/logout", headers=HTML, follow_redirects=False).status_code == 403
    token = csrf_from_page(client)
    out = client.post("/logout", data={"csrf_token": token}, headers=HTML, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    # The old cookie, replayed, no longer opens anything.
    client.cookies.set("zhili_session", stolen_cookie)
    assert client.get("/api/v1/me").status_code == 401
    assert _audit(db, "identity.logout", "admin")


def test_bearer_token_works_without_csrf_and_fails_once_revoked(client: TestClient) -> None:
    headers, token_id = _bearer(client, "inspector")
    assert client.get("/api/v1/me", headers=headers).json()["username"] == "inspector"
    mine = client.get("/api/v1/me/tokens", headers=headers).json()
    assert [t["id"] for t in mine] == [token_id] and "token" not in mine[0]
    assert client.delete(f"/api/v1/me/tokens/{token_id}", headers=headers).status_code == 204
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401 and after.json()["status"] == 401


def test_garbage_bearer_token_is_401(client: TestClient) -> None:
    resp = client.get("/api/v1/me", headers={"Authorization": "Bearer zl_not-a-real-token"})
    assert resp.status_code == 401


def test_handler_gets_a_403_page_for_user_admin(client: TestClient) -> None:
    assert login(client, "handler").status_code == 303
    page = client.get("/admin/users", headers=HTML)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "identity:manage_users" in page.text
    assert client.get("/api/v1/users").status_code == 403


@pytest.mark.parametrize("path", ["/map", "/admin/users", "/audit?page=2"])
def test_anonymous_console_page_redirects_to_login(client: TestClient, path: str) -> None:
    resp = client.get(path, headers=HTML, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login?next=%2F")
    assert login(client, "admin", next=path.replace("%2F", "/")).headers["location"] == path


def test_anonymous_api_call_is_401_problem_json(client: TestClient) -> None:
    resp = client.get("/api/v1/users")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_home_sends_each_kind_of_user_somewhere_sensible(client: TestClient) -> None:
    assert client.get("/", headers=HTML, follow_redirects=False).headers["location"] == "/login"
    login(client, "admin")
    assert client.get("/", headers=HTML, follow_redirects=False).headers["location"] == "/map"
    client.cookies.clear()
    login(client, "citizen")
    home = client.get("/", headers=HTML, follow_redirects=False)
    assert home.status_code == 200 and "没有可访问" in home.text


def test_admin_creates_a_user_through_the_form_and_it_is_audited(client: TestClient, db: Database) -> None:
    login(client, "admin")
    token = csrf_from_page(client, "/admin/users")
    resp = client.post(
        "/admin/users",
        headers=HTML,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "username": "wang.fang",
            "display_name": "王芳",
            "password": "Baiyun#2026",
            "roles": ["operator", "inspector"],
            "department_id": "",
            "area_codes": "",
            "phone": "13800000000",
        },
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/users?created=wang.fang"
    created = _user(db, "wang.fang")
    assert created is not None and created.roles == ["operator", "inspector"]
    [entry] = _audit(db, "identity.create_user", "admin")
    assert entry.client_ip == "testclient" and entry.entity_id == str(created.id)
    assert "Baiyun#2026" not in str(entry.after) and "argon2" not in str(entry.after)
    listing = client.get("/admin/users?created=wang.fang", headers=HTML)
    assert "王芳" in listing.text and "wang.fang" in listing.text


def test_user_form_errors_are_shown_and_nothing_is_written(client: TestClient, db: Database) -> None:
    login(client, "admin")
    token = csrf_from_page(client, "/admin/users")
    resp = client.post(
        "/admin/users",
        headers=HTML,
        data={
            "csrf_token": token,
            "username": "zhao.lei",
            "display_name": "赵雷",
            "password": "12345678",
            "roles": ["operator"],
        },
    )
    assert resp.status_code == 422
    assert "密码不能全部是数字" in resp.text
    assert 'value="zhao.lei"' in resp.text  # the form keeps what was typed
    assert _user(db, "zhao.lei") is None


def test_user_api_creates_lists_and_rejects_bad_input(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "username": "chen.jing",
            "password": "Baiyun#2026",
            "display_name": "陈静",
            "roles": ["leader"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["permissions"] and "password_hash" not in created.json()
    names = [u["username"] for u in client.get("/api/v1/users", headers=admin_headers).json()]
    assert "chen.jing" in names and "admin" in names
    dup = client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "username": "chen.jing",
            "password": "Baiyun#2026",
            "display_name": "陈静",
            "roles": ["leader"],
        },
    )
    assert dup.status_code == 409
    bad = client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "x", "password": "Baiyun#2026", "display_name": "X", "roles": ["mayor"]},
    )
    assert bad.status_code == 422


def test_audit_page_lists_entries_newest_first(client: TestClient, admin_headers: dict[str, str]) -> None:
    page = client.get("/audit", headers={**admin_headers, **HTML})
    assert page.status_code == 200
    assert "identity.issue_api_token" in page.text
    assert client.get("/audit?page=0", headers={**admin_headers, **HTML}).status_code == 422


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_anonymous_htmx_request_is_told_to_go_to_the_login_page(client: TestClient) -> None:
    resp = client.get("/audit", headers={"HX-Request": "true"}, follow_redirects=False)
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"] == "/login?next=%2Faudit"
