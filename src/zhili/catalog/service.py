"""Catalogue use cases: look up classes (other domains validate codes here) and add local extensions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from zhili.catalog import repository
from zhili.catalog.models import CatalogClass
from zhili.catalog.schemas import LocalClassCreate
from zhili.core import audit
from zhili.core.errors import Conflict, Invalid, NotFound

if TYPE_CHECKING:
    from zhili.identity.models import User


def get_class(session: Session, kind: str, code: str) -> CatalogClass:
    """The class, or Invalid naming the unknown code (callers validate user input with this)."""
    if kind not in ("component", "matter"):
        raise Invalid(f"unknown class kind {kind!r}: use 'component' or 'matter'")
    found = repository.get_class(session, kind, code)
    if found is None or not found.active:
        raise Invalid(f"unknown {kind} class code {code!r} (GB/T 47678.5 or a local extension)")
    return found


def require_class(session: Session, kind: str, code: str) -> CatalogClass:
    """Like get_class, but 404: for URLs that name a class."""
    found = repository.get_class(session, kind, code)
    if found is None:
        raise NotFound(f"no {kind} class {code}")
    return found


def add_local_class(session: Session, actor: User, data: LocalClassCreate, *,
                    client_ip: str | None = None) -> CatalogClass:
    major = repository.major_name(session, data.kind, data.code[:2])
    if major is None:
        raise Invalid(f"major class {data.code[:2]} does not exist for kind {data.kind}")
    if repository.get_class(session, data.kind, data.code) is not None:
        raise Conflict(f"{data.kind} class {data.code} already exists")
    cls = CatalogClass(kind=data.kind, code=data.code, major_code=data.code[:2], major_name=major,
                       name=data.name, description=data.description, legacy_code=data.legacy_code,
                       is_local=True, active=True)
    session.add(cls)
    session.flush()
    audit.record(session, actor=actor.username, action="catalog.add_local_class", entity_type="catalog_class",
                 entity_id=f"{data.kind}:{data.code}", after=data.model_dump(), client_ip=client_ip)
    return cls
