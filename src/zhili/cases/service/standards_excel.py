"""The 立结案标准 as an Excel workbook: export, and import all-or-nothing with row-level errors."""

from __future__ import annotations

import io
import math
import zipfile
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import ValidationError
from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.models import CaseStandard
from zhili.cases.schemas import StandardCreate, StandardImportReport
from zhili.cases.service.standards import FIELDS, state_of
from zhili.catalog import service as catalog_service
from zhili.core import audit, clock
from zhili.core.errors import Invalid
from zhili.org import repository as org_repository

if TYPE_CHECKING:
    from zhili.identity.models import User

# (field, header). The header carries the Chinese term first; import matches on the field name too.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("class_kind", "类别 class_kind"),
    ("class_code", "类代码 class_code"),
    ("condition_no", "条件序号 condition_no"),
    ("register_condition", "立案条件 register_condition"),
    ("close_condition", "结案条件 close_condition"),
    ("department_code", "处置部门 department_code"),
    ("dispatch_limit", "派遣时限 dispatch_limit"),
    ("dispatch_unit", "派遣时限单位 dispatch_unit"),
    ("handle_limit", "处置时限 handle_limit"),
    ("handle_unit", "处置时限单位 handle_unit"),
    ("check_limit", "核查时限 check_limit"),
    ("check_unit", "核查时限单位 check_unit"),
    ("after_photo_required", "需处置后照片 after_photo_required"),
    ("active", "启用 active"),
)
UNIT_NAMES = {
    "紧急工作时": "urgent_hours",
    "工作时": "working_hours",
    "工作日": "working_days",
    "自然日": "calendar_days",
}
KIND_NAMES = {"部件": "component", "事项": "matter"}
YES = {"是", "yes", "true", "1", "y"}
NO = {"否", "no", "false", "0", "n", ""}
MAX_ROWS = 5000


def export_standards(session: Session) -> bytes:
    departments = {d.id: d.code for d in org_repository.departments(session, active_only=False)}
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "立结案标准"
    ws.append([header for _f, header in COLUMNS])
    for row in repository.all_standards(session):
        values = state_of(row)
        values["department_code"] = departments.get(row.department_id, "")
        ws.append(
            [
                ("是" if values[f] else "否") if f in ("after_photo_required", "active") else values[f]
                for f, _h in COLUMNS
            ]
        )
    for i, width in enumerate((8, 8, 8, 40, 30, 12, 8, 14, 8, 14, 8, 14, 10, 6), start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _field_of(header: Any) -> str | None:
    text = str(header or "").strip()
    for field, title in COLUMNS:
        if text in (field, title) or text.endswith(" " + field) or text == title.split(" ")[0]:
            return field
    return None


def _cell(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _parse(fileobj: IO[bytes]) -> list[tuple[int, dict[str, Any]]]:
    try:
        wb = load_workbook(fileobj, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise Invalid("The file is not an Excel workbook (.xlsx).") from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise Invalid("The workbook's first sheet is empty.")
    fields = [_field_of(h) for h in header]
    missing = [f for f, _h in COLUMNS if f not in fields and f != "active"]
    if missing:
        raise Invalid(f"Missing column(s): {', '.join(missing)} (export the standard to see the layout).")
    out: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(rows, start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(out) >= MAX_ROWS:
            raise Invalid(f"More than {MAX_ROWS} rows: split the file.")
        out.append((number, {f: _cell(v) for f, v in zip(fields, values, strict=False) if f is not None}))
    wb.close()
    return out


def _normalise(raw: dict[str, Any], errors: list[dict[str, Any]], row_no: int) -> dict[str, Any]:
    data = dict(raw)
    data["class_kind"] = KIND_NAMES.get(str(data.get("class_kind") or ""), data.get("class_kind"))
    code = data.get("class_code")
    data["class_code"] = (
        f"{int(code):05d}" if isinstance(code, int | float) and not isinstance(code, bool) else code
    )
    for unit in ("dispatch_unit", "handle_unit", "check_unit"):
        data[unit] = UNIT_NAMES.get(str(data.get(unit) or ""), data.get(unit))
    for flag in ("after_photo_required", "active"):
        value = str(data.get(flag, "是" if flag == "active" else "")).strip().lower()
        if value in YES:
            data[flag] = True
        elif value in NO:
            data[flag] = flag == "active" and value == ""
        else:
            errors.append({"row": row_no, "column": flag, "msg": f"use 是 or 否, not {value!r}"})
    return data


def _same(stored: Any, given: Any) -> bool:
    """Equal, floats within Excel's 15 significant digits (10 min = 0.1666… h survives a round trip)."""
    if isinstance(stored, float) and isinstance(given, int | float) and not isinstance(given, bool):
        return math.isclose(stored, given, rel_tol=1e-12)
    return bool(stored == given)


def import_standards(
    session: Session, user: User, fileobj: IO[bytes], *, dry_run: bool = False, client_ip: str | None = None
) -> StandardImportReport:
    """Create or update rows keyed by (class_kind, class_code, condition_no); one bad row changes nothing."""
    departments = {d.code: d.id for d in org_repository.departments(session) if d.handles_cases}
    errors: list[dict[str, Any]] = []
    parsed: list[StandardCreate] = []
    seen: dict[tuple[str, str, int], int] = {}
    for row_no, raw in _parse(fileobj):
        data = _normalise(raw, errors, row_no)
        dept_code = str(data.pop("department_code", "") or "")
        if dept_code not in departments:
            errors.append(
                {
                    "row": row_no,
                    "column": "department_code",
                    "msg": f"no active handling department with code {dept_code!r}",
                }
            )
            continue
        data["department_id"] = departments[dept_code]
        try:
            item = StandardCreate.model_validate(data)
        except ValidationError as exc:
            errors.extend(
                {"row": row_no, "column": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                for e in exc.errors()
            )
            continue
        try:
            catalog_service.get_class(session, item.class_kind, item.class_code)
        except Invalid as exc:
            errors.append({"row": row_no, "column": "class_code", "msg": exc.detail})
            continue
        key = (item.class_kind, item.class_code, item.condition_no)
        if key in seen:
            errors.append({"row": row_no, "column": "condition_no", "msg": f"same key as row {seen[key]}"})
            continue
        seen[key] = row_no
        parsed.append(item)
    if errors:
        raise Invalid(f"{len(errors)} problem(s) in the workbook; nothing was imported.", errors=errors[:500])
    created = updated = unchanged = 0
    now = clock.now()
    for item in parsed:
        row = repository.standard_by_key(session, item.class_kind, item.class_code, item.condition_no)
        wanted = {f: (v.value if hasattr(v, "value") else v) for f in FIELDS for v in [getattr(item, f)]}
        if row is None:
            created += 1
            if not dry_run:
                session.add(
                    CaseStandard(
                        class_kind=item.class_kind,
                        class_code=item.class_code,
                        condition_no=item.condition_no,
                        updated_at=now,
                        **wanted,
                    )
                )
        elif any(not _same(getattr(row, f), v) for f, v in wanted.items()):
            updated += 1
            if not dry_run:
                for f, v in wanted.items():
                    setattr(row, f, v)
                row.updated_at = now
        else:
            unchanged += 1
    report = StandardImportReport(dry_run=dry_run, created=created, updated=updated, unchanged=unchanged)
    if not dry_run:
        session.flush()
        audit.record(
            session,
            actor=user.username,
            action="cases.standards_import",
            entity_type="case_standard",
            entity_id="*",
            after=report.model_dump(),
            client_ip=client_ip,
        )
    return report
