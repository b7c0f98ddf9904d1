"""Evidence use cases: store an upload (idempotent per content), describe it, find the bytes to serve."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhili.core import audit, clock
from zhili.core.errors import NotFound, NotPermitted
from zhili.core.files import FileStore, public_mime
from zhili.core.settings import Settings
from zhili.evidence import repository
from zhili.evidence.models import EvidenceFile

if TYPE_CHECKING:
    from zhili.identity.models import User

# Who sees an evidence file's time, place and original: the staff who read cases (and the uploader).
ORIGINAL_PERMISSION = "cases:read"


def file_store(settings: Settings) -> FileStore:
    return FileStore(settings.evidence_dir, local_tz=settings.timezone)


def _clean_name(filename: str | None) -> str | None:
    """The file's own name without any client path, control characters or excess length."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or None


def store_evidence(session: Session, user: User | None, fileobj: IO[bytes], filename: str | None,
                   content_type: str | None, settings: Settings, *,
                   client_ip: str | None = None) -> EvidenceFile:
    """Check and store an upload; the same content again returns the row already registered.

    Bad input (too large, a disguised or damaged file) raises before anything is written.
    """
    stored = file_store(settings).put(fileobj, max_bytes=settings.max_upload_bytes, filename=filename,
                                      content_type=content_type)
    existing = repository.get_by_sha(session, stored.sha256)
    if existing is not None:
        return existing
    evidence = EvidenceFile(
        sha256=stored.sha256, public_sha256=stored.public_sha256, mime=stored.mime, size_bytes=stored.size,
        width=stored.width, height=stored.height, taken_at=stored.taken_at, gps_lon=stored.gps_lon,
        gps_lat=stored.gps_lat, original_name=_clean_name(filename),
        uploaded_by_user_id=user.id if user is not None else None, uploaded_at=clock.now(),
    )
    try:
        with session.begin_nested():  # a concurrent upload of the same content may win the insert
            session.add(evidence)
    except IntegrityError:
        winner = repository.get_by_sha(session, stored.sha256)
        if winner is None:
            raise
        return winner
    audit.record(session, actor=user.username if user is not None else None, action="evidence.upload",
                 entity_type="evidence_file", entity_id=stored.sha256,
                 after={"mime": stored.mime, "size_bytes": stored.size,
                        "original_name": evidence.original_name},
                 client_ip=client_ip)
    return evidence


def get_evidence(session: Session, sha256: str) -> EvidenceFile:
    found = repository.get_by_sha(session, sha256)
    if found is None:
        raise NotFound(f"No evidence file with SHA-256 {sha256}.")
    return found


def may_see_original(user: User, evidence: EvidenceFile) -> bool:
    return user.has(ORIGINAL_PERMISSION) or (
        evidence.uploaded_by_user_id is not None and evidence.uploaded_by_user_id == user.id
    )


def content_for(session: Session, user: User, sha256: str, settings: Settings, *,
                original: bool = False) -> tuple[Path, str]:
    """(path, Content-Type) of the bytes to serve: the EXIF-free copy, or the original for case staff."""
    evidence = get_evidence(session, sha256)
    store = file_store(settings)
    if original:
        if not user.has(ORIGINAL_PERMISSION):
            raise NotPermitted(
                f"The original file (with its EXIF time and location) needs the permission "
                f"'{ORIGINAL_PERMISSION}'; the public copy is served without ?original=1.",
                missing=[ORIGINAL_PERMISSION],
            )
        sha, mime = evidence.sha256, evidence.mime
    else:
        if evidence.public_sha256 is None:
            raise NotFound(f"Evidence file {sha256} has no public copy (the server cannot re-encode "
                           f"{evidence.mime}); case staff may fetch the original.")
        sha, mime = evidence.public_sha256, public_mime(evidence.mime)
    path = store.path(sha)
    if not path.is_file():
        raise NotFound(f"The content of evidence file {sha256} is missing from the store.")
    return path, mime


# What the public copy's EXIF stripping hides; shown only to those who may see the original.
PRIVATE_FIELDS = ("taken_at", "gps_lon", "gps_lat", "original_name", "uploaded_by_user_id")
_FIELDS = ("sha256", "public_sha256", "mime", "size_bytes", "width", "height", "uploaded_at", *PRIVATE_FIELDS)


def describe(user: User, evidence: EvidenceFile) -> dict[str, object]:
    """The metadata this user may read (private fields None for those who may not see the original)."""
    shown = may_see_original(user, evidence)
    return {f: getattr(evidence, f) if shown or f not in PRIVATE_FIELDS else None for f in _FIELDS}
