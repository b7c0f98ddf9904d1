"""cases: work plans (作业计划), work orders (作业工单), their timeline and photos

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

Unique (plan_id, window_start) is what makes generating orders ahead of time idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import zhili.core.db

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("task_type", sa.String(length=30), nullable=False),
        sa.Column("class_kind", sa.String(length=10), nullable=True),
        sa.Column("class_code", sa.String(length=5), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("area_code", sa.String(length=15), nullable=True),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_staff_id", sa.Integer(), nullable=True),
        sa.Column(
            "recurrence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("min_photos", sa.Integer(), nullable=False),
        sa.Column("tolerance_m", sa.Float(), nullable=False),
        sa.Column("sample_rate", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_staff_id"], ["staff.id"], name=op.f("fk_work_plan_assignee_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_work_plan_department_id_department")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_work_plan_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_plan")),
    )
    with op.batch_alter_table("work_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_plan_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_plan_street_code"), ["street_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_plan_team_id"), ["team_id"], unique=False)

    op.create_table(
        "work_order",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("window_start", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("task_type", sa.String(length=30), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_staff_id", sa.Integer(), nullable=True),
        sa.Column("min_photos", sa.Integer(), nullable=False),
        sa.Column("tolerance_m", sa.Float(), nullable=False),
        sa.Column("started_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_user_id", sa.Integer(), nullable=True),
        sa.Column("done_lon", sa.Float(), nullable=True),
        sa.Column("done_lat", sa.Float(), nullable=True),
        sa.Column("done_distance_m", sa.Float(), nullable=True),
        sa.Column("drawn_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("checked_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_by_user_id", sa.Integer(), nullable=True),
        sa.Column("check_passed", sa.Boolean(), nullable=True),
        sa.Column("check_count", sa.Integer(), nullable=False),
        sa.Column("check_fail_count", sa.Integer(), nullable=False),
        sa.Column("created_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_staff_id"], ["staff.id"], name=op.f("fk_work_order_assignee_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_work_order_checked_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_work_order_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["done_by_user_id"], ["user_account.id"], name=op.f("fk_work_order_done_by_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["work_plan.id"], name=op.f("fk_work_order_plan_id_work_plan")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_work_order_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order")),
        sa.UniqueConstraint("plan_id", "window_start", name=op.f("uq_work_order_plan_id_window_start")),
    )
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_order_assignee_staff_id"), ["assignee_staff_id"], unique=False
        )
        batch_op.create_index(
            "ix_work_order_department_window", ["department_id", "window_start"], unique=False
        )
        batch_op.create_index("ix_work_order_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_work_order_team_window", ["team_id", "window_start"], unique=False)
        batch_op.create_index("ix_work_order_window", ["window_start"], unique=False)

    op.create_table(
        "work_order_activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["user_account.id"],
            name=op.f("fk_work_order_activity_actor_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_order.id"], name=op.f("fk_work_order_activity_order_id_work_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_activity")),
    )
    with op.batch_alter_table("work_order_activity", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_activity_order_id", ["order_id", "id"], unique=False)

    op.create_table(
        "work_order_evidence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("added_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_work_order_evidence_added_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_order.id"], name=op.f("fk_work_order_evidence_order_id_work_order")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["evidence_file.sha256"], name=op.f("fk_work_order_evidence_sha256_evidence_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_evidence")),
        sa.UniqueConstraint(
            "order_id", "sha256", "stage", name=op.f("uq_work_order_evidence_order_id_sha256_stage")
        ),
    )
    with op.batch_alter_table("work_order_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_work_order_evidence_order_id", ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_order_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_evidence_order_id")

    op.drop_table("work_order_evidence")
    with op.batch_alter_table("work_order_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_activity_order_id")

    op.drop_table("work_order_activity")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_window")
        batch_op.drop_index("ix_work_order_team_window")
        batch_op.drop_index("ix_work_order_status_due")
        batch_op.drop_index("ix_work_order_department_window")
        batch_op.drop_index(batch_op.f("ix_work_order_assignee_staff_id"))

    op.drop_table("work_order")
    with op.batch_alter_table("work_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_plan_team_id"))
        batch_op.drop_index(batch_op.f("ix_work_plan_street_code"))
        batch_op.drop_index(batch_op.f("ix_work_plan_department_id"))

    op.drop_table("work_plan")
