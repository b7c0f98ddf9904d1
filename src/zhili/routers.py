"""THE list of routers: the site map of pages and JSON API in one file."""

from __future__ import annotations

from fastapi import FastAPI

from zhili.assets import api as assets_api
from zhili.assets import pages as assets_pages
from zhili.cases import api as cases_api
from zhili.cases import evaluation_api, evaluation_pages
from zhili.cases import pages as cases_pages
from zhili.cases.workorders import api as workorders_api
from zhili.cases.workorders import pages as workorders_pages
from zhili.catalog import api as catalog_api
from zhili.core import pages as core_pages
from zhili.evidence import api as evidence_api
from zhili.identity import api as identity_api
from zhili.identity import pages as identity_pages
from zhili.org import api as org_api
from zhili.org import pages as org_pages


def include_all(app: FastAPI) -> None:
    # Pages (HTML, zh-CN first)
    app.include_router(core_pages.router)
    app.include_router(identity_pages.router)
    app.include_router(org_pages.router)
    app.include_router(assets_pages.router)
    app.include_router(evaluation_pages.router)
    app.include_router(workorders_pages.router)
    app.include_router(cases_pages.router)
    # JSON API (documented at /docs)
    app.include_router(identity_api.router, prefix="/api/v1")
    app.include_router(org_api.router, prefix="/api/v1")
    app.include_router(catalog_api.router, prefix="/api/v1")
    app.include_router(evidence_api.router, prefix="/api/v1")
    app.include_router(assets_api.router, prefix="/api/v1")
    app.include_router(cases_api.router, prefix="/api/v1")
    app.include_router(evaluation_api.router, prefix="/api/v1")
    app.include_router(workorders_api.router, prefix="/api/v1")
