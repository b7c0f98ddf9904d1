"""create_app(settings): middleware, error handlers, routers, static files, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from zhili import __version__, model_registry, routers
from zhili.core.db import Database
from zhili.core.settings import Settings, get_settings
from zhili.core.web import install_error_handlers
from zhili.identity import pages as identity_pages
from zhili.worker import Worker

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    model_registry.load_all()
    database = db or Database.from_url(settings.effective_database_url, echo=settings.sql_echo,
                                       requests_in_flight=settings.requests_in_flight)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Embedded mode (the demo): one process also delivers events and runs jobs.
        worker = Worker(database) if settings.demo else None
        if worker is not None:
            worker.start_thread()
        yield
        if worker is not None:
            worker.stop()
        if db is None:  # we made it, we close it
            database.engine.dispose()

    app = FastAPI(
        title="zhili 智理 API",
        version=__version__,
        description="Smart city-management platform (智慧城管): areas, grids, components, cases, users.",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI: no CDN on closed networks
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.template_globals = {"version": __version__, "settings": settings}
    app.state.page_context = identity_pages.page_context  # nav, role labels, CSRF token for base.html
    install_error_handlers(app)
    static_dir = resources.files("zhili.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    routers.include_all(app)

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="zhili 智理 API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    return app
