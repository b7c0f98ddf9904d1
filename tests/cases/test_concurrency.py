"""Two people acting on the same case at once: the second write fails as a conflict, nothing is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError

from tests.cases.conftest import make_case, standard_id, user
from zhili.cases import repository
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import ActionFields
from zhili.cases.service import workflow
from zhili.cases.states import CaseStatus


def test_a_write_over_a_concurrent_change_fails_on_the_version_column(session, cfg, at) -> None:
    """The request's version matched what this session read, but another writer got there first."""
    case = make_case(session, cfg)
    leader = user(session, "shift_leader")
    assert repository.get_visible(session, leader, case.number) is case and case.version == 1
    # Another transaction registers the case meanwhile (this session's copy is not refreshed).
    session.execute(
        update(CaseRecord)
        .where(CaseRecord.id == case.id)
        .values(status="to_dispatch", version=2)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(StaleDataError), session.begin_nested():
        workflow.perform_action(
            session,
            leader,
            case.number,
            "register",
            ActionFields(standard_id=standard_id(session)),
            cfg,
            version=1,
        )
    session.expire_all()
    fresh = repository.get_visible(session, leader, case.number)
    assert fresh is not None and fresh.status == CaseStatus.to_dispatch and fresh.version == 2
    assert [a.action for a in repository.timeline(session, fresh.id)] == ["report"]


def test_each_action_writes_its_case_once_one_version_up(session, cfg, at) -> None:
    """An action's change of the case is one UPDATE on id and version (cases.writes), and the case is
    clean afterwards: a flush or the commit writes it no second time, and the version the answer
    carries is the row's."""
    from sqlalchemy import event, select

    from tests.cases.conftest import main_line

    case = make_case(session, cfg)
    session.flush()
    updates: list[str] = []

    def note(_conn, _cursor, statement: str, *_rest) -> None:
        if statement.lstrip().upper().startswith("UPDATE CASE_RECORD"):
            updates.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        for status, username, action, fields in main_line(session):
            assert case.status == status
            read, updates[:] = case.version, []
            case = workflow.perform_action(session, user(session, username), case.number, action,
                                           ActionFields(**fields), cfg, version=case.version)
            session.flush()
            assert len(updates) == 1, (action, updates)
            assert "version" in updates[0].split("WHERE", 1)[1], updates[0]
            assert case.version == read + 1
            stored = session.execute(select(CaseRecord.version, CaseRecord.status)
                                     .where(CaseRecord.id == case.id)).one()
            assert tuple(stored) == (read + 1, case.status), action
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_an_action_taken_back_with_its_savepoint_is_taken_back_in_memory_too(session, cfg, at) -> None:
    """A batch runs each case's action in a savepoint; when a later step of it fails, the case as the
    session holds it is the row's again (status and version), not the action's unwritten result."""
    case = make_case(session, cfg)
    session.flush()
    leader = user(session, "shift_leader")
    with pytest.raises(RuntimeError, match="later step"), session.begin_nested():
        workflow.perform_action(session, leader, case.number, "register",
                                ActionFields(standard_id=standard_id(session)), cfg, version=1)
        assert case.status == CaseStatus.to_dispatch and case.version == 2
        raise RuntimeError("a later step of the same unit of work fails")
    assert (case.status, case.version) == (CaseStatus.to_register, 1)
    assert [a.action for a in repository.timeline(session, case.id)] == ["report"]
