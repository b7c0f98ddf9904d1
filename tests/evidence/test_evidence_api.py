"""Evidence over HTTP: upload, idempotence, refusals as problem details, EXIF-free content."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import bearer_for
from tests.core.test_files import jpeg
from zhili.core.audit import AuditEntry

URL = "/api/v1/files"
PHOTO = jpeg((80, 60), taken="2026:11:20 14:30:05", lat=(23.0, 10.0, 30.0), lon=(113.0, 16.0, 12.0))


def upload(client, headers: dict[str, str], data: bytes = PHOTO, name: str = "IMG_0001.jpg",
           ctype: str = "image/jpeg"):
    return client.post(URL, files={"file": (name, data, ctype)}, headers=headers)


def evidence_files(app) -> set[Path]:
    root = app.state.settings.evidence_dir
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.fixture
def inspector(db) -> dict[str, str]:
    return bearer_for(db, "inspector")


def test_inspector_uploads_a_photo_and_gets_its_metadata(client, inspector, session) -> None:
    resp = upload(client, inspector)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    assert (body["mime"], body["size_bytes"]) == ("image/jpeg", len(PHOTO))
    assert (body["width"], body["height"]) == (80, 60)
    assert body["taken_at"].startswith("2026-11-20T06:30:05")
    assert body["gps_lat"] == pytest.approx(23.175) and body["gps_lon"] == pytest.approx(113.27)
    assert body["original_name"] == "IMG_0001.jpg"
    assert body["public_sha256"] and body["public_sha256"] != body["sha256"]
    assert body["content_url"] == f"{URL}/{body['sha256']}/content"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == body["sha256"])).all()
    assert [a.action for a in audit] == ["evidence.upload"] and audit[0].actor == "inspector"


def test_same_upload_twice_returns_the_same_record(client, inspector, admin_headers) -> None:
    data = jpeg((33, 33))
    first = upload(client, inspector, data)
    second = upload(client, admin_headers, data, name="copy.jpeg")
    assert first.status_code == second.status_code == 201
    assert second.json()["sha256"] == first.json()["sha256"]
    assert second.json()["uploaded_at"] == first.json()["uploaded_at"]


def test_citizen_and_field_worker_may_upload(client, db) -> None:
    for role in ("citizen", "field_worker", "handler"):
        assert upload(client, bearer_for(db, role), jpeg((10, 10 + len(role)))).status_code == 201, role


def test_oversized_upload_is_413_with_the_limit_named_and_nothing_written(client, app, inspector) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 2000})
    before = evidence_files(app)
    big = jpeg((400, 300))
    assert 2000 < len(big) < 2000 + 64 * 1024  # passes the Content-Length gate, refused while streaming
    resp = upload(client, inspector, big)
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "limit of 0.00191 MB (2000 bytes)" in resp.json()["detail"]
    huge = upload(client, inspector, b"\xff\xd8\xff\xe0" + b"\x00" * 200_000)  # refused before reading
    assert huge.status_code == 413 and huge.json()["detail"].startswith("The upload (0.191 MB)")
    assert evidence_files(app) == before


def test_text_file_renamed_to_jpg_is_422_and_nothing_written(client, app, inspector) -> None:
    before = evidence_files(app)
    resp = upload(client, inspector, "巡查记录：井盖缺失\n".encode() * 20, name="photo.jpg")
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["status"] == 422 and "not a recognised file type" in problem["detail"]
    assert "'photo.jpg' / image/jpeg" in problem["detail"]
    assert evidence_files(app) == before


def test_png_declared_as_jpeg_is_422_naming_both(client, inspector) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    resp = upload(client, inspector, buf.getvalue(), name="x.png", ctype="image/jpeg")
    assert resp.status_code == 422
    assert "declared as image/jpeg but its content is a PNG image" in resp.json()["detail"]


def test_upload_without_login_is_401(client) -> None:
    resp = upload(client, {})
    assert resp.status_code == 401
    assert resp.json()["status"] == 401


@pytest.mark.parametrize("role", ["leader", "finance_officer"])
def test_roles_that_neither_report_nor_work_may_not_upload(client, db, role) -> None:
    resp = upload(client, bearer_for(db, role))
    assert resp.status_code == 403
    assert "'cases:report'" in resp.json()["detail"]


def test_content_is_the_exif_free_copy_with_immutable_caching(client, inspector, db) -> None:
    sha = upload(client, inspector).json()["sha256"]
    resp = client.get(f"{URL}/{sha}/content", headers=bearer_for(db, "citizen"))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "image/jpeg"
    cache = resp.headers["cache-control"]
    assert "immutable" in cache and "max-age=31536000" in cache
    with Image.open(io.BytesIO(resp.content)) as img:
        assert dict(img.getexif()) == {} and img.size == (80, 60)
    assert resp.content != PHOTO


def test_original_only_for_case_staff(client, inspector, db, admin_headers) -> None:
    sha = upload(client, inspector).json()["sha256"]
    original = client.get(f"{URL}/{sha}/content", params={"original": 1}, headers=admin_headers)
    assert original.status_code == 200 and original.content == PHOTO
    refused = client.get(f"{URL}/{sha}/content", params={"original": 1}, headers=bearer_for(db, "citizen"))
    assert refused.status_code == 403 and "cases:read" in refused.json()["detail"]


def test_metadata_hides_time_and_place_from_those_who_may_not_see_the_original(client, inspector, db) -> None:
    sha = upload(client, inspector).json()["sha256"]
    staff = client.get(f"{URL}/{sha}", headers=bearer_for(db, "operator")).json()
    assert staff["gps_lat"] == pytest.approx(23.175) and staff["original_name"] == "IMG_0001.jpg"
    citizen = client.get(f"{URL}/{sha}", headers=bearer_for(db, "citizen"))
    assert citizen.status_code == 200
    body = citizen.json()
    assert (body["gps_lat"], body["gps_lon"], body["taken_at"], body["original_name"]) == (None,) * 4
    assert body["mime"] == "image/jpeg"


def test_unknown_file_is_404_and_a_malformed_hash_422(client, admin_headers) -> None:
    assert client.get(f"{URL}/{'0' * 64}", headers=admin_headers).status_code == 404
    assert client.get(f"{URL}/{'0' * 64}/content", headers=admin_headers).status_code == 404
    assert client.get(f"{URL}/not-a-hash", headers=admin_headers).status_code == 422
