"""Domain exceptions that carry their HTTP meaning; rendered in one place (see core.web)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class DomainError(Exception):
    """Base of every error a user may cause. `detail` is shown to the user: say what is wrong."""

    status_code = 400
    title = "Bad request"
    code = "bad_request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 problem details."""
        body: dict[str, Any] = {
            "type": f"https://zhili.invalid/problems/{self.code}",
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class Invalid(DomainError):
    status_code = 422
    title = "Invalid input"
    code = "invalid"


def invalid_from(exc: ValidationError) -> Invalid:
    """A pydantic error as the 422 a person can read: which field, what is wrong."""
    errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()]
    summary = "; ".join(f"{'.'.join(e['loc']) or 'form'}: {e['msg']}" for e in errors[:4])
    return Invalid(f"Invalid input: {summary}", errors=errors)


class NotAuthenticated(DomainError):
    status_code = 401
    title = "Not logged in"
    code = "not_authenticated"


class NotPermitted(DomainError):
    status_code = 403
    title = "Not permitted"
    code = "not_permitted"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"
    code = "conflict"


class TooLarge(DomainError):
    status_code = 413
    title = "Too large"
    code = "too_large"


class TooManyAttempts(DomainError):
    status_code = 429
    title = "Too many attempts"
    code = "too_many_attempts"


class Busy(DomainError):
    """The store could not take the caller's write in time; nothing was changed, retrying is safe."""

    status_code = 503
    title = "Busy"
    code = "busy"
