"""Route guards: who is calling (cookie session or bearer token), CSRF for cookie forms, permissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from zhili.core import security
from zhili.core.db import READ_ONLY, Database
from zhili.core.errors import NotAuthenticated, NotPermitted
from zhili.core.unit_of_work import get_session
from zhili.core.web import t, wants_json
from zhili.identity import service
from zhili.identity.models import User, UserView
from zhili.identity.permissions import ALL_PERMISSIONS

SESSION_COOKIE = "zhili_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared as security schemes so /docs offers an "Authorize" button; neither fails on its own.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token from POST /api/v1/auth/token")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Browser login session")

DbSession = Annotated[Session, Depends(get_session, scope="function")]


async def _presented_csrf(request: Request) -> str | None:
    """The CSRF token the request carries, from the header or the form (async: the form is read here)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette caches the parsed form, so the route's own Form(...) parameters still see it.
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _say(request: Request, message: str, **kwargs: str) -> str:
    """People read the guard's refusal in their language; programs get the stable English text."""
    if wants_json(request):
        return message % kwargs if kwargs else message
    return t(request, message, **kwargs)


def _resolve(
    request: Request,
    session: Session,
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
    presented_csrf: str | None,
) -> User | None:
    settings = request.app.state.settings
    if bearer is not None:
        found = service.api_token_in_use(session, bearer.credentials)
        if found is None:
            raise NotAuthenticated("The API token is unknown, expired or revoked.")
        token_user, token_row = found
        if service.token_use_is_stale(token_row):
            _note_token_use(request, session, token_row.id)
        # Programs set the header themselves; a browser never sends it cross-site, so no CSRF check.
        request.state.user = UserView.of(token_user)
        request.state.auth = "bearer"
        return token_user
    if not cookie:
        return None
    user = service.user_for_session_token(session, cookie)
    if user is None:
        return None
    request.state.user = UserView.of(user)
    request.state.auth = "session"
    request.state.csrf_token = security.csrf_token(settings.secret_key, cookie)
    if request.method not in SAFE_METHODS and not security.csrf_valid(
        settings.secret_key, cookie, presented_csrf
    ):
        raise NotPermitted(
            _say(
                request, "The form's security token is missing or out of date; reload the page and try again."
            )
        )
    return user


def _note_token_use(request: Request, session: Session, token_id: int) -> None:
    """Notes a token's use (at most once a minute); a read-only request does so in a write of its own."""
    if not session.info.get(READ_ONLY):
        service.note_api_token_use(session, token_id)
        return
    db: Database = request.app.state.db
    with db.session_scope() as writer:
        service.note_api_token_use(writer, token_id)


def current_user(
    request: Request,
    session: DbSession,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
    presented_csrf: Annotated[str | None, Depends(_presented_csrf)],
) -> User:
    user = _resolve(request, session, bearer, cookie, presented_csrf)
    if user is None:
        raise NotAuthenticated("Please log in.")
    return user


def optional_user(
    request: Request,
    session: DbSession,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
    presented_csrf: Annotated[str | None, Depends(_presented_csrf)],
) -> User | None:
    """The caller if logged in, else None (for pages that also serve anonymous visitors)."""
    return _resolve(request, session, bearer, cookie, presented_csrf)


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require(*perms: str) -> Callable[..., Awaitable[User]]:
    """A dependency that yields the current user if they hold every permission named.

    Unknown names fail here, at import: a misspelt permission would otherwise lock everyone out.
    """
    unknown = [p for p in perms if p not in ALL_PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown permission(s) {unknown}: add them to zhili.identity.permissions")

    async def _guard(request: Request, user: CurrentUser) -> User:  # in the loop: no thread hop
        missing = [p for p in perms if not user.has(p)]
        if missing:
            names = ", ".join(f"'{p}'" for p in missing)
            raise NotPermitted(
                _say(request, "This needs the permission %(names)s.", names=names), missing=missing
            )
        return user

    _guard.__name__ = f"require_{'_'.join(p.replace(':', '_') for p in perms)}"
    return _guard


def public() -> None:
    """Marks a route as open to anonymous callers: `dependencies=[Depends(public)]`.

    It does nothing at run time; the route-guard test reads it, so every route is either guarded
    by current_user/require or says out loud that it is public.
    """
