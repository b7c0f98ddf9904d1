"""Intake (信息采集) from every source: validate, locate, number, and open the case at the right step.

An inspector's report and a leader's instruction wait for registration; public, hotline and video
reports first go to the grid's inspector to verify (核实); a self-handled report (自行处置) is
recorded already closed, with its before and after photos.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from zhili.assets import service as assets_service
from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.events import CaseReported
from zhili.cases.models import CaseRecord, CaseTask
from zhili.cases.schemas import INSPECTOR_SOURCES, SOURCES_TO_VERIFY, CaseCreate, CaseSource
from zhili.cases.service import deadlines
from zhili.cases.service.timeline import Actor, attach_evidence, require_evidence, write_activity
from zhili.cases.states import CaseStatus
from zhili.catalog import service as catalog_service
from zhili.core import audit, clock, geo
from zhili.core.errors import Invalid
from zhili.core.events import record_event
from zhili.org import service as org_service

if TYPE_CHECKING:
    from zhili.identity.models import User


def check_component(session: Session, class_kind: str, class_code: str, component_id: str | None) -> None:
    """A linked component: a component case, an ID of the case's class, and (with assets) a real one."""
    if component_id is None:
        return
    if class_kind != "component":
        raise Invalid("Only a component case can link a component (component_id).")
    if len(component_id) != 17 or not (component_id.isascii() and component_id.isdigit()):
        raise Invalid(f"Component ID {component_id!r} must have 17 digits (area 6 + class 5 + serial 6).")
    if component_id[6:11] != class_code:
        raise Invalid(f"Component {component_id} is of class {component_id[6:11]}, not {class_code}.")
    found = assets_service.find_component(session, component_id)
    if found is None:
        raise Invalid(f"No component with ID {component_id}.")


def _source_allowed(user: User, data: CaseCreate) -> None:
    if not user.has("cases:read") and data.source is not CaseSource.public:
        raise Invalid("A citizen's report has source 'public'.")
    if data.source in INSPECTOR_SOURCES and user.staff_id is None:
        raise Invalid(
            f"Source '{data.source.value}' is for inspectors: this login is not bound to a staff member."
        )
    if data.source is CaseSource.self_handled:
        if not data.evidence or not data.after_evidence:
            raise Invalid(
                "A self-handled report needs before photos ('evidence') and after photos ('after_evidence')."
            )
        if not data.result:
            raise Invalid("A self-handled report needs 'result': what was done.")
    elif data.after_evidence or data.result:
        raise Invalid("'after_evidence' and 'result' are only for self-handled reports.")


def case_number(session: Session, cfg: CaseConfig, now: datetime) -> str:
    """YYYYMMDD (local date) + 6-digit serial of the day: readable, unique, sorts by time of report."""
    day = now.astimezone(cfg.calendar.tz).strftime("%Y%m%d")
    serial = repository.next_serial(session, day)
    if serial > 999_999:
        raise Invalid("More than 999,999 cases today: the case number space of the day is used up.")
    return f"{day}{serial:06d}"


def report_case(
    session: Session,
    user: User,
    data: CaseCreate,
    cfg: CaseConfig,
    *,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> CaseRecord:
    """Open a case from a report; bad input raises before anything is written.

    `now` is for imports and demo data that record past reports; it defaults to the clock.
    """
    catalog_service.get_class(session, data.class_kind, data.class_code)
    check_component(session, data.class_kind, data.class_code, data.component_id)
    _source_allowed(user, data)
    wlon, wlat = geo.to_wgs84(data.lon, data.lat, data.crs)
    location = org_service.locate(session, data.lon, data.lat, data.crs)
    before = require_evidence(session, data.evidence)
    after = require_evidence(session, data.after_evidence)
    now = now or clock.now()
    source = data.source
    if source is CaseSource.self_handled:
        status = CaseStatus.closed
    elif source in SOURCES_TO_VERIFY:
        status = CaseStatus.to_verify
    else:
        status = CaseStatus.to_register
    inspector = source in INSPECTOR_SOURCES
    case = CaseRecord(
        number=case_number(session, cfg, now),
        status=status.value,
        source=source.value,
        external_ref=data.external_ref,
        self_handled=source is CaseSource.self_handled,
        class_kind=data.class_kind,
        class_code=data.class_code,
        component_id=data.component_id,
        description=data.description,
        lon=float(wlon),
        lat=float(wlat),
        address=data.address,
        grid_code=location.grid_code,
        community_code=location.community_code,
        street_code=location.street_code,
        responsibility_grid_code=location.responsibility_grid_code,
        grid_inspector_staff_id=location.inspector_staff_id,
        reporter_user_id=user.id,
        reporter_staff_id=user.staff_id if inspector else None,
        reporter_name=data.reporter_name or (user.display_name if user.has("cases:read") else None),
        reporter_phone=data.reporter_phone,
        reported_at=now,
        stage_started_at=now,
        after_photo_required=False,
        extended_amount=0.0,
        extension_count=0,
        suspension_count=0,
        rework_count=0,
        return_count=0,
        urge_count=0,
        duplicate_count=0,
        created_at=now,
        updated_at=now,
    )
    if status is CaseStatus.closed:
        # 自行处置: every step happened at once, by the inspector on the spot.
        case.verified_at = case.registered_at = case.handled_at = case.checked_at = now
        case.closed_at = case.ended_at = now
        case.verify_confirmed = case.check_passed = True
        case.verified_by_staff_id = case.checked_by_staff_id = user.staff_id
    deadlines.set_stage_clock(case, cfg)
    session.add(case)
    session.flush()
    if status is CaseStatus.to_verify and case.verify_due_at is not None:
        session.add(
            CaseTask(
                case_id=case.id,
                kind="verify",
                status="open",
                assignee_staff_id=case.grid_inspector_staff_id,
                responsibility_grid_code=case.responsibility_grid_code,
                created_at=now,
                due_at=case.verify_due_at,
            )
        )
    actor = Actor(user, client_ip)
    attach_evidence(session, case, before, "report", actor, now)
    attach_evidence(session, case, after, "after", actor, now)
    data_out: dict[str, Any] = {
        "source": source.value,
        "class": f"{data.class_kind}:{data.class_code}",
        "grid_code": case.grid_code,
        "evidence": before,
    }
    if after:
        data_out.update(after_evidence=after, result=data.result)
    write_activity(session, case.id, now, "report", None, case.status, actor, None, data_out)
    record_event(
        session, CaseReported(case_id=case.id, number=case.number, source=source.value, status=case.status)
    )
    audit.record(
        session,
        actor=user.username,
        action="cases.report",
        entity_type="case_record",
        entity_id=case.number,
        after={"status": case.status, **data_out},
        client_ip=client_ip,
    )
    return case
