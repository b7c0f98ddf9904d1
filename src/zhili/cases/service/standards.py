"""Case standards (立结案标准) and area dispatch rules: edit, validate, and the demo standard.

A standard row is class × condition: its 立案条件 and 结案条件, the responsible department, and
per-stage limits (dispatch, handle, check), each in one of the four time-limit units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.models import CaseDispatchRule, CaseStandard
from zhili.cases.schemas import DispatchRuleCreate, StandardCreate, StandardFields, StandardUpdate
from zhili.catalog import service as catalog_service
from zhili.core import audit, clock
from zhili.core.errors import Conflict, Invalid, NotFound
from zhili.org import repository as org_repository

if TYPE_CHECKING:
    from zhili.identity.models import User

FIELDS = (
    "register_condition",
    "close_condition",
    "department_id",
    "dispatch_limit",
    "dispatch_unit",
    "handle_limit",
    "handle_unit",
    "check_limit",
    "check_unit",
    "after_photo_required",
    "active",
)


def handling_departments(session: Session) -> dict[int, str]:
    """Active departments that handle cases: id → code."""
    return {d.id: d.code for d in org_repository.departments(session) if d.handles_cases}


def _check_department(session: Session, department_id: int) -> None:
    if department_id not in handling_departments(session):
        raise Invalid(f"Department {department_id} does not exist, is inactive or does not handle cases.")


def state_of(row: CaseStandard) -> dict[str, Any]:
    return {
        "class_kind": row.class_kind,
        "class_code": row.class_code,
        "condition_no": row.condition_no,
        **{f: getattr(row, f) for f in FIELDS},
    }


def _assign(row: CaseStandard, data: StandardFields) -> None:
    for name in FIELDS:
        value = getattr(data, name)
        setattr(row, name, value.value if hasattr(value, "value") else value)


def create_standard(
    session: Session, user: User, data: StandardCreate, *, client_ip: str | None = None
) -> CaseStandard:
    catalog_service.get_class(session, data.class_kind, data.class_code)
    _check_department(session, data.department_id)
    if repository.standard_by_key(session, data.class_kind, data.class_code, data.condition_no) is not None:
        raise Conflict(f"Standard {data.class_kind} {data.class_code} condition {data.condition_no} exists.")
    row = CaseStandard(
        class_kind=data.class_kind,
        class_code=data.class_code,
        condition_no=data.condition_no,
        updated_at=clock.now(),
    )
    _assign(row, data)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="cases.standard_create",
        entity_type="case_standard",
        entity_id=row.id,
        after=state_of(row),
        client_ip=client_ip,
    )
    return row


def get_standard(session: Session, standard_id: int) -> CaseStandard:
    row = session.get(CaseStandard, standard_id)
    if row is None:
        raise NotFound(f"No case standard row {standard_id}.")
    return row


def update_standard(
    session: Session, user: User, standard_id: int, data: StandardUpdate, *, client_ip: str | None = None
) -> CaseStandard:
    """Edit a row (cases already registered keep the limits they were registered with)."""
    row = get_standard(session, standard_id)
    if data.version != row.version:
        raise Conflict(
            f"Standard row {standard_id} has changed since you read it (version {row.version}).",
            current_version=row.version,
        )
    _check_department(session, data.department_id)
    before = state_of(row)
    _assign(row, data)
    row.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="cases.standard_update",
        entity_type="case_standard",
        entity_id=row.id,
        before=before,
        after=state_of(row),
        client_ip=client_ip,
    )
    return row


def add_dispatch_rule(
    session: Session, user: User, data: DispatchRuleCreate, *, client_ip: str | None = None
) -> CaseDispatchRule:
    """An area rule: this class in this street goes to this department (e.g. its street office)."""
    catalog_service.get_class(session, data.class_kind, data.class_code)
    _check_department(session, data.department_id)
    if org_repository.area_by_code(session, data.street_code) is None:
        raise Invalid(f"No street or town with code {data.street_code}.")
    if repository.dispatch_rule_for(session, data.class_kind, data.class_code, data.street_code) is not None:
        raise Conflict(
            f"A rule for {data.class_kind} {data.class_code} in {data.street_code} exists already."
        )
    rule = CaseDispatchRule(
        class_kind=data.class_kind,
        class_code=data.class_code,
        street_code=data.street_code,
        department_id=data.department_id,
        created_at=clock.now(),
    )
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="cases.dispatch_rule_add",
        entity_type="case_dispatch_rule",
        entity_id=rule.id,
        after=data.model_dump(),
        client_ip=client_ip,
    )
    return rule


def delete_dispatch_rule(session: Session, user: User, rule_id: int, *, client_ip: str | None = None) -> None:
    rule = session.get(CaseDispatchRule, rule_id)
    if rule is None:
        raise NotFound(f"No dispatch rule {rule_id}.")
    before = {
        "class_kind": rule.class_kind,
        "class_code": rule.class_code,
        "street_code": rule.street_code,
        "department_id": rule.department_id,
    }
    session.delete(rule)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="cases.dispatch_rule_delete",
        entity_type="case_dispatch_rule",
        entity_id=rule_id,
        before=before,
        client_ip=client_ip,
    )


# --- the demo standard ------------------------------------------------------------------------------

# (kind, code, condition no, 立案条件, 结案条件, department code, (dispatch, handle, check) limits with
# units, after-photo required). Plausible values after the local examples of the domain note.
_WH, _WD, _UH = "working_hours", "working_days", "urgent_hours"
DEMO_STANDARDS: tuple[
    tuple[str, str, int, str, str, str, tuple[float, str], tuple[float, str], tuple[float, str], bool], ...
] = (
    (
        "matter",
        "06010",
        1,
        "道路、广场等公共场所有暴露垃圾，面积超过 0.5 平方米",
        "暴露垃圾清除干净，无残留",
        "BY-HW",
        (0.5, _UH),
        (4, _WH),
        (1, _UH),
        True,
    ),
    (
        "matter",
        "06010",
        2,
        "暴露垃圾面积超过 5 平方米或散发恶臭",
        "垃圾清除并消杀",
        "BY-HW",
        (0.5, _UH),
        (2, _WH),
        (1, _UH),
        True,
    ),
    (
        "matter",
        "06011",
        1,
        "积存垃圾渣土超过 1 立方米",
        "垃圾渣土清运完毕",
        "BY-HW",
        (0.5, _UH),
        (1, _WD),
        (2, _UH),
        True,
    ),
    (
        "matter",
        "06012",
        1,
        "道路不洁，明显可见成片污渍或垃圾",
        "路面清扫干净",
        "BY-HW",
        (0.5, _UH),
        (2, _WH),
        (1, _UH),
        True,
    ),
    (
        "matter",
        "06014",
        1,
        "道路遗撒，长度超过 10 米",
        "遗撒物清除，路面恢复整洁",
        "BY-HW",
        (0.5, _UH),
        (4, _WH),
        (1, _UH),
        True,
    ),
    (
        "matter",
        "06042",
        1,
        "垃圾站（箱）满溢，垃圾外露",
        "满溢垃圾清运，站（箱）周边整洁",
        "BY-HW",
        (0.5, _UH),
        (4, _WH),
        (1, _UH),
        True,
    ),
    ("matter", "06001", 1, "正在施工的私搭乱建", "停止施工", "BY-ZF", (0.5, _UH), (4, _WH), (2, _UH), True),
    ("matter", "06001", 2, "已建成的私搭乱建", "拆除完毕", "BY-ZF", (0.5, _UH), (20, _WD), (1, _WD), True),
    (
        "matter",
        "06029",
        1,
        "露天烧烤，占用公共场所",
        "烧烤摊点撤离",
        "BY-ZF",
        (0.5, _UH),
        (2, _WH),
        (1, _UH),
        True,
    ),
    (
        "matter",
        "07001",
        1,
        "非法小广告，单处超过 5 张",
        "小广告清除",
        "BY-HW",
        (0.5, _UH),
        (1, _WD),
        (2, _UH),
        True,
    ),
    ("matter", "09001", 1, "无照经营游商", "游商劝离", "BY-ZF", (0.5, _UH), (2, _WH), (1, _UH), False),
    (
        "matter",
        "09006",
        1,
        "占道经营，影响通行",
        "占道物品清除，恢复通行",
        "BY-ZF",
        (0.5, _UH),
        (4, _WH),
        (1, _UH),
        True,
    ),
    (
        "matter",
        "06021",
        1,
        "绿地植物病虫害明显",
        "病虫害防治完毕",
        "BY-YL",
        (0.5, _UH),
        (5, _WD),
        (1, _WD),
        True,
    ),
    (
        "component",
        "03005",
        1,
        "垃圾箱破损、缺失或满溢",
        "垃圾箱修复或更换，周边整洁",
        "BY-HW",
        (0.5, _UH),
        (1, _WD),
        (2, _UH),
        True,
    ),
    (
        "component",
        "03001",
        1,
        "公厕设施损坏或不洁",
        "设施修复，保洁达标",
        "BY-HW",
        (0.5, _UH),
        (1, _WD),
        (2, _UH),
        True,
    ),
    (
        "component",
        "04002",
        1,
        "行道树倒伏、断枝影响通行",
        "倒伏树木扶正或清除",
        "BY-YL",
        (10 / 60, _UH),
        (4, _UH),
        (1, _UH),
        True,
    ),
    (
        "component",
        "04013",
        1,
        "绿地缺株、黄土裸露",
        "补植完毕",
        "BY-YL",
        (0.5, _UH),
        (5, _WD),
        (1, _WD),
        True,
    ),
)


def seed_demo_standards(session: Session) -> int:
    """The demo's 立结案标准 for the common classes; idempotent (rows already there are left alone)."""
    departments = {d.code: d.id for d in org_repository.departments(session)}
    added = 0
    for kind, code, no, reg, close, dept, (dl, du), (hl, hu), (cl, cu), photo in DEMO_STANDARDS:
        if dept not in departments or repository.standard_by_key(session, kind, code, no) is not None:
            continue
        catalog_service.get_class(session, kind, code)  # a class missing from the catalogue is a bug here
        session.add(
            CaseStandard(
                class_kind=kind,
                class_code=code,
                condition_no=no,
                register_condition=reg,
                close_condition=close,
                department_id=departments[dept],
                dispatch_limit=dl,
                dispatch_unit=du,
                handle_limit=hl,
                handle_unit=hu,
                check_limit=cl,
                check_unit=cu,
                after_photo_required=photo,
                active=True,
                updated_at=clock.now(),
            )
        )
        added += 1
    session.flush()
    return added
