"""THE list of routers: the site map of pages and JSON API in one file."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from zhili.assets import api as assets_api
from zhili.assets import pages as assets_pages
from zhili.cases import api as cases_api
from zhili.cases import evaluation_api, evaluation_pages
from zhili.cases import pages as cases_pages
from zhili.cases.workorders import api as workorders_api
from zhili.cases.workorders import pages as workorders_pages
from zhili.catalog import api as catalog_api
from zhili.core import pages as core_pages
from zhili.core.web import include_flat
from zhili.evidence import api as evidence_api
from zhili.identity import api as identity_api
from zhili.identity import pages as identity_pages
from zhili.org import api as org_api
from zhili.org import pages as org_pages

# (router, prefix) in matching order: pages (HTML, zh-CN first), then the JSON API (documented at /docs).
ROUTERS: list[tuple[APIRouter, str]] = [
    (core_pages.router, ""),
    (identity_pages.router, ""),
    (org_pages.router, ""),
    (assets_pages.router, ""),
    (evaluation_pages.router, ""),
    (workorders_pages.router, ""),
    (cases_pages.router, ""),
    (identity_api.router, "/api/v1"),
    (org_api.router, "/api/v1"),
    (catalog_api.router, "/api/v1"),
    (evidence_api.router, "/api/v1"),
    (assets_api.router, "/api/v1"),
    (cases_api.router, "/api/v1"),
    (evaluation_api.router, "/api/v1"),
    (workorders_api.router, "/api/v1"),
]


def include_all(app: FastAPI) -> None:
    """One flat list of routes (core.web.include_flat): include_router would keep a node per router
    that every request walks."""
    for router, prefix in ROUTERS:
        include_flat(app.router, router, prefix=prefix)
