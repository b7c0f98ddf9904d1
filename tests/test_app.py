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
