"""Catalogue queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zhili.catalog.models import CatalogClass
from zhili.catalog.schemas import ClassFilters


def list_classes(session: Session, filters: ClassFilters) -> Sequence[CatalogClass]:
    stmt = select(CatalogClass).order_by(CatalogClass.kind, CatalogClass.code)
    if filters.kind:
        stmt = stmt.where(CatalogClass.kind == filters.kind)
    if filters.major_code:
        stmt = stmt.where(CatalogClass.major_code == filters.major_code)
    if filters.q:
        like = f"%{filters.q}%"
        stmt = stmt.where(or_(CatalogClass.name.like(like), CatalogClass.code.like(like)))
    if not filters.include_inactive:
        stmt = stmt.where(CatalogClass.active.is_(True))
    return session.scalars(stmt).all()


def active_class_names(session: Session) -> Sequence[tuple[str, str, str]]:
    """(kind, code, name) of every active class, ordered: what pick lists and labels need, without
    loading whole rows (their JSON attributes cost more to decode than the page that shows them).

    Kept per process and read again only when the table's fingerprint (the database, rows, largest
    id, sum of the version column that every ORM change bumps) differs from the one it was read
    under: one small aggregate instead of 400-odd rows on every list page. A change made behind the
    ORM's back (raw SQL that keeps the versions) is seen after a restart."""
    global _names_cache
    fingerprint = (str(session.get_bind().engine.url), *session.execute(_FINGERPRINT).one())
    cached = _names_cache  # one read of one reference: threads see an old pair or a new one, whole
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    stmt = (
        select(CatalogClass.kind, CatalogClass.code, CatalogClass.name)
        .where(CatalogClass.active.is_(True))
        .order_by(CatalogClass.kind, CatalogClass.code)
    )
    names = tuple((kind, code, name) for kind, code, name in session.execute(stmt))
    _names_cache = (fingerprint, names)
    return names


_FINGERPRINT = select(func.count(), func.max(CatalogClass.id), func.sum(CatalogClass.version))
_names_cache: tuple[tuple[object, ...], tuple[tuple[str, str, str], ...]] | None = None


def get_class(session: Session, kind: str, code: str) -> CatalogClass | None:
    return session.scalars(
        select(CatalogClass).where(CatalogClass.kind == kind, CatalogClass.code == code)
    ).one_or_none()


def major_name(session: Session, kind: str, major_code: str) -> str | None:
    return session.scalars(
        select(CatalogClass.major_name)
        .where(CatalogClass.kind == kind, CatalogClass.major_code == major_code)
        .limit(1)
    ).one_or_none()
