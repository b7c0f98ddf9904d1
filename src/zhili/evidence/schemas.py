"""Evidence schemas, named by purpose."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EvidenceRead(BaseModel):
    """An evidence file's metadata. Time, place, name and uploader are shown only to case staff and
    the uploader (they are what the public copy's EXIF stripping hides); others see them as null."""

    model_config = ConfigDict(from_attributes=True)

    sha256: str
    public_sha256: str | None = Field(description="the EXIF-free copy served by default")
    mime: str
    size_bytes: int
    width: int | None
    height: int | None
    taken_at: datetime | None = Field(description="EXIF DateTimeOriginal, UTC")
    gps_lon: float | None = Field(description="EXIF GPS longitude, WGS-84")
    gps_lat: float | None = Field(description="EXIF GPS latitude, WGS-84")
    original_name: str | None
    uploaded_by_user_id: int | None
    uploaded_at: datetime
    content_url: str = Field(description="the public copy; add ?original=1 for the original (case staff)")
