"""catalog: GB/T 47678.5-2026 component and matter classes, loaded from the shipped CSV

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _standard_rows() -> list[dict[str, object]]:
    text = (resources.files("zhili.catalog") / "data" / "gbt47678.5-catalogue.csv").read_text("utf-8")
    return [
        {
            "kind": r["kind"],
            "code": r["code"],
            "major_code": r["major_code"],
            "major_name": r["major_name"],
            "name": r["name"],
            "is_local": False,
            "active": True,
            "version": 1,
        }
        for r in csv.DictReader(io.StringIO(text))
    ]


def upgrade() -> None:
    table = op.create_table(
        "catalog_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("major_code", sa.String(length=2), nullable=False),
        sa.Column("major_name", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("is_local", sa.Boolean(), nullable=False),
        sa.Column("legacy_code", sa.String(length=4), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_class")),
        sa.UniqueConstraint("kind", "code", name=op.f("uq_catalog_class_kind_code")),
    )
    op.bulk_insert(table, _standard_rows())


def downgrade() -> None:
    op.drop_table("catalog_class")
