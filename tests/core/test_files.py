"""The evidence file store: content addressing, limits, type checks by content, EXIF read and stripped."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from zhili.core.errors import Invalid, TooLarge
from zhili.core.files import CHUNK_BYTES, FileStore

MB = 1024 * 1024


def jpeg(size: tuple[int, int] = (64, 32), *, taken: str | None = None, offset: str | None = None,
         lat: tuple[float, float, float] | None = None, lat_ref: str = "N",
         lon: tuple[float, float, float] | None = None, lon_ref: str = "E", orientation: int = 1) -> bytes:
    """A JPEG made here, with the EXIF a phone would write."""
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue: orientation is visible
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestPhone"
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if offset:
        exif.get_ifd(0x8769)[0x9011] = offset
    if lat and lon:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2], gps[3], gps[4] = lat_ref, lat, lon_ref, lon
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, (1, 2, 3, 128)).save(buf, "PNG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" + b"\x00" * 64
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00\x00\x00\x08wide" + b"\x00" * 64


def stored_files(root: Path) -> list[Path]:
    """Every file in the store, temp files included (a refused upload must leave none)."""
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "evidence")


def test_file_is_stored_under_its_sha256(store: FileStore) -> None:
    data = jpeg()
    got = store.put(io.BytesIO(data), max_bytes=MB, filename="photo.jpg", content_type="image/jpeg")
    sha = hashlib.sha256(data).hexdigest()
    assert got.sha256 == sha and got.size == len(data)
    assert (got.mime, got.ext, got.width, got.height) == ("image/jpeg", "jpg", 64, 32)
    path = store.root / sha[:2] / sha[2:4] / sha
    assert store.path(sha) == path and path.read_bytes() == data


def test_same_content_twice_is_stored_once(store: FileStore) -> None:
    data = jpeg(taken="2026:11:20 14:30:05")
    first = store.put(io.BytesIO(data), max_bytes=MB, filename="a.jpg")
    files = stored_files(store.root)
    second = store.put(io.BytesIO(data), max_bytes=MB, filename="b.jpeg", content_type="image/jpeg")
    assert first == second
    assert stored_files(store.root) == files  # original + public copy, no temp file left behind
    assert len(files) == 2


def test_oversized_upload_is_refused_early_and_leaves_nothing(store: FileStore) -> None:
    class Endless(io.RawIOBase):
        """A JPEG-looking stream that never ends; counts what was read from it."""

        read_bytes = 0

        def read(self, n: int = -1) -> bytes:
            chunk = (b"\xff\xd8\xff\xe0" + b"\x00" * CHUNK_BYTES)[: n if n > 0 else CHUNK_BYTES]
            self.read_bytes += len(chunk)
            return chunk

    stream = Endless()
    with pytest.raises(TooLarge, match=r"upload limit of 1 MB \(1048576 bytes\)") as err:
        store.put(stream, max_bytes=MB, filename="big.jpg")
    assert err.value.status_code == 413
    assert stream.read_bytes <= MB + CHUNK_BYTES
    assert stored_files(store.root) == []


def test_file_exactly_at_the_limit_is_accepted(store: FileStore) -> None:
    data = PDF
    assert store.put(io.BytesIO(data), max_bytes=len(data), filename="x.pdf").size == len(data)
    with pytest.raises(TooLarge):
        store.put(io.BytesIO(data), max_bytes=len(data) - 1, filename="x.pdf")


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 200, "photo.jpg", "image/jpeg", r"application/x-msdownload.*'photo.jpg'"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "photo.jpg", "image/jpeg",
         "not a recognised file type"),
        (png(), "photo.jpg", None, r"named 'photo.jpg' but its content is a PNG image"),
        (jpeg(), "report.pdf", None, r"named 'report.pdf' but its content is a JPEG image"),
        (jpeg(), "photo.jpg", "application/pdf", r"declared as application/pdf but its content is a JPEG"),
        (jpeg(), "photo.exe", "image/jpeg", r"named 'photo.exe'"),
        (b"", "empty.jpg", "image/jpeg", "empty"),
    ],
)
def test_disguised_or_unknown_content_is_refused_naming_detected_and_declared(
    store: FileStore, data: bytes, filename: str, content_type: str | None, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        store.put(io.BytesIO(data), max_bytes=MB, filename=filename, content_type=content_type)
    assert stored_files(store.root) == []


def test_generic_or_missing_declarations_defer_to_the_content(store: FileStore) -> None:
    for name, ctype in ((None, None), ("blob", "application/octet-stream"), ("IMG_1.JPG", "image/jpg")):
        assert store.put(io.BytesIO(jpeg()), max_bytes=MB, filename=name, content_type=ctype).ext == "jpg"


def test_truncated_jpeg_is_refused(store: FileStore) -> None:
    data = jpeg((300, 200))
    with pytest.raises(Invalid, match="damaged or truncated"):
        store.put(io.BytesIO(data[: len(data) // 2]), max_bytes=MB, filename="cut.jpg")
    assert stored_files(store.root) == []


def test_corrupt_png_is_refused(store: FileStore) -> None:
    data = bytearray(png())
    data[40:60] = b"\x00" * 20  # breaks a chunk CRC
    with pytest.raises(Invalid, match="PNG image is damaged"):
        store.put(io.BytesIO(bytes(data)), max_bytes=MB, filename="bad.png")


def test_exif_time_is_shanghai_local_and_gps_is_decimal_wgs84(store: FileStore) -> None:
    data = jpeg(taken="2026:11:20 14:30:05", lat=(23.0, 10.0, 30.0), lon=(113.0, 16.0, 12.0))
    got = store.put(io.BytesIO(data), max_bytes=MB, filename="p.jpg")
    assert got.taken_at == datetime(2026, 11, 20, 6, 30, 5, tzinfo=UTC)
    assert got.gps_lat == pytest.approx(23.175) and got.gps_lon == pytest.approx(113.27)


def test_southern_and_western_refs_are_negative_and_an_explicit_offset_wins(store: FileStore) -> None:
    data = jpeg(taken="2026:01:02 08:00:00", offset="+09:00", lat=(33.0, 52.0, 0.0), lat_ref="S",
                lon=(70.0, 30.0, 0.0), lon_ref="W")
    got = store.put(io.BytesIO(data), max_bytes=MB, filename="p.jpg")
    assert got.taken_at == datetime(2026, 1, 1, 23, 0, 0, tzinfo=UTC)
    assert (got.gps_lon, got.gps_lat) == (pytest.approx(-70.5), pytest.approx(-33.8666667))


def test_photo_without_exif_has_no_time_or_place(store: FileStore) -> None:
    got = store.put(io.BytesIO(png()), max_bytes=MB, filename="p.png")
    assert (got.taken_at, got.gps_lon, got.gps_lat) == (None, None, None)
    assert (got.width, got.height) == (40, 30)


def test_public_copy_has_no_exif_and_the_same_displayed_size(store: FileStore) -> None:
    data = jpeg((64, 32), taken="2026:11:20 14:30:05", lat=(23.0, 10.0, 30.0), lon=(113.0, 16.0, 12.0),
                orientation=6)
    got = store.put(io.BytesIO(data), max_bytes=MB, filename="p.jpg")
    assert got.public_sha256 and got.public_sha256 != got.sha256
    assert (got.width, got.height) == (32, 64)  # orientation 6: shown rotated
    with Image.open(store.path(got.public_sha256)) as public:
        assert public.format == "JPEG"
        assert dict(public.getexif()) == {}
        assert "exif" not in public.info and "xmp" not in public.info
        assert public.size == (32, 64)
    with Image.open(store.path(got.sha256)) as original:  # the original keeps its EXIF
        assert original.getexif().get_ifd(0x8825)
    copy = store.public_copy(got.sha256)
    assert copy is not None and copy.sha256 == got.public_sha256
    assert (copy.taken_at, copy.gps_lon) == (None, None)


def test_public_copy_of_a_png_stays_png(store: FileStore) -> None:
    got = store.put(io.BytesIO(png()), max_bytes=MB, filename="p.png")
    with Image.open(store.path(got.public_sha256 or "")) as public:
        assert (public.format, public.size, public.mode) == ("PNG", (40, 30), "RGBA")


@pytest.mark.parametrize(
    ("data", "filename", "mime"),
    [(PDF, "scan.pdf", "application/pdf"), (MP4, "clip.mp4", "video/mp4"),
     (MOV, "IMG_0001.MOV", "video/quicktime"), (MOV, "clip.mp4", "video/quicktime")],
)
def test_pdf_and_video_are_their_own_public_copy(store: FileStore, data: bytes, filename: str,
                                                 mime: str) -> None:
    got = store.put(io.BytesIO(data), max_bytes=MB, filename=filename)
    assert got.mime == mime and got.public_sha256 == got.sha256
    assert (got.width, got.taken_at) == (None, None)
    copy = store.public_copy(got.sha256)
    assert copy is not None and copy.sha256 == got.sha256


def test_truncated_pdf_is_refused(store: FileStore) -> None:
    with pytest.raises(Invalid, match="PDF document is truncated"):
        store.put(io.BytesIO(PDF[:30]), max_bytes=MB, filename="scan.pdf")
    assert stored_files(store.root) == []


def test_a_path_is_only_made_from_a_sha256(store: FileStore) -> None:
    with pytest.raises(Invalid, match="not a SHA-256"):
        store.path("../../etc/passwd")
