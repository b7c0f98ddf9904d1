"""Evidence queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhili.evidence.models import EvidenceFile


def get_by_sha(session: Session, sha256: str) -> EvidenceFile | None:
    return session.scalars(select(EvidenceFile).where(EvidenceFile.sha256 == sha256)).one_or_none()
