"""The audit log is append-only and its hash chain detects any edit or removal."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from zhili.core import audit


def _append(session, n: int) -> None:
    for i in range(n):
        audit.record(session, actor="tester", action="thing.change", entity_type="thing", entity_id=i,
                     before={"v": i}, after={"v": i + 1, "名称": "井盖"}, client_ip="127.0.0.1")


def test_chain_of_fresh_entries_verifies(session) -> None:
    _append(session, 5)
    result = audit.verify(session)
    assert result.ok and result.checked >= 5


def test_changing_a_stored_value_is_detected(session) -> None:
    _append(session, 3)
    session.flush()
    last = session.execute(text("SELECT max(seq) FROM audit_entry")).scalar_one()
    session.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE seq = :s"), {"s": last - 1})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_seq == last - 1
    assert "hash" in result.reason


def test_removing_an_entry_is_detected(session) -> None:
    _append(session, 3)
    last = session.execute(text("SELECT max(seq) FROM audit_entry")).scalar_one()
    session.execute(text("DELETE FROM audit_entry WHERE seq = :s"), {"s": last - 1})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_seq == last - 1


def test_orm_refuses_to_update_or_delete_entries(session) -> None:
    _append(session, 1)
    entry = session.query(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).first()
    entry.actor = "mallory"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
