"""Identity use cases on the database: creating users, logging in, lock-out, sessions and tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhili.core.audit import AuditEntry
from zhili.core.errors import Conflict, Invalid, NotAuthenticated, NotFound, NotPermitted, TooManyAttempts
from zhili.core.settings import Settings
from zhili.identity import demo, repository, service
from zhili.identity.demo import DEMO_PASSWORD
from zhili.identity.models import User

GOOD_PASSWORD = "Baiyun#2026"


def _user(session: Session, username: str) -> User:
    found = repository.user_by_username(session, username)
    assert found is not None
    return found


def _count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def _last_audit(session: Session) -> AuditEntry:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()


def test_create_user_stores_a_hash_and_audits_without_it(session: Session) -> None:
    admin = _user(session, "admin")
    user = service.create_user(
        session,
        admin,
        username="Zhang.Wei",
        password=GOOD_PASSWORD,
        display_name=" 张伟 ",
        roles=["operator", "operator"],
        client_ip="10.0.0.9",
    )
    assert user.username == "zhang.wei"
    assert user.display_name == "张伟"
    assert user.roles == ["operator"]
    assert user.password_hash != GOOD_PASSWORD and user.password_hash.startswith("$argon2")
    entry = _last_audit(session)
    assert (entry.action, entry.actor, entry.client_ip) == ("identity.create_user", "admin", "10.0.0.9")
    assert entry.after is not None and entry.after["username"] == "zhang.wei"
    assert "password_hash" not in entry.after and GOOD_PASSWORD not in str(entry.after)


def test_duplicate_username_is_a_conflict(session: Session) -> None:
    with pytest.raises(Conflict, match="already taken"):
        service.create_user(
            session, None, username="ADMIN", password=GOOD_PASSWORD, display_name="x", roles=["operator"]
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "x"}, "username"),
        ({"username": "9lives"}, "username"),
        ({"username": "有中文"}, "username"),
        ({"password": "short1!"}, "at least 8"),
        ({"password": "12345678901"}, "digits only"),
        ({"roles": []}, "at least one role"),
        ({"roles": ["mayor"]}, "Unknown role"),
        ({"department_id": 999999}, "Department 999999 does not exist"),
        ({"staff_id": 999999}, "Staff record 999999"),
        ({"roles": ["handler"]}, "must belong to a department"),
        ({"area_codes": ["4401"]}, "9 digits"),
        ({"area_codes": ["440111999"]}, "Unknown street"),
        ({"phone": "call me"}, "phone"),
        ({"display_name": "  "}, "display name"),
    ],
)
def test_invalid_user_data_is_refused_and_nothing_is_written(
    session: Session, changes: dict[str, object], message: str
) -> None:
    before = _count_users(session)
    data: dict[str, object] = {
        "username": "li.na",
        "password": GOOD_PASSWORD,
        "display_name": "李娜",
        "roles": ["operator"],
    }
    data.update(changes)
    with pytest.raises(Invalid, match=message):
        service.create_user(session, None, **data)  # type: ignore[arg-type]
    assert _count_users(session) == before


def test_only_user_managers_may_create_users(session: Session) -> None:
    with pytest.raises(NotPermitted, match="identity:manage_users"):
        service.create_user(
            session,
            _user(session, "dispatcher"),
            username="li.na",
            password=GOOD_PASSWORD,
            display_name="李娜",
            roles=["admin"],
        )


def test_authenticate_accepts_the_right_password_and_records_the_login(
    session: Session, settings: Settings
) -> None:
    user = service.authenticate(session, " Operator ", DEMO_PASSWORD, "192.0.2.7", settings=settings)
    assert user.username == "operator"
    assert user.last_login_at is not None and user.failed_logins == 0
    entry = _last_audit(session)
    assert (entry.action, entry.actor, entry.client_ip) == ("identity.login", "operator", "192.0.2.7")


def test_wrong_password_and_unknown_user_get_the_same_answer(session: Session, settings: Settings) -> None:
    with pytest.raises(NotAuthenticated) as wrong:
        service.authenticate(session, "operator", "not-the-password", None, settings=settings)
    with pytest.raises(NotAuthenticated) as unknown:
        service.authenticate(session, "nobody.here", "not-the-password", None, settings=settings)
    assert wrong.value.detail == unknown.value.detail == service.WRONG_CREDENTIALS
    assert _user(session, "operator").failed_logins == 1


def test_account_locks_after_max_failures_and_unlocks_when_the_time_is_up(
    session: Session, settings: Settings, frozen_clock
) -> None:
    for _ in range(settings.login_max_failures - 1):
        with pytest.raises(NotAuthenticated):
            service.authenticate(session, "dispatcher", "wrong-password", None, settings=settings)
    with pytest.raises(TooManyAttempts) as locked:
        service.authenticate(session, "dispatcher", "wrong-password", None, settings=settings)
    assert "unlock_at" in locked.value.extra
    assert _last_audit(session).action == "identity.login_locked"
    # Even the right password is refused while the lock holds.
    frozen_clock(settings.login_lockout_s - 1)
    with pytest.raises(TooManyAttempts):
        service.authenticate(session, "dispatcher", DEMO_PASSWORD, None, settings=settings)
    frozen_clock(2)
    assert (
        service.authenticate(session, "dispatcher", DEMO_PASSWORD, None, settings=settings).locked_until
        is None
    )


def test_a_disabled_user_cannot_log_in(session: Session, settings: Settings) -> None:
    _user(session, "leader").is_active = False
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, "leader", DEMO_PASSWORD, None, settings=settings)


def test_session_token_works_until_logout_or_expiry(
    session: Session, settings: Settings, frozen_clock
) -> None:
    user = _user(session, "operator")
    row, token = service.start_session(session, user, client_ip="192.0.2.1", settings=settings)
    assert row.token_digest != token
    assert service.user_for_session_token(session, token) is user
    frozen_clock(settings.session_max_age_s + 1)
    assert service.user_for_session_token(session, token) is None
    _row2, token2 = service.start_session(session, user, settings=settings)
    service.end_session(session, token2, client_ip="192.0.2.1")
    assert service.user_for_session_token(session, token2) is None
    assert _last_audit(session).action == "identity.logout"


def test_api_token_is_stored_as_digest_and_stops_working_when_revoked(session: Session) -> None:
    user = _user(session, "inspector")
    row, plaintext = service.issue_api_token(session, user, user, "phone app", 30)
    assert plaintext.startswith("zl_") and row.prefix == plaintext[:10] and plaintext not in row.token_digest
    assert service.user_for_api_token(session, plaintext) is user
    assert row.last_used_at is not None
    service.revoke_api_token(session, user, row.id)
    assert service.user_for_api_token(session, plaintext) is None
    assert _last_audit(session).action == "identity.revoke_api_token"


def test_tokens_of_others_are_not_found_and_not_issuable(session: Session) -> None:
    owner, other = _user(session, "inspector"), _user(session, "operator")
    row, _plain = service.issue_api_token(session, owner, owner, "mine", 1)
    with pytest.raises(NotFound):
        service.revoke_api_token(session, other, row.id)
    with pytest.raises(NotPermitted):
        service.issue_api_token(session, other, owner, "theirs", 1)
    with pytest.raises(Invalid):
        service.issue_api_token(session, owner, owner, "too long", 400)


def test_demo_seed_is_idempotent_and_gives_every_role_a_login(session: Session) -> None:
    before = _count_users(session)
    logins = demo.seed_demo_users(session)
    assert _count_users(session) == before
    roles = {role for _username, _password, role in logins}
    assert {"admin", "operator", "shift_leader", "dispatcher", "inspector", "leader", "citizen"} <= roles
    for username, _password, role in logins:
        assert _user(session, username).roles == [role]


def test_demo_binds_department_staff_to_their_department(session: Session) -> None:
    sanitation = repository.department_by_kind(session, "sanitation")
    handler = repository.user_by_username(session, "handler")
    if sanitation is None:
        assert handler is None  # skipped rather than made district-wide
    else:
        assert handler is not None and handler.department_id == sanitation


def test_demo_inspector_is_scoped_to_the_street_of_their_grid(session: Session) -> None:
    staff_id = repository.street_inspector_staff(session, demo.DEMO_STREET)
    inspector = _user(session, "inspector")
    if staff_id is None:
        assert inspector.area_codes == [] and inspector.staff_id is None
    else:
        assert (inspector.staff_id, inspector.area_codes) == (staff_id, [demo.DEMO_STREET])
