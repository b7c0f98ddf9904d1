"""What an import tells its caller: counts, and every row's problem (the first thousand of them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    format: str
    crs: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def error(self, row: int, message: str, code: str | None = None) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "code": code, "msg": message})

    def merge(self, part: ImportReport) -> None:
        """Add the counts and errors of a part of the import (one chunk's writes)."""
        self.rows += part.rows
        self.created += part.created
        self.updated += part.updated
        self.unchanged += part.unchanged
        for e in part.errors:
            self.error(e["row"], e["msg"], e["code"])
        self.error_count += part.error_count - len(part.errors)

    def summary(self) -> str:
        mode = "dry run" if self.dry_run else "import"
        if not self.ok:
            return f"{mode}: {self.rows} rows, {self.error_count} with errors; nothing written"
        if self.dry_run:
            return (
                f"dry run: {self.rows} rows valid ({self.created} new, {self.updated} to update, "
                f"{self.unchanged} unchanged); nothing written"
            )
        return (
            f"imported {self.rows} rows: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "format": self.format,
            "crs": self.crs,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "errors_truncated": self.error_count > len(self.errors),
        }
