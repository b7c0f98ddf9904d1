"""org: areas grids departments staff

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 21:17:58.378937
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import zhili.core.db

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["admin_area.id"], name=op.f("fk_admin_area_parent_id_admin_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_area")),
        sa.UniqueConstraint("code", name=op.f("uq_admin_area_code")),
    )
    with op.batch_alter_table("admin_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_area_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_area_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("handles_cases", sa.Boolean(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_id"], ["admin_area.id"], name=op.f("fk_department_street_id_admin_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("code", name=op.f("uq_department_code")),
    )
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_department_street_id"), ["street_id"], unique=False)

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_team_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("code", name=op.f("uq_team_code")),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_department_id"), ["department_id"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_no", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("post", sa.String(length=30), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_staff_department_id_department")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_staff_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("employee_no", name=op.f("uq_staff_employee_no")),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_team_id"), ["team_id"], unique=False)

    op.create_table(
        "responsibility_grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("inspector_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspector_staff_id"], ["staff.id"], name=op.f("fk_responsibility_grid_inspector_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["admin_area.id"], name=op.f("fk_responsibility_grid_street_id_admin_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responsibility_grid")),
        sa.UniqueConstraint("code", name=op.f("uq_responsibility_grid_code")),
    )
    with op.batch_alter_table("responsibility_grid", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_responsibility_grid_inspector_staff_id"), ["inspector_staff_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_responsibility_grid_street_id"), ["street_id"], unique=False)

    op.create_table(
        "unit_grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("responsibility_grid_id", sa.Integer(), nullable=True),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["admin_area.id"], name=op.f("fk_unit_grid_community_id_admin_area")
        ),
        sa.ForeignKeyConstraint(
            ["responsibility_grid_id"],
            ["responsibility_grid.id"],
            name=op.f("fk_unit_grid_responsibility_grid_id_responsibility_grid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_grid")),
        sa.UniqueConstraint("code", name=op.f("uq_unit_grid_code")),
    )
    with op.batch_alter_table("unit_grid", schema=None) as batch_op:
        batch_op.create_index("ix_unit_grid_bbox", ["min_lon", "min_lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_grid_community_id"), ["community_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_unit_grid_responsibility_grid_id"), ["responsibility_grid_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unit_grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_grid_responsibility_grid_id"))
        batch_op.drop_index(batch_op.f("ix_unit_grid_community_id"))
        batch_op.drop_index("ix_unit_grid_bbox")

    op.drop_table("unit_grid")
    with op.batch_alter_table("responsibility_grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responsibility_grid_street_id"))
        batch_op.drop_index(batch_op.f("ix_responsibility_grid_inspector_staff_id"))

    op.drop_table("responsibility_grid")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_team_id"))
        batch_op.drop_index(batch_op.f("ix_staff_department_id"))

    op.drop_table("staff")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_department_id"))

    op.drop_table("team")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_street_id"))

    op.drop_table("department")
    with op.batch_alter_table("admin_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_area_parent_id"))
        batch_op.drop_index(batch_op.f("ix_admin_area_level"))

    op.drop_table("admin_area")
