"""assets: components, their version history, serial counters, the map's cell summary; local classes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from zhili.core.db import JSONType, UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The assets domain's local extension classes (see zhili.assets.extensions), frozen here as data:
# a migration must not change when the code later does.
LOCAL_CLASSES = (
    ("03901", "03", "垃圾压缩站", "Garbage compression (transfer) station with weighbridge and AI cameras"),
    ("03902", "03", "垃圾分类投放点（云站桶）", "Garbage sorting point with smart bins (云站桶)"),
    ("05901", "05", "瓶装燃气供应点", "Bottled-gas (LPG) supply point, licensed"),
)


def upgrade() -> None:
    op.create_table(
        "component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=17), nullable=False),
        sa.Column("legacy_code", sa.String(length=16), nullable=True),
        sa.Column("class_code", sa.String(length=5), nullable=False),
        sa.Column("major_code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("maintainer", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("initial_date", sa.Date(), nullable=True),
        sa.Column("changed_date", sa.Date(), nullable=True),
        sa.Column("data_source", sa.String(length=20), nullable=False),
        sa.Column("accuracy", sa.String(length=1), nullable=True),
        sa.Column("photos", JSONType, nullable=False),
        sa.Column("attributes", JSONType, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_component_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component")),
        sa.UniqueConstraint("code", name=op.f("uq_component_code")),
    )
    for column in ("legacy_code", "class_code", "department_id", "grid_code", "street_code"):
        op.create_index(op.f(f"ix_component_{column}"), "component", [column])
    # The map's point query reads only this index (see zhili.assets.models.Component).
    op.create_index("ix_component_map", "component",
                    ["cell", "class_code", "status", "street_code", "lon", "lat", "code"])

    op.create_table(
        "component_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("changes", JSONType, nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("case_number", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["component.id"],
            ondelete="CASCADE",
            name=op.f("fk_component_version_component_id_component"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_version")),
        sa.UniqueConstraint(
            "component_id", "version", name=op.f("uq_component_version_component_id_version")
        ),
    )
    op.create_index(
        "ix_component_version_component_id_valid_from", "component_version", ["component_id", "valid_from"]
    )

    op.create_table(
        "component_serial",
        sa.Column("class_code", sa.String(length=5), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_code", name=op.f("pk_component_serial")),
    )

    op.create_table(
        "component_cell",
        sa.Column("res", sa.SmallInteger(), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("class_code", sa.String(length=5), nullable=False),
        sa.Column("n_intact", sa.Integer(), nullable=False),
        sa.Column("n_damaged", sa.Integer(), nullable=False),
        sa.Column("n_missing", sa.Integer(), nullable=False),
        sa.Column("n_abandoned", sa.Integer(), nullable=False),
        sa.Column("n_removed", sa.Integer(), nullable=False),
        sa.Column("sum_lon", sa.Float(), nullable=False),
        sa.Column("sum_lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("res", "cell", "street_code", "class_code", name=op.f("pk_component_cell")),
    )

    catalog = sa.table(
        "catalog_class",
        sa.column("kind"),
        sa.column("code"),
        sa.column("major_code"),
        sa.column("major_name"),
        sa.column("name"),
        sa.column("is_local"),
        sa.column("description"),
        sa.column("active"),
        sa.column("version"),
    )
    conn = op.get_bind()
    for code, major, name, description in LOCAL_CLASSES:
        exists = conn.execute(
            sa.select(catalog.c.code).where(catalog.c.kind == "component", catalog.c.code == code)
        ).first()
        major_name = conn.execute(
            sa.select(catalog.c.major_name)
            .where(catalog.c.kind == "component", catalog.c.major_code == major)
            .limit(1)
        ).scalar()
        if exists is None and major_name is not None:
            conn.execute(
                catalog.insert().values(
                    kind="component",
                    code=code,
                    major_code=major,
                    major_name=major_name,
                    name=name,
                    is_local=True,
                    description=description,
                    active=True,
                    version=1,
                )
            )


def downgrade() -> None:
    catalog = sa.table("catalog_class", sa.column("kind"), sa.column("code"))
    op.get_bind().execute(
        catalog.delete().where(
            catalog.c.kind == "component", catalog.c.code.in_([c[0] for c in LOCAL_CLASSES])
        )
    )
    op.drop_table("component_cell")
    op.drop_table("component_serial")
    op.drop_index("ix_component_version_component_id_valid_from", table_name="component_version")
    op.drop_table("component_version")
    for column in ("street_code", "grid_code", "department_id", "class_code", "legacy_code"):
        op.drop_index(op.f(f"ix_component_{column}"), table_name="component")
    op.drop_index("ix_component_map", table_name="component")
    op.drop_table("component")
