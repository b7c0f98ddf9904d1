"""Domain-free pages: health check and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text

from zhili.core.errors import Invalid
from zhili.core.web import LOCALE_COOKIE, LOCALES

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    with request.app.state.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str = "/") -> RedirectResponse:
    if locale not in LOCALES:
        raise Invalid(f"Unknown language {locale!r}; choose one of {', '.join(LOCALES)}")
    # Only same-site paths: an open redirect would let a link send users elsewhere.
    target = next if next.startswith("/") and not next.startswith("//") and not urlparse(next).netloc else "/"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 86400, samesite="lax", httponly=False)
    return resp
