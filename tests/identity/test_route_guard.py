"""Every route refuses anonymous callers unless it is on the public list or marked with deps.public."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient

from zhili.identity.deps import public

PUBLIC_PATHS = {"/login", "/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/api/v1/auth/token"}
PUBLIC_PREFIXES = ("/lang/", "/static")


def _api_routes(app: FastAPI) -> Iterator[RouteContext]:
    # Included routers are resolved lazily on current FastAPI; this walks them with their prefixes.
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute):
            yield ctx


def _is_public(ctx: RouteContext) -> bool:
    path = ctx.path or ""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return True
    # Router-level dependencies are part of the effective route's list.
    return any(dep.dependency is public for dep in (getattr(ctx, "dependencies", None) or []))


def _concrete(path: str) -> str:
    # Any value will do: the guard must answer before the parameter is looked up.
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_non_public_route_rejects_anonymous_requests(app: FastAPI, client: TestClient) -> None:
    checked, leaks = 0, []
    for ctx in _api_routes(app):
        if _is_public(ctx):
            continue
        for method in sorted((ctx.methods or set()) - {"HEAD", "OPTIONS"}):
            resp = client.request(
                method, _concrete(ctx.path or ""), headers={"Accept": "text/html"}, follow_redirects=False
            )
            checked += 1
            to_login = resp.status_code == 303 and resp.headers.get("location", "").startswith("/login?next=")
            if not (resp.status_code == 401 or to_login):
                leaks.append(f"{method} {ctx.path} -> {resp.status_code}")
    assert checked >= 10
    assert leaks == [], "routes open to anonymous callers: " + ", ".join(leaks)


def test_identity_marks_only_login_home_and_token_exchange_public(app: FastAPI) -> None:
    marked = {ctx.path for ctx in _api_routes(app) if _is_public(ctx)}
    assert {"/login", "/", "/api/v1/auth/token"} <= marked
    assert not {"/logout", "/admin/users", "/audit", "/api/v1/me", "/api/v1/users"} & marked
