"""cases: case standards, dispatch rules, case records, timeline, evidence, tasks, pauses, numbers, idempotency keys

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

The case tables refer to org, identity and evidence only (components by their 17-digit ID string),
so they do not depend on the assets tables of 0007.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import zhili.core.db

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_number_sequence",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_number_sequence")),
    )
    op.create_table(
        "case_dispatch_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_kind", sa.String(length=10), nullable=False),
        sa.Column("class_code", sa.String(length=5), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("created_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_case_dispatch_rule_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_dispatch_rule")),
        sa.UniqueConstraint(
            "class_kind",
            "class_code",
            "street_code",
            name=op.f("uq_case_dispatch_rule_class_kind_class_code_street_code"),
        ),
    )
    with op.batch_alter_table("case_dispatch_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_dispatch_rule_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "case_standard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_kind", sa.String(length=10), nullable=False),
        sa.Column("class_code", sa.String(length=5), nullable=False),
        sa.Column("condition_no", sa.Integer(), nullable=False),
        sa.Column("register_condition", sa.Text(), nullable=False),
        sa.Column("close_condition", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("dispatch_limit", sa.Float(), nullable=False),
        sa.Column("dispatch_unit", sa.String(length=16), nullable=False),
        sa.Column("handle_limit", sa.Float(), nullable=False),
        sa.Column("handle_unit", sa.String(length=16), nullable=False),
        sa.Column("check_limit", sa.Float(), nullable=False),
        sa.Column("check_unit", sa.String(length=16), nullable=False),
        sa.Column("after_photo_required", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_case_standard_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_standard")),
        sa.UniqueConstraint(
            "class_kind",
            "class_code",
            "condition_no",
            name=op.f("uq_case_standard_class_kind_class_code_condition_no"),
        ),
    )
    with op.batch_alter_table("case_standard", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_standard_department_id"), ["department_id"], unique=False)

    op.create_table(
        "case_idempotency_key",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_case_idempotency_key_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_idempotency_key")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_case_idempotency_key_user_id_key")),
    )
    with op.batch_alter_table("case_idempotency_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_idempotency_key_created_at"), ["created_at"], unique=False)

    op.create_table(
        "case_record",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("self_handled", sa.Boolean(), nullable=False),
        sa.Column("class_kind", sa.String(length=10), nullable=False),
        sa.Column("class_code", sa.String(length=5), nullable=False),
        sa.Column("component_id", sa.String(length=17), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("responsibility_grid_code", sa.String(length=20), nullable=True),
        sa.Column("grid_inspector_staff_id", sa.Integer(), nullable=True),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_staff_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=60), nullable=True),
        sa.Column("reporter_phone", sa.String(length=20), nullable=True),
        sa.Column("standard_id", sa.Integer(), nullable=True),
        sa.Column("dispatch_limit", sa.Float(), nullable=True),
        sa.Column("dispatch_unit", sa.String(length=16), nullable=True),
        sa.Column("handle_limit", sa.Float(), nullable=True),
        sa.Column("handle_unit", sa.String(length=16), nullable=True),
        sa.Column("check_limit", sa.Float(), nullable=True),
        sa.Column("check_unit", sa.String(length=16), nullable=True),
        sa.Column("after_photo_required", sa.Boolean(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("verify_confirmed", sa.Boolean(), nullable=True),
        sa.Column("registered_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("registered_by_user_id", sa.Integer(), nullable=True),
        sa.Column("dispatched_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_dispatched_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_by_user_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handle_started_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("check_passed", sa.Boolean(), nullable=True),
        sa.Column("closed_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verify_due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("register_due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatch_due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handle_due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("check_due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stage_started_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("amber_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("extended_amount", sa.Float(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("suspension_count", sa.Integer(), nullable=False),
        sa.Column("suspended_until", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("urge_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("appeal_status", sa.String(length=10), nullable=True),
        sa.Column("pending_request", sa.String(length=12), nullable=True),
        sa.Column(
            "pending_payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("pending_since", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checked_by_staff_id"], ["staff.id"], name=op.f("fk_case_record_checked_by_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_case_record_closed_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_case_record_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["dispatched_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_case_record_dispatched_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_inspector_staff_id"],
            ["staff.id"],
            name=op.f("fk_case_record_grid_inspector_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["case_record.id"], name=op.f("fk_case_record_merged_into_id_case_record")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_case_record_registered_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_staff_id"], ["staff.id"], name=op.f("fk_case_record_reporter_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"],
            ["user_account.id"],
            name=op.f("fk_case_record_reporter_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["case_standard.id"], name=op.f("fk_case_record_standard_id_case_standard")
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_staff_id"], ["staff.id"], name=op.f("fk_case_record_verified_by_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_record")),
        sa.UniqueConstraint("number", name=op.f("uq_case_record_number")),
    )
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_record_class_reported", ["class_kind", "class_code", "reported_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_record_component_id"), ["component_id"], unique=False)
        batch_op.create_index(
            "ix_case_record_department_dispatched", ["department_id", "dispatched_at"], unique=False
        )
        batch_op.create_index(
            "ix_case_record_grid_inspector", ["grid_inspector_staff_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_record_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_index("ix_case_record_pending", ["pending_request"], unique=False)
        batch_op.create_index("ix_case_record_reported", ["reported_at"], unique=False)
        batch_op.create_index(
            "ix_case_record_reporter_staff_reported", ["reporter_staff_id", "reported_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_record_standard_id"), ["standard_id"], unique=False)
        batch_op.create_index("ix_case_record_status_department", ["status", "department_id"], unique=False)
        batch_op.create_index("ix_case_record_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_case_record_status_reported", ["status", "reported_at"], unique=False)
        batch_op.create_index("ix_case_record_street_reported", ["street_code", "reported_at"], unique=False)
        batch_op.create_index("ix_case_record_suspended_until", ["status", "suspended_until"], unique=False)

    op.create_table(
        "case_activity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["user_account.id"], name=op.f("fk_case_activity_actor_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_record.id"], name=op.f("fk_case_activity_case_id_case_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_activity")),
    )
    with op.batch_alter_table("case_activity", schema=None) as batch_op:
        batch_op.create_index("ix_case_activity_action_at", ["action", "at"], unique=False)
        batch_op.create_index("ix_case_activity_case_id", ["case_id", "id"], unique=False)

    op.create_table(
        "case_evidence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=10), nullable=False),
        sa.Column("added_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("added_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_case_evidence_added_by_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_record.id"], name=op.f("fk_case_evidence_case_id_case_record")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["evidence_file.sha256"], name=op.f("fk_case_evidence_sha256_evidence_file")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_evidence")),
        sa.UniqueConstraint("case_id", "sha256", "stage", name=op.f("uq_case_evidence_case_id_sha256_stage")),
    )
    with op.batch_alter_table("case_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_case_evidence_sha256", ["sha256"], unique=False)

    op.create_table(
        "case_pause",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("started_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_record.id"], name=op.f("fk_case_pause_case_id_case_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_pause")),
    )
    with op.batch_alter_table("case_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_pause_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_task",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("assignee_staff_id", sa.Integer(), nullable=True),
        sa.Column("responsibility_grid_code", sa.String(length=20), nullable=True),
        sa.Column("created_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", zhili.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by_user_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_staff_id"], ["staff.id"], name=op.f("fk_case_task_assignee_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_record.id"], name=op.f("fk_case_task_case_id_case_record")
        ),
        sa.ForeignKeyConstraint(
            ["done_by_user_id"], ["user_account.id"], name=op.f("fk_case_task_done_by_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_task")),
    )
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_task_assignee_status", ["assignee_staff_id", "status", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_task_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_task_case_id"))
        batch_op.drop_index("ix_case_task_assignee_status")

    op.drop_table("case_task")
    with op.batch_alter_table("case_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_pause_case_id"))

    op.drop_table("case_pause")
    with op.batch_alter_table("case_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_case_evidence_sha256")

    op.drop_table("case_evidence")
    with op.batch_alter_table("case_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_case_activity_case_id")
        batch_op.drop_index("ix_case_activity_action_at")

    op.drop_table("case_activity")
    with op.batch_alter_table("case_record", schema=None) as batch_op:
        batch_op.drop_index("ix_case_record_suspended_until")
        batch_op.drop_index("ix_case_record_street_reported")
        batch_op.drop_index("ix_case_record_status_reported")
        batch_op.drop_index("ix_case_record_status_due")
        batch_op.drop_index("ix_case_record_status_department")
        batch_op.drop_index(batch_op.f("ix_case_record_standard_id"))
        batch_op.drop_index("ix_case_record_reporter_staff_reported")
        batch_op.drop_index("ix_case_record_reported")
        batch_op.drop_index("ix_case_record_pending")
        batch_op.drop_index(batch_op.f("ix_case_record_merged_into_id"))
        batch_op.drop_index("ix_case_record_grid_inspector")
        batch_op.drop_index("ix_case_record_department_dispatched")
        batch_op.drop_index(batch_op.f("ix_case_record_component_id"))
        batch_op.drop_index("ix_case_record_class_reported")

    op.drop_table("case_record")
    with op.batch_alter_table("case_idempotency_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_idempotency_key_created_at"))

    op.drop_table("case_idempotency_key")
    with op.batch_alter_table("case_standard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_standard_department_id"))

    op.drop_table("case_standard")
    with op.batch_alter_table("case_dispatch_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_dispatch_rule_department_id"))

    op.drop_table("case_dispatch_rule")
    op.drop_table("case_number_sequence")
