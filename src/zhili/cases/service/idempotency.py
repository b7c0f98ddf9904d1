"""Idempotency keys: a client's retry with the same key and body gets the first answer, and nothing changes.

The key row is written in the same transaction as the change it answers for, so either both exist
or neither. A concurrent duplicate blocks on the unique (user, key) index until the first commits and
then fails as a conflict; a later retry is answered from the stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.models import CaseIdempotencyKey
from zhili.core import clock
from zhili.core.errors import Conflict, Invalid

MAX_KEY_LENGTH = 100


def request_hash(method: str, path: str, body: Any) -> str:
    text = json.dumps(
        [method.upper(), path, body], sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def run_once(
    session: Session,
    user_id: int,
    key: str | None,
    fingerprint: str,
    produce: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """(status, body, replayed): produce the answer once per (user, key); replay it afterwards."""
    if key is None:
        status, body = produce()
        return status, body, False
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable characters.")
    found = repository.idempotency_key(session, user_id, key)
    if found is not None:
        if found.request_hash != fingerprint:
            raise Invalid("This Idempotency-Key was already used for a different request; use a new key.")
        return found.status_code, found.response, True
    status, body = produce()
    try:
        with session.begin_nested():
            session.add(
                CaseIdempotencyKey(
                    user_id=user_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status,
                    response=json.loads(json.dumps(body, default=str)),
                    created_at=clock.now(),
                )
            )
    except IntegrityError as exc:
        raise Conflict("A request with this Idempotency-Key is being processed; retry in a moment.") from exc
    return status, body, False


def purge_old_keys(session: Session, *, keep_days: int) -> int:
    return repository.purge_idempotency_keys(session, clock.now() - timedelta(days=keep_days))
