"""The evidence file register: one row per distinct content, the bytes live in core.files.FileStore."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhili.core.db import Base, UTCDateTime


class EvidenceFile(Base):
    """An uploaded photo, video or PDF (证据材料), addressed by the SHA-256 of its content."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The EXIF-free copy shown to anyone but case staff; equal to sha256 for PDFs and videos, None
    # when the server cannot re-encode the image (HEIC without a decoder).
    public_sha256: Mapped[str | None] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(60))  # detected from the content, never from the name
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)  # as displayed (EXIF orientation applied)
    height: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # EXIF DateTimeOriginal
    gps_lon: Mapped[float | None] = mapped_column(Float)  # EXIF GPS, WGS-84
    gps_lat: Mapped[float | None] = mapped_column(Float)
    original_name: Mapped[str | None] = mapped_column(String(200))  # as uploaded (first uploader's)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
