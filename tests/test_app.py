"""The assembled app: API docs and every page asset come from the package, never from a CDN."""

from __future__ import annotations

import re


def test_api_docs_load_the_vendored_swagger_ui(client) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/locate" in spec["paths"] and "/api/v1/areas/import" in spec["paths"]


def test_console_pages_reference_only_local_assets(client) -> None:
    from tests.identity.helpers import login

    login(client, "admin")
    page = client.get("/map", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_the_flat_route_list_documents_what_include_router_would() -> None:
    """include_flat copies every option of a route: the OpenAPI document of the site's routers
    included flat is the one include_router makes of them."""
    from fastapi import FastAPI

    from zhili.core.web import include_flat
    from zhili.routers import ROUTERS

    flat, nested = FastAPI(title="t", version="1"), FastAPI(title="t", version="1")
    for router, prefix in ROUTERS:
        include_flat(flat.router, router, prefix=prefix)
        nested.include_router(router, prefix=prefix)
    flat_spec, nested_spec = flat.openapi(), nested.openapi()
    assert len(flat_spec["paths"]) > 40
    assert flat_spec == nested_spec


def test_the_app_matches_one_flat_list_of_routes(app) -> None:
    """No router nodes for a request to walk (see core.web.include_flat), and every page and API
    route is in the list once."""
    from fastapi.routing import APIRoute
    from starlette.routing import Mount, Route

    from zhili.routers import ROUTERS

    assert all(isinstance(r, APIRoute | Route | Mount) for r in app.routes), {type(r) for r in app.routes}
    declared = sum(len(router.routes) for router, _prefix in ROUTERS)
    assert len([r for r in app.routes if isinstance(r, APIRoute) and r.path != "/docs"]) == declared
