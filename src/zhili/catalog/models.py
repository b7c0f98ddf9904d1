"""The class catalogue: GB/T 47678.5-2026 component and matter classes plus local extensions."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhili.core.db import Base


class CatalogClass(Base):
    """One class of the catalogue.

    Component and matter codes overlap (01001 is both), so the key is (kind, code).
    """

    __tablename__ = "catalog_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # component (管理部件) | matter (管理事项)
    code: Mapped[str] = mapped_column(String(5))  # 2-digit major + 3-digit minor
    major_code: Mapped[str] = mapped_column(String(2))
    major_name: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    # Local extensions (e.g. 压缩站) use minor codes 900-999 so they never collide with the standard.
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    legacy_code: Mapped[str | None] = mapped_column(String(4))  # GB/T 30428 4-digit code, for imports
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (UniqueConstraint("kind", "code"),)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by SQLAlchemy at mapping

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"
