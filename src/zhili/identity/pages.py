"""Identity pages: login and logout, the home redirect, user administration and the audit log."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import URL

from zhili.core.errors import DomainError, TooManyAttempts
from zhili.core.web import client_ip, render, t
from zhili.identity import repository, service
from zhili.identity.deps import SESSION_COOKIE, CurrentUser, DbSession, OptionalUser, public, require
from zhili.identity.models import User
from zhili.identity.nav import nav_for, page_context, served_pages
from zhili.identity.permissions import ROLE_LABELS

router = APIRouter(include_in_schema=False)

__all__ = ["page_context", "router"]

# Double-submit token for the login form: there is no session yet to bind a CSRF token to, and a
# forged cross-site login would sign the victim into the attacker's account.
LOGIN_CSRF_COOKIE = "zhili_login_csrf"
AUDIT_PAGE_SIZE = 50


def safe_next(target: str | None) -> str:
    """Only same-site absolute paths; anything else (//host, scheme:, backslashes) goes home."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc:
        return "/"
    return target


def _login_page(
    request: Request, *, next_url: str, username: str = "", error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    resp = render(
        request,
        "identity/login.html",
        {"next": next_url, "username": username, "error": error, "login_csrf": token},
        status_code=status_code,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/login",
    )
    return resp


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_form(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form()] = "/",
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    settings = request.app.state.settings
    next_url = safe_next(next)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(cookie_token, login_csrf):
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            status_code=403,
            error=t(request, "The login form has expired; please try again."),
        )
    if not username.strip() or not password:
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            status_code=422,
            error=t(request, "Enter your username and password."),
        )
    ip = client_ip(request)
    try:
        user = service.authenticate(session, username, password, ip, settings=settings)
    except TooManyAttempts as exc:
        # Returned, not raised: the failure counter and the lock must be committed.
        until = exc.extra["unlock_at"]
        local = _local_time(until, settings.timezone)
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            status_code=429,
            error=t(request, "Too many failed logins: this account is locked until %(time)s.", time=local),
        )
    except DomainError:
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            status_code=401,
            error=t(request, service.WRONG_CREDENTIALS),
        )
    _row, token = service.start_session(
        session, user, client_ip=ip, user_agent=request.headers.get("user-agent"), settings=settings
    )
    resp = RedirectResponse(next_url, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


def _local_time(iso: str, tz: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@router.post("/logout")
def logout(request: Request, session: DbSession, _user: CurrentUser) -> Response:
    service.end_session(session, request.cookies.get(SESSION_COOKIE, ""), client_ip=client_ip(request))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(public)])
def home(request: Request, user: OptionalUser) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    items = nav_for(user, served_pages(request.app))
    if items:
        return RedirectResponse(items[0].href, status_code=303)
    # A login with no console page (a citizen): say so rather than bounce between redirects.
    return render(request, "identity/home.html")


def _users_page(
    request: Request,
    session: DbSession,
    *,
    form: Mapping[str, object] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    departments = repository.departments(session)
    return render(
        request,
        "identity/users.html",
        {
            "users": repository.list_users(session),
            "departments": departments,
            "department_names": {d[0]: d[2] for d in departments},
            "role_options": [(role, label) for role, label in ROLE_LABELS.items()],
            "role_labels_map": ROLE_LABELS,
            "form": form or {},
            "error": error,
            "created": request.query_params.get("created"),
        },
        status_code=status_code,
    )


ManageUsers = Annotated[User, Depends(require("identity:manage_users"))]


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, _user: ManageUsers) -> HTMLResponse:
    return _users_page(request, session)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    session: DbSession,
    user: ManageUsers,
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    department_id: Annotated[str, Form()] = "",
    area_codes: Annotated[str, Form(max_length=1000)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "roles": roles or [],
        "department_id": department_id,
        "area_codes": area_codes,
        "phone": phone,
    }
    try:
        dept = int(department_id) if department_id.strip() else None
    except ValueError:
        return _users_page(
            request,
            session,
            form=form,
            status_code=422,
            error=t(request, "Choose a department from the list."),
        )
    try:
        created = service.create_user(
            session,
            user,
            username=username,
            password=password,
            display_name=display_name,
            roles=roles or [],
            department_id=dept,
            area_codes=[c for c in area_codes.replace("，", ",").replace(" ", ",").split(",") if c],
            phone=phone or None,
            client_ip=client_ip(request),
        )
    except DomainError as exc:
        return _users_page(
            request, session, form=form, status_code=exc.status_code, error=t(request, exc.detail)
        )
    return RedirectResponse(
        str(URL("/admin/users").include_query_params(created=created.username)), status_code=303
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    _user: Annotated[User, Depends(require("audit:read"))],
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> HTMLResponse:
    rows, total = repository.audit_page(session, page=page, per_page=AUDIT_PAGE_SIZE)
    pages = max(1, math.ceil(total / AUDIT_PAGE_SIZE))
    tz = ZoneInfo(request.app.state.settings.timezone)
    return render(
        request,
        "identity/audit.html",
        {
            "rows": rows,
            "page": page,
            "pages": pages,
            "total": total,
            "tz": tz,
        },
    )
