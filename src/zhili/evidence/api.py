"""Evidence JSON API: upload a file, read its metadata, fetch its (EXIF-free) content."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from zhili.core.errors import NotPermitted, TooLarge
from zhili.core.unit_of_work import get_session
from zhili.core.web import client_ip
from zhili.evidence import service
from zhili.evidence.models import EvidenceFile
from zhili.evidence.schemas import EvidenceRead
from zhili.identity.deps import CurrentUser
from zhili.identity.models import User
from zhili.identity.permissions import ALL_PERMISSIONS

DbSession = Annotated[Session, Depends(get_session, scope="function")]
Sha256 = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content (hex)")]

# Whoever reports, handles or does work may attach evidence (citizens included, via cases:report).
UPLOAD_PERMISSIONS = ("cases:report", "cases:handle", "workorders:do", "assets:manage")
# Content addressing makes a file's bytes immutable; `private` keeps shared caches from serving
# an authenticated response to others.
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Room for the multipart envelope (boundaries, part headers, a CSRF field) around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def require_any(*perms: str) -> Callable[..., User]:
    """A dependency yielding the current user if they hold at least one of the permissions named.

    identity.deps.require() needs every permission; uploading needs any one of several.
    """
    unknown = [p for p in perms if p not in ALL_PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown permission(s) {unknown}: add them to zhili.identity.permissions")

    def _guard(user: CurrentUser) -> User:
        if not any(user.has(p) for p in perms):
            names = ", ".join(f"'{p}'" for p in perms)
            raise NotPermitted(f"This needs one of the permissions {names}.", missing=list(perms))
        return user

    return _guard


class UploadLimitRoute(APIRoute):
    """Refuses a body whose declared length is over the upload limit before any of it is read.

    Starlette would otherwise spool the whole multipart body to disk first; FileStore still checks
    the file itself (chunked uploads carry no Content-Length).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = request.app.state.settings.max_upload_bytes
            declared = request.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD_BYTES:
                raise TooLarge(
                    f"The upload ({int(declared) / 1048576:.3g} MB) is larger than the upload limit of "
                    f"{limit / 1048576:.3g} MB ({limit} bytes).",
                    limit_bytes=limit,
                )
            return await handler(request)

        return limited


router = APIRouter(prefix="/files", tags=["evidence"], route_class=UploadLimitRoute)
Uploader = Annotated[User, Depends(require_any(*UPLOAD_PERMISSIONS))]


def _read(request: Request, user: User, evidence: EvidenceFile) -> EvidenceRead:
    url = request.app.url_path_for("evidence_content", sha256=evidence.sha256)
    return EvidenceRead.model_validate({**service.describe(user, evidence), "content_url": str(url)})


@router.post("", response_model=EvidenceRead, status_code=201)
def upload_evidence(request: Request, session: DbSession, user: Uploader,
                    file: Annotated[UploadFile, File(description="a JPEG/PNG/WebP/HEIC photo, "
                                                                 "MP4/MOV video or PDF")]) -> EvidenceRead:
    """Store a photo, video or PDF; the same content again returns the same record (201 both times)."""
    evidence = service.store_evidence(session, user, file.file, file.filename, file.content_type,
                                      request.app.state.settings, client_ip=client_ip(request))
    return _read(request, user, evidence)


@router.get("/{sha256}", response_model=EvidenceRead)
def get_evidence(sha256: Sha256, request: Request, session: DbSession, user: CurrentUser) -> EvidenceRead:
    return _read(request, user, service.get_evidence(session, sha256))


@router.get("/{sha256}/content", response_class=FileResponse, name="evidence_content",
            responses={200: {"description": "the file's bytes"}})
def get_evidence_content(
    sha256: Sha256, request: Request, session: DbSession, user: CurrentUser,
    original: Annotated[bool, Query(description="the original with EXIF (needs 'cases:read')")] = False,
) -> FileResponse:
    """The EXIF-free public copy (photos re-encoded, orientation applied), or the original for case staff."""
    path, mime = service.content_for(session, user, sha256, request.app.state.settings, original=original)
    return FileResponse(path, media_type=mime,
                        headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"})
