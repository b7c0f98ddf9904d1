"""Identity use cases: create users, log in and out, issue and revoke API tokens. Flush, never commit."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from zhili.core import audit, clock, security
from zhili.core.errors import Conflict, Invalid, NotAuthenticated, NotFound, NotPermitted, TooManyAttempts
from zhili.core.settings import Settings, get_settings
from zhili.identity import repository
from zhili.identity.models import ApiToken, LoginSession, User
from zhili.identity.permissions import DEPARTMENT_ROLES, OVERSIGHT_ROLES, ROLE_PERMISSIONS

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")
STREET_CODE_RE = re.compile(r"^\d{9}$")
MAX_PASSWORD_LENGTH = 128  # argon2 hashes anything, but unbounded input is a cheap way to burn CPU
API_TOKEN_PREFIX = "zl_"  # noqa: S105 - marks zhili tokens in logs and secret scanners
# The same words whether the username is unknown, the password wrong or the account disabled.
WRONG_CREDENTIALS = "Wrong username or password."
# Last-use stamps are written at most this often, so read-only API traffic does not write every call.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _actor_name(actor: User | None) -> str:
    return actor.username if actor is not None else "system"


def _public(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user: never the password hash."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "department_id": user.department_id,
        "staff_id": user.staff_id,
        "area_codes": list(user.area_codes),
        "is_active": user.is_active,
        "phone": user.phone,
    }


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_password_rules(password: str) -> None:
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise Invalid(f"The password must have at least {security.MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")
    if password.isdigit():
        raise Invalid("The password must not be digits only.")


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    password: str,
    display_name: str,
    roles: Iterable[str],
    department_id: int | None = None,
    staff_id: int | None = None,
    area_codes: Iterable[str] = (),
    phone: str | None = None,
    client_ip: str | None = None,
) -> User:
    """A new login. `actor` None means the system itself (the CLI, the demo seed)."""
    if actor is not None and not actor.has("identity:manage_users"):
        raise NotPermitted("Creating users needs the permission 'identity:manage_users'.")
    username = normalise_username(username)
    if not USERNAME_RE.match(username):
        raise Invalid(
            "The username must be 3-40 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter."
        )
    check_password_rules(password)
    display_name = display_name.strip()
    if not display_name or len(display_name) > 60:
        raise Invalid("The display name must have 1-60 characters.")
    role_list = list(dict.fromkeys(r.strip() for r in roles if r.strip()))
    if not role_list:
        raise Invalid("Give the user at least one role.")
    unknown = [r for r in role_list if r not in ROLE_PERMISSIONS]
    if unknown:
        raise Invalid(f"Unknown role(s): {', '.join(unknown)}. Known roles: {', '.join(ROLE_PERMISSIONS)}.")
    if department_id is not None and not repository.department_exists(session, department_id):
        raise Invalid(f"Department {department_id} does not exist.")
    # Department staff see only their department's work; without a department they would see everything.
    if set(role_list) & DEPARTMENT_ROLES and not set(role_list) & OVERSIGHT_ROLES and department_id is None:
        raise Invalid("Handling staff and field workers must belong to a department.")
    if staff_id is not None and not repository.staff_exists(session, staff_id):
        raise Invalid(f"Staff record {staff_id} does not exist.")
    codes = list(dict.fromkeys(c.strip() for c in area_codes if c.strip()))
    bad = [c for c in codes if not STREET_CODE_RE.match(c)]
    if bad:
        raise Invalid(f"Street codes have 9 digits: {', '.join(bad)}.")
    missing = sorted(set(codes) - repository.known_street_codes(session, codes))
    if missing:
        raise Invalid(f"Unknown street code(s): {', '.join(missing)}.")
    phone = phone.strip() if phone and phone.strip() else None
    if phone is not None and not re.fullmatch(r"[0-9+\- ]{5,20}", phone):
        raise Invalid("The phone number may contain only digits, spaces, '+' and '-'.")
    if repository.user_by_username(session, username) is not None:
        raise Conflict(f"The username {username!r} is already taken.")

    user = User(
        username=username,
        display_name=display_name,
        phone=phone,
        password_hash=security.hash_password(password),
        roles=role_list,
        department_id=department_id,
        staff_id=staff_id,
        area_codes=codes,
        is_active=True,
        failed_logins=0,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=_actor_name(actor),
        action="identity.create_user",
        entity_type="user",
        entity_id=user.id,
        after=_public(user),
        client_ip=client_ip,
    )
    return user


def _lockout_message(until: datetime, settings: Settings) -> str:
    local = until.astimezone(ZoneInfo(settings.timezone))
    return f"Too many failed logins: this account is locked until {local:%Y-%m-%d %H:%M}."


def authenticate(
    session: Session, username: str, password: str, client_ip: str | None, *, settings: Settings | None = None
) -> User:
    """The user whose password this is, or NotAuthenticated / TooManyAttempts.

    The failure bookkeeping (counter, lock, audit row) is flushed before raising: callers must let
    the transaction commit (render the error rather than propagate it), or the lock never takes hold.
    """
    settings = settings or get_settings()
    now = clock.now()
    user = repository.user_by_username(session, normalise_username(username))
    if user is None:
        # Spend the same time as a real check, so response time does not tell which usernames exist.
        security.verify_password(security.DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        log.info("login failed for unknown username %r from %s", username[:40], client_ip)
        raise NotAuthenticated(WRONG_CREDENTIALS)
    if user.locked_until is not None:
        if user.locked_until > now:
            raise TooManyAttempts(
                _lockout_message(user.locked_until, settings), unlock_at=user.locked_until.isoformat()
            )
        user.locked_until, user.failed_logins = None, 0  # the lock has run out: a fresh start
    ok = security.verify_password(user.password_hash, password[:MAX_PASSWORD_LENGTH])
    if not ok or not user.is_active:
        user.failed_logins = (user.failed_logins or 0) + 1
        locked = user.failed_logins >= settings.login_max_failures
        if locked:
            user.locked_until = now + timedelta(seconds=settings.login_lockout_s)
        audit.record(
            session,
            actor=user.username,
            action="identity.login_locked" if locked else "identity.login_failed",
            entity_type="user",
            entity_id=user.id,
            after={
                "failed_logins": user.failed_logins,
                "locked_until": user.locked_until.isoformat() if user.locked_until else None,
            },
            client_ip=client_ip,
        )
        if locked and user.locked_until is not None:
            raise TooManyAttempts(
                _lockout_message(user.locked_until, settings), unlock_at=user.locked_until.isoformat()
            )
        raise NotAuthenticated(WRONG_CREDENTIALS)
    user.failed_logins = 0
    user.last_login_at = now
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    audit.record(
        session,
        actor=user.username,
        action="identity.login",
        entity_type="user",
        entity_id=user.id,
        client_ip=client_ip,
    )
    return user


def start_session(
    session: Session,
    user: User,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
    settings: Settings | None = None,
) -> tuple[LoginSession, str]:
    """A browser session for a user who has just authenticated: (row, cookie token)."""
    settings = settings or get_settings()
    token = security.new_token()
    now = clock.now()
    row = LoginSession(
        user_id=user.id,
        token_digest=security.token_digest(token),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_s),
        client_ip=client_ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    return row, token


def end_session(session: Session, token: str, *, client_ip: str | None = None) -> None:
    """Log out: the cookie's session stops working even if the cookie is kept."""
    row = repository.session_by_digest(session, security.token_digest(token))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    user = repository.get_user(session, row.user_id)
    audit.record(
        session,
        actor=user.username if user else None,
        action="identity.logout",
        entity_type="login_session",
        entity_id=row.id,
        client_ip=client_ip,
    )


def user_for_session_token(session: Session, token: str) -> User | None:
    """The active user behind a live, unrevoked session token; None otherwise."""
    found = repository.session_with_user(session, security.token_digest(token))
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    return user if user.is_active else None


def user_for_api_token(session: Session, token: str) -> User | None:
    """The active user behind a live, unrevoked bearer token; None otherwise (notes the use)."""
    found = api_token_in_use(session, token)
    if found is None:
        return None
    user, row = found
    if token_use_is_stale(row):
        note_api_token_use(session, row.id)
    return user


def api_token_in_use(session: Session, token: str) -> tuple[User, ApiToken] | None:
    """(user, token row) for a live, unrevoked token of an active user; reads only."""
    found = repository.api_token_with_user(session, security.token_digest(token))
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or row.expires_at <= clock.now() or not user.is_active:
        return None
    return user, row


def token_use_is_stale(row: ApiToken) -> bool:
    return row.last_used_at is None or clock.now() - row.last_used_at > _LAST_USED_RESOLUTION


def note_api_token_use(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=clock.now()))


def issue_api_token(
    session: Session, actor: User, user: User, name: str, expires_days: int, *, client_ip: str | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token for `user`: (row, plaintext). The plaintext is not stored anywhere."""
    if actor.id != user.id and not actor.has("identity:manage_users"):
        raise NotPermitted("Only the user or an administrator may issue tokens for this user.")
    name = name.strip()
    if not name or len(name) > 80:
        raise Invalid("The token name must have 1-80 characters.")
    if not 1 <= expires_days <= 365:
        raise Invalid("A token lasts between 1 and 365 days.")
    plaintext = security.new_token(API_TOKEN_PREFIX)
    now = clock.now()
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plaintext[:10],
        token_digest=security.token_digest(plaintext),
        created_at=now,
        expires_at=now + timedelta(days=expires_days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="identity.issue_api_token",
        entity_type="api_token",
        entity_id=row.id,
        after={
            "user": user.username,
            "name": name,
            "prefix": row.prefix,
            "expires_at": row.expires_at.isoformat(),
        },
        client_ip=client_ip,
    )
    return row, plaintext


def revoke_api_token(
    session: Session, actor: User, token_id: int, *, client_ip: str | None = None
) -> ApiToken:
    row = repository.get_api_token(session, token_id)
    # Someone else's token is "not found": its existence is none of the caller's business.
    if row is None or (row.user_id != actor.id and not actor.has("identity:manage_users")):
        raise NotFound(f"No API token {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(
            session,
            actor=actor.username,
            action="identity.revoke_api_token",
            entity_type="api_token",
            entity_id=row.id,
            after={"name": row.name, "prefix": row.prefix},
            client_ip=client_ip,
        )
    return row
