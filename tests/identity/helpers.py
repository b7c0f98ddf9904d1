"""Identity test helpers: log in through the real form, read the CSRF token a page carries."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from zhili.identity.demo import DEMO_PASSWORD

HTML = {"Accept": "text/html"}


def login(
    client: TestClient, username: str, password: str = DEMO_PASSWORD, next: str = "/"
) -> httpx.Response:
    """GET the form (which sets the login CSRF cookie), then POST it, as a browser does."""
    form = client.get("/login", params={"next": next}, headers=HTML)
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token, "the login form carries a login_csrf field"
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "login_csrf": token.group(1)},
        headers=HTML,
        follow_redirects=False,
    )


def csrf_from_page(client: TestClient, path: str = "/audit") -> str:
    page = client.get(path, headers=HTML)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, f"{path} carries the csrf meta tag"
    return found.group(1)
