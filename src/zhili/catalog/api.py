"""Catalogue JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from zhili.catalog import repository, service
from zhili.catalog.schemas import ClassFilters, ClassRead, Kind, LocalClassCreate
from zhili.core.unit_of_work import get_session
from zhili.core.web import client_ip
from zhili.identity.deps import require
from zhili.identity.models import User

router = APIRouter(prefix="/catalog", tags=["catalog"])
DbSession = Annotated[Session, Depends(get_session, scope="function")]


@router.get("/classes", response_model=list[ClassRead])
def list_classes(session: DbSession, _user: Annotated[User, Depends(require("catalog:read"))],
                 filters: Annotated[ClassFilters, Query()]) -> list[ClassRead]:
    return [ClassRead.model_validate(c) for c in repository.list_classes(session, filters)]


@router.get("/classes/{kind}/{code}", response_model=ClassRead)
def get_class(kind: Kind, code: str, session: DbSession,
              _user: Annotated[User, Depends(require("catalog:read"))]) -> ClassRead:
    return ClassRead.model_validate(service.require_class(session, kind, code))


@router.post("/classes", response_model=ClassRead, status_code=201)
def add_local_class(data: LocalClassCreate, request: Request, session: DbSession,
                    user: Annotated[User, Depends(require("catalog:manage"))]) -> ClassRead:
    cls = service.add_local_class(session, user, data, client_ip=client_ip(request))
    return ClassRead.model_validate(cls)
