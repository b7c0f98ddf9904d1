"""Identity JSON API: tokens for programs, the caller's own account, and user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from zhili.core.errors import NotAuthenticated, TooManyAttempts
from zhili.core.web import client_ip
from zhili.identity import repository, service
from zhili.identity.deps import CurrentUser, DbSession, public, require
from zhili.identity.models import User
from zhili.identity.schemas import (
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenRead,
    TokenLogin,
    UserCreate,
    UserRead,
)

router = APIRouter(tags=["identity"])

ManageUsers = Annotated[User, Depends(require("identity:manage_users"))]


@router.post(
    "/auth/token",
    response_model=ApiTokenIssued,
    status_code=201,
    dependencies=[Depends(public)],
    responses={
        401: {"description": "Wrong username or password"},
        429: {"description": "Account locked after too many failures"},
    },
)
def login_for_token(data: TokenLogin, request: Request, session: DbSession) -> ApiTokenIssued | JSONResponse:
    """Exchange a username and password for a bearer token (send it as `Authorization: Bearer …`)."""
    ip = client_ip(request)
    try:
        user = service.authenticate(
            session, data.username, data.password, ip, settings=request.app.state.settings
        )
    except (NotAuthenticated, TooManyAttempts) as exc:
        # Returned rather than raised so the request's transaction commits the failure counter.
        return JSONResponse(
            exc.problem(request.url.path), status_code=exc.status_code, media_type="application/problem+json"
        )
    row, plaintext = service.issue_api_token(session, user, user, data.name, data.expires_days, client_ip=ip)
    return ApiTokenIssued(
        token=plaintext,
        expires_at=row.expires_at,
        details=ApiTokenRead.model_validate(row),
        user=UserRead.model_validate(user),
    )


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.get("/me/tokens", response_model=list[ApiTokenRead])
def my_tokens(user: CurrentUser, session: DbSession) -> list[ApiTokenRead]:
    return [ApiTokenRead.model_validate(t) for t in repository.tokens_of(session, user.id)]


@router.post("/me/tokens", response_model=ApiTokenIssued, status_code=201)
def issue_my_token(
    data: ApiTokenCreate, request: Request, user: CurrentUser, session: DbSession
) -> ApiTokenIssued:
    row, plaintext = service.issue_api_token(
        session, user, user, data.name, data.expires_days, client_ip=client_ip(request)
    )
    return ApiTokenIssued(
        token=plaintext, expires_at=row.expires_at, details=ApiTokenRead.model_validate(row)
    )


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_my_token(token_id: int, request: Request, user: CurrentUser, session: DbSession) -> Response:
    service.revoke_api_token(session, user, token_id, client_ip=client_ip(request))
    return Response(status_code=204)


@router.get("/users", response_model=list[UserRead])
def list_users(_user: ManageUsers, session: DbSession) -> list[UserRead]:
    return [UserRead.model_validate(u) for u in repository.list_users(session)]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(data: UserCreate, request: Request, user: ManageUsers, session: DbSession) -> UserRead:
    created = service.create_user(
        session,
        user,
        username=data.username,
        password=data.password,
        display_name=data.display_name,
        roles=data.roles,
        department_id=data.department_id,
        staff_id=data.staff_id,
        area_codes=data.area_codes,
        phone=data.phone,
        client_ip=client_ip(request),
    )
    return UserRead.model_validate(created)
