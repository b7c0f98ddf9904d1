"""core: the audit chain moves to audit_seal, appended by a sealer, so writers share no locked row

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25

Before: every audit entry carried its seq, previous hash and hash, and each writer locked the one
audit_head row until its transaction ended (all writes in the platform queued on it). After: entries
are plain inserts; `zhili.core.audit.seal` chains the committed ones into audit_seal. The existing
links are copied unchanged (the hash covers the same canonical form), so an old chain still verifies.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhili.core.db

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_seal",
        sa.Column("entry_id", _id, nullable=False),
        sa.Column("seq", _id, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", zhili.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["audit_entry.id"],
                                name=op.f("fk_audit_seal_entry_id_audit_entry")),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_audit_seal")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_seal_hash")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_seal_seq")),
    )
    op.execute("INSERT INTO audit_seal (entry_id, seq, prev_hash, hash, sealed_at) "
               "SELECT id, seq, prev_hash, hash, at FROM audit_entry")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entry_hash"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_audit_entry_seq"), type_="unique")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("hash")
        batch_op.drop_column("seq")


def downgrade() -> None:
    unsealed = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM audit_entry WHERE id NOT IN (SELECT entry_id FROM audit_seal)")).scalar()
    if unsealed:  # the old schema has no place for an entry without a link; losing it is not an option
        raise RuntimeError(f"{unsealed} audit entries are not sealed yet: run `zhili audit verify` first")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", _id, nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.execute("UPDATE audit_entry SET seq = (SELECT seq FROM audit_seal WHERE entry_id = audit_entry.id), "
               "hash = (SELECT hash FROM audit_seal WHERE entry_id = audit_entry.id), "
               "prev_hash = (SELECT prev_hash FROM audit_seal WHERE entry_id = audit_entry.id)")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.alter_column("seq", nullable=False)
        batch_op.alter_column("hash", nullable=False)
        batch_op.alter_column("prev_hash", nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_hash"), ["hash"])
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_seq"), ["seq"])
    op.drop_table("audit_seal")
