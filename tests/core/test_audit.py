"""The audit log is append-only; the sealer chains it, and the chain detects any edit or removal."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from zhili.core import audit


def _append(session, n: int) -> list[audit.AuditEntry]:
    ids = [audit.record(session, actor="tester", action="thing.change", entity_type="thing",
                        entity_id=i, before={"v": i}, after={"v": i + 1, "名称": "井盖"},
                        client_ip="127.0.0.1") for i in range(n)]
    entries = [session.get(audit.AuditEntry, i) for i in ids]
    assert all(e is not None and e.entity_type == "thing" for e in entries)
    return entries


def _seq_of(session, entry: audit.AuditEntry) -> int:
    return int(session.scalar(select(audit.AuditSeal.seq).where(audit.AuditSeal.entry_id == entry.id)))


def test_recorded_entries_wait_for_the_sealer_then_verify(session) -> None:
    audit.seal_all(session)
    entries = _append(session, 5)
    assert audit.verify(session).unsealed >= 5, "recording locks nothing and chains nothing"
    assert audit.seal_all(session) >= 5
    result = audit.verify(session)
    assert result.ok and result.checked >= 5 and result.unsealed == 0
    seqs = [_seq_of(session, e) for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


def test_an_entry_committed_late_is_sealed_in_the_next_round(session) -> None:
    (sealed,) = _append(session, 1)
    audit.seal_all(session)
    # A transaction that took its id before `sealed` but commits after it was sealed: a lower id.
    late = audit.AuditEntry(id=-sealed.id, at=sealed.at, actor="slow", action="thing.change",
                            entity_type="thing", entity_id="late")
    session.add(late)
    session.flush()
    assert audit.seal(session) == 1
    assert _seq_of(session, late) == _seq_of(session, sealed) + 1, "chained after what was sealed before"
    assert audit.verify(session).ok


def test_changing_a_stored_value_is_detected(session) -> None:
    entries = _append(session, 3)
    audit.seal_all(session)
    target = entries[1]
    session.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE id = :i"), {"i": target.id})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_seq == _seq_of(session, target)
    assert "hash" in result.reason


def test_removing_an_entry_or_a_link_is_detected(session) -> None:
    entries = _append(session, 3)
    audit.seal_all(session)
    seq = _seq_of(session, entries[1])
    session.execute(text("DELETE FROM audit_seal WHERE seq = :s"), {"s": seq})
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_seq == seq


def test_orm_refuses_to_update_or_delete_entries(session) -> None:
    (entry,) = _append(session, 1)
    entry.actor = "mallory"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
