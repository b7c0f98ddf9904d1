"""cases: evaluation facts (case_evaluation_fact), one narrow row per case, and their backfill

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25

Evaluation (综合评价) scans this table instead of the wide case_record: period-independent facts as
bits, step times as epoch microseconds, stage durations in seconds. The rows of existing cases are
written by the same function the engine's hook uses (zhili.cases.evaluation_facts.backfill).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from zhili.cases import evaluation_facts as facts

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_evaluation_fact",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("street_code", sa.String(length=9), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("reporter_staff_id", sa.Integer(), nullable=True),
        sa.Column("verified_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("checked_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("facts", sa.BigInteger(), nullable=False),
        sa.Column("span_start_us", sa.BigInteger(), nullable=False),
        sa.Column("span_end_us", sa.BigInteger(), nullable=False),
        sa.Column("reported_us", sa.BigInteger(), nullable=False),
        sa.Column("registered_us", sa.BigInteger(), nullable=True),
        sa.Column("first_dispatched_us", sa.BigInteger(), nullable=True),
        sa.Column("accepted_us", sa.BigInteger(), nullable=True),
        sa.Column("handled_us", sa.BigInteger(), nullable=True),
        sa.Column("closed_us", sa.BigInteger(), nullable=True),
        sa.Column("ended_us", sa.BigInteger(), nullable=True),
        sa.Column("verified_us", sa.BigInteger(), nullable=True),
        sa.Column("checked_us", sa.BigInteger(), nullable=True),
        sa.Column("handle_due_us", sa.BigInteger(), nullable=True),
        sa.Column("accept_seconds", sa.Float(), nullable=True),
        sa.Column("handle_seconds", sa.Float(), nullable=True),
        sa.Column("close_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_record.id"],
            name=op.f("fk_case_evaluation_fact_case_id_case_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_evaluation_fact")),
    )
    if not context.is_offline_mode():  # the backfill reads the cases: online only
        facts.backfill(op.get_bind())
    # After the backfill: an index is built faster once than row by row.
    covering = ["facts", "span_start_us", "span_end_us", "handle_due_us"]
    durations = ["accept_seconds", "handle_seconds", "close_seconds"]
    op.create_index(
        "ix_case_evaluation_fact_street",
        "case_evaluation_fact",
        ["street_code", *covering, "department_id", *durations],
    )
    op.create_index(
        "ix_case_evaluation_fact_department",
        "case_evaluation_fact",
        ["department_id", *covering, "street_code", *durations],
    )


def downgrade() -> None:
    op.drop_index("ix_case_evaluation_fact_department", table_name="case_evaluation_fact")
    op.drop_index("ix_case_evaluation_fact_street", table_name="case_evaluation_fact")
    op.drop_table("case_evaluation_fact")
