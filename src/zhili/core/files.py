"""Evidence file storage: content-addressed, size-limited, type checked by content, EXIF read and stripped."""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import filetype
from PIL import Image, ImageOps

from zhili.core.errors import Invalid, TooLarge

try:  # HEIC decoding is optional: without pillow-heif a HEIC photo is kept but has no public copy.
    import pillow_heif  # type: ignore[import-not-found]

    pillow_heif.register_heif_opener()
    HEIC_DECODER = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIC_DECODER = False

CHUNK_BYTES = 64 * 1024
SIGNATURE_BYTES = 8192  # what filetype looks at
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
# Declared types that say nothing (browsers and HTTP tools send these for "don't know").
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _DATETIME, _ORIENTATION = 0x9003, 0x9011, 0x0132, 0x0112


@dataclass(frozen=True)
class Kind:
    """One allowed file type: what the content is, and which names and declared types agree with it."""

    mime: str
    ext: str
    label: str
    extensions: frozenset[str]
    mimes: frozenset[str]
    pil_format: str | None = None  # Pillow's format name for images; None for PDF and video

    @property
    def is_image(self) -> bool:
        return self.pil_format is not None


def _kind(mime: str, ext: str, label: str, exts: str, mimes: str, pil: str | None = None) -> Kind:
    return Kind(mime, ext, label, frozenset(exts.split()), frozenset(mimes.split()), pil)


# MP4 and QuickTime are both ISO base-media containers and phones name them loosely, so either
# declaration is accepted for either content; every other mismatch is refused.
_VIDEO_NAMES = "mp4 m4v mov qt"
_VIDEO_TYPES = "video/mp4 application/mp4 video/quicktime"
ALLOWED: dict[str, Kind] = {
    k.mime: k
    for k in (
        _kind("image/jpeg", "jpg", "JPEG image", "jpg jpeg jpe jfif", "image/jpeg image/jpg image/pjpeg",
              "JPEG"),
        _kind("image/png", "png", "PNG image", "png", "image/png image/x-png", "PNG"),
        _kind("image/webp", "webp", "WebP image", "webp", "image/webp", "WEBP"),
        _kind("image/heic", "heic", "HEIC image", "heic heif", "image/heic image/heif", "HEIF"),
        _kind("video/mp4", "mp4", "MP4 video", _VIDEO_NAMES, _VIDEO_TYPES),
        _kind("video/quicktime", "mov", "QuickTime video", _VIDEO_NAMES, _VIDEO_TYPES),
        _kind("application/pdf", "pdf", "PDF document", "pdf", "application/pdf application/x-pdf"),
    )
}
ALLOWED_SUMMARY = "JPEG, PNG, WebP or HEIC photos, MP4 or MOV videos, PDF documents"


@dataclass(frozen=True)
class StoredFile:
    """What the store knows about one stored file. Coordinates are WGS-84; taken_at is aware UTC."""

    sha256: str
    size: int
    mime: str
    ext: str
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    gps_lon: float | None = None
    gps_lat: float | None = None
    public_sha256: str | None = None  # the EXIF-free copy; the original itself for PDFs and videos


def public_mime(mime: str) -> str:
    """The type of a file's public copy: HEIC photos are re-encoded as JPEG, the rest keep their type."""
    return "image/jpeg" if mime == "image/heic" else mime


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def _describe_declared(filename: str | None, content_type: str | None) -> str:
    parts = [repr(filename)] if filename else []
    if content_type:
        parts.append(content_type)
    return " / ".join(parts) if parts else "nothing"


def _base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _extension(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""


def detect(head: bytes, *, filename: str | None = None, content_type: str | None = None) -> Kind:
    """The allowed kind the content is, checked against what the name and Content-Type declare.

    Raises Invalid naming what was detected and what was declared.
    """
    declared = _describe_declared(filename, content_type)
    if not head:
        raise Invalid(f"The file is empty (declared {declared}).")
    guess = filetype.guess(head)
    if guess is None:
        raise Invalid(
            f"The content is not a recognised file type (declared {declared}); allowed: {ALLOWED_SUMMARY}."
        )
    kind = ALLOWED.get(guess.mime)
    if kind is None:
        raise Invalid(
            f"The content is {guess.mime} (.{guess.extension}), declared {declared}; "
            f"this type is not accepted. Allowed: {ALLOWED_SUMMARY}."
        )
    ext = _extension(filename)
    if ext and ext not in kind.extensions:
        raise Invalid(
            f"The file is named {filename!r} but its content is a {kind.label} ({kind.mime}); "
            "the name and the content must agree."
        )
    declared_type = _base_type(content_type)
    if declared_type not in _GENERIC_TYPES and declared_type not in kind.mimes:
        raise Invalid(
            f"The upload was declared as {declared_type} but its content is a {kind.label} ({kind.mime})."
        )
    return kind


def _exif_local_time(exif: Image.Exif, default_tz: tzinfo) -> datetime | None:
    """DateTimeOriginal (a naive local time) as aware UTC; the photo's own offset wins if it has one."""
    sub = exif.get_ifd(_EXIF_IFD)
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if not isinstance(raw, str):
        return None
    text = raw.strip("\x00 ")[:19]
    zone: tzinfo = default_tz
    offset = sub.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str) and (m := re.fullmatch(r"([+-])(\d\d):(\d\d)", offset.strip("\x00 "))):
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        zone = timezone(timedelta(minutes=minutes if m.group(1) == "+" else -minutes))
    try:
        local = datetime.strptime(text, "%Y:%m:%d %H:%M:%S").replace(tzinfo=zone)
    except ValueError:  # "0000:00:00 00:00:00" and other placeholders cameras write
        return None
    return local.astimezone(UTC)


def _gps_degrees(value: Any, ref: Any) -> float | None:
    try:
        parts = [float(v) for v in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) for p in parts):
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if isinstance(ref, str) and ref.strip("\x00 ").upper() in ("S", "W"):
        degrees = -degrees
    return round(degrees, 7)


def _exif_gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    """(lon, lat) in WGS-84 decimal degrees (what GPS receivers record), or (None, None)."""
    gps = exif.get_ifd(_GPS_IFD)
    if 2 not in gps or 4 not in gps:
        return None, None
    lat, lon = _gps_degrees(gps[2], gps.get(1)), _gps_degrees(gps[4], gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat, lon) == (0, 0):
        return None, None  # 0,0 is what cameras write when they had no fix
    return lon, lat


def _stripped(img: Image.Image, kind: Kind) -> bytes:
    """Pixels only: orientation applied, then a fresh image (no EXIF, XMP or comments) re-encoded."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA" if img.mode == "PA" or "transparency" in img.info else "RGB")
    fresh = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    if kind.pil_format == "PNG":
        fresh.save(out, "PNG")
    elif kind.pil_format == "WEBP":
        fresh.save(out, "WEBP", quality=90)
    else:  # JPEG, and HEIC re-encoded as JPEG so every browser can show it
        if fresh.mode not in ("L", "RGB", "CMYK"):
            fresh = fresh.convert("RGB")
        fresh.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass(frozen=True)
class _Examined:
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    gps_lon: float | None = None
    gps_lat: float | None = None
    public_bytes: bytes | None = None  # None: the original is public (PDF, video) or cannot be stripped


class FileStore:
    """Files on disk under root/ab/cd/<sha256>; written atomically, so a reader never sees half a file."""

    def __init__(self, root: Path, *, local_tz: str = "Asia/Shanghai") -> None:
        self.root = Path(root)
        self.local_tz = ZoneInfo(local_tz)

    # -- reading -----------------------------------------------------------------------------------

    def path(self, sha256: str) -> Path:
        if not _SHA_RE.fullmatch(sha256):
            raise Invalid(f"{sha256!r} is not a SHA-256 hex digest (64 lowercase hex characters).")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> IO[bytes]:
        return self.path(sha256).open("rb")

    # -- writing -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _temp(self) -> Iterator[tuple[IO[bytes], Path]]:
        """A temp file next to the store (same file system, so os.replace is atomic), removed on error."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out, tmp
        finally:
            tmp.unlink(missing_ok=True)  # already moved into place on success

    def _commit(self, tmp: Path, sha256: str) -> None:
        final = self.path(sha256)
        if final.exists():  # same content already stored: nothing to do
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        with contextlib.suppress(OSError):  # make the rename durable where the platform allows it
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def _write_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):
            return sha
        with self._temp() as (out, tmp):
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            out.close()
            self._commit(tmp, sha)
        return sha

    def put(self, fileobj: IO[bytes], *, max_bytes: int, filename: str | None = None,
            content_type: str | None = None) -> StoredFile:
        """Stream an upload in, check it, store it and its public copy; the same content twice is a no-op.

        Refusals (TooLarge, Invalid) leave nothing behind: the temp file is removed, and the type is
        refused as soon as the first bytes are read.
        """
        digest = hashlib.sha256()
        size = 0
        head = b""
        kind: Kind | None = None
        with self._temp() as (out, tmp):
            while chunk := fileobj.read(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        f"The file is larger than the upload limit of {_mb(max_bytes)} ({max_bytes} bytes).",
                        limit_bytes=max_bytes,
                    )
                if kind is None and len(head) < SIGNATURE_BYTES:
                    head += chunk[: SIGNATURE_BYTES - len(head)]
                    if len(head) >= SIGNATURE_BYTES:
                        kind = detect(head, filename=filename, content_type=content_type)
                digest.update(chunk)
                out.write(chunk)
            if kind is None:
                kind = detect(head, filename=filename, content_type=content_type)
            out.flush()
            os.fsync(out.fileno())
            out.close()
            examined = self._examine(tmp, kind)
            sha = digest.hexdigest()
            self._commit(tmp, sha)
        public_sha: str | None = sha
        if kind.is_image:
            public_sha = self._write_bytes(examined.public_bytes) if examined.public_bytes else None
        return StoredFile(sha256=sha, size=size, mime=kind.mime, ext=kind.ext, width=examined.width,
                          height=examined.height, taken_at=examined.taken_at, gps_lon=examined.gps_lon,
                          gps_lat=examined.gps_lat, public_sha256=public_sha)

    def public_copy(self, sha256: str) -> StoredFile | None:
        """The EXIF-free copy of a stored file (written if missing); the original for PDFs and videos.

        None when the server cannot decode the image (HEIC without pillow-heif).
        """
        path = self.path(sha256)
        if not path.is_file():
            raise FileNotFoundError(path)
        with path.open("rb") as fh:
            kind = detect(fh.read(SIGNATURE_BYTES))
        if not kind.is_image:
            return StoredFile(sha256=sha256, size=path.stat().st_size, mime=kind.mime, ext=kind.ext,
                              public_sha256=sha256)
        examined = self._examine(path, kind)
        if examined.public_bytes is None:
            return None
        public_sha = self._write_bytes(examined.public_bytes)
        public_kind = ALLOWED[public_mime(kind.mime)]
        return StoredFile(sha256=public_sha, size=len(examined.public_bytes), mime=public_kind.mime,
                          ext=public_kind.ext, width=examined.width, height=examined.height,
                          public_sha256=public_sha)

    # -- checking ----------------------------------------------------------------------------------

    def _examine(self, path: Path, kind: Kind) -> _Examined:
        """Decode an image fully (a truncated or corrupt one is refused); read EXIF; make the public copy."""
        if kind.pil_format is None:
            if kind.mime == "application/pdf":
                _check_pdf(path)
            return _Examined()
        if kind.pil_format == "HEIF" and not HEIC_DECODER:
            return _Examined()
        try:
            with Image.open(path, formats=[kind.pil_format]) as img:
                width, height = img.size
                if width * height > (Image.MAX_IMAGE_PIXELS or math.inf):
                    raise Invalid(f"The image is {width}×{height} pixels; the limit is "
                                  f"{(Image.MAX_IMAGE_PIXELS or 0) // 1_000_000} megapixels.")
                img.verify()
            with Image.open(path, formats=[kind.pil_format]) as img:
                img.load()  # verify() does not decode pixels; a truncated JPEG fails only here
                exif = img.getexif()
                taken_at = _exif_local_time(exif, self.local_tz)
                lon, lat = _exif_gps(exif)
                if exif.get(_ORIENTATION) in (5, 6, 7, 8):
                    width, height = height, width
                public = _stripped(img, kind)
        except Invalid:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            raise Invalid(f"The {kind.label} is damaged or truncated and cannot be read ({exc}).") from exc
        return _Examined(width, height, taken_at, lon, lat, public)


def _check_pdf(path: Path) -> None:
    """A PDF ends with %%EOF within its last 1024 bytes (ISO 32000); a cut-off upload does not."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 1024))
        if b"%%EOF" not in fh.read():
            raise Invalid("The PDF document is truncated (no %%EOF marker at its end).")
