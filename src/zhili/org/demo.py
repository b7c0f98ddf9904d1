"""The Baiyun demo organisation: generated geography, the bureau's departments and teams, and its staff."""

from __future__ import annotations

import logging
import random
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from zhili.core import clock
from zhili.org import geography, repository
from zhili.org.models import AdminArea, Department, ResponsibilityGrid, Staff, Team, UnitGrid

log = logging.getLogger(__name__)

SOURCE = "demo: generated from approximate street centres, clipped to the real district boundary"

# (code, name, kind, handles cases, teams)
DEPARTMENTS: tuple[tuple[str, str, str, bool, tuple[str, ...]], ...] = (
    ("BY-CC", "白云区城市管理指挥中心", "command_centre", False, ("受理组", "派遣组", "值班组")),
    ("BY-HW", "白云区环境卫生管理中心", "sanitation", True, ("道路保洁一队", "道路保洁二队", "垃圾收运队")),
    ("BY-YL", "白云区园林绿化管理所", "greening", True, ("绿化养护一队", "绿化养护二队")),
    ("BY-SZ", "白云区市政设施维护中心", "municipal", True, ("道路维修队", "排水设施队", "路灯维护队")),
    ("BY-ZF", "白云区城市管理综合执法局", "enforcement", True, ("执法一中队", "执法二中队")),
    ("BY-RQ", "白云区燃气管理办公室", "gas", True, ("燃气安全检查组",)),
    ("BY-SW", "白云区水务设施管理所", "other", True, ("供排水维护组",)),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韩唐冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华志红建国文斌辉玲萍鹏宇浩欣俊晨婷雪琳凯峰"


def _name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(_SURNAMES) + given


def seed_demo_org(session: Session) -> dict[str, int]:
    """Load the demo geography, departments, teams and staff, unless a district is already there."""
    if repository.district(session) is not None:
        return {}
    now = clock.now()
    geo = geography.generate()
    rng = random.Random(440111)

    district = AdminArea(code=geo.district.code, name=geo.district.name, level="district", parent_id=None,
                         area_m2=geo.district.area_m2,
                         approximate=False, source="DataV GeoAtlas 440111 (GCJ-02 → WGS-84)",
                         updated_at=now, **geography.footprint_fields(geo.district.geometry))
    session.add(district)
    session.flush()
    areas: dict[str, AdminArea] = {district.code: district}
    for level_rows in (geo.streets, geo.communities):
        batch = []
        for a in level_rows:
            row = AdminArea(code=a.code, name=a.name, level=a.level, parent_id=areas[a.parent_code or ""].id,
                            area_m2=a.area_m2, approximate=True, source=SOURCE, updated_at=now,
                            **geography.footprint_fields(a.geometry))
            batch.append(row)
            areas[a.code] = row
        session.add_all(batch)
        session.flush()

    departments = _seed_departments(session, [s for s in geo.streets], areas)
    inspectors_dept = departments["BY-CC"]

    # One inspector (监督员) per responsibility grid of about 40 unit grids.
    rgrid_codes = sorted({g.responsibility_code for g in geo.grids})
    staff_rows = [Staff(employee_no=f"JD{n:05d}", name=_name(rng), phone=f"138{rng.randrange(10**8):08d}",
                        post="inspector", department_id=inspectors_dept.id, active=True)
                  for n in range(1, len(rgrid_codes) + 1)]
    session.add_all(staff_rows)
    session.flush()
    rgrids = [ResponsibilityGrid(code=code, name=f"{areas[code[:9]].name}责任网格{code[-3:]}",
                                 street_id=areas[code[:9]].id, inspector_staff_id=staff.id)
              for code, staff in zip(rgrid_codes, staff_rows, strict=True)]
    session.add_all(rgrids)
    session.flush()
    rgrid_ids = {r.code: r.id for r in rgrids}

    grid_rows: list[dict[str, Any]] = [
        {"code": g.code, "community_id": areas[g.community_code].id,
         "responsibility_grid_id": rgrid_ids[g.responsibility_code],
         "area_m2": g.area_m2, "approximate": True, **geography.footprint_fields(g.geometry)}
        for g in geo.grids
    ]
    for i in range(0, len(grid_rows), 2000):
        session.execute(insert(UnitGrid), grid_rows[i:i + 2000])
    repository.bump_geography_revision(session)
    counts = {"streets": len(geo.streets), "communities": len(geo.communities), "grids": len(geo.grids),
              "inspectors": len(staff_rows), "departments": len(departments)}
    log.info("demo org seeded: %s", counts)
    return counts


def _seed_departments(session: Session, streets: list[geography.GeneratedArea],
                      areas: dict[str, AdminArea]) -> dict[str, Department]:
    rng = random.Random(2026)
    made: dict[str, Department] = {}
    for code, name, kind, handles, _teams in DEPARTMENTS:
        made[code] = Department(code=code, name=name, kind=kind, handles_cases=handles, active=True)
    for s in streets:  # every street office (街道办/镇政府) handles the cases of its own area
        suffix = "人民政府" if s.level == "town" else "办事处"
        made[f"ST-{s.code}"] = Department(code=f"ST-{s.code}", name=f"{s.name}{suffix}", kind="street_office",
                                          handles_cases=True, street_id=areas[s.code].id, active=True)
    session.add_all(made.values())
    session.flush()
    staff: list[Staff] = []
    for code, _dept_name, kind, _handles, team_names in DEPARTMENTS:
        dept = made[code]
        team_rows = [Team(department_id=dept.id, code=f"{code}-T{i}", name=t)
                     for i, t in enumerate(team_names, start=1)]
        session.add_all(team_rows)
        session.flush()
        posts = (("operator", 4), ("dispatcher", 3), ("shift_leader", 3)) if kind == "command_centre" \
            else (("handler", 4), ("field_worker", 12 if kind in ("sanitation", "greening") else 4))
        for post, count in posts:
            for _ in range(count):
                team = team_rows[len(staff) % len(team_rows)]
                staff.append(Staff(employee_no=f"{code}-{len(staff) + 1:04d}", name=_name(rng), post=post,
                                   phone=f"139{rng.randrange(10**8):08d}", department_id=dept.id,
                                   team_id=team.id, active=True))
    for s in streets:
        dept = made[f"ST-{s.code}"]
        team = Team(department_id=dept.id, code=f"ST-{s.code}-T1", name="城管执法中队")
        session.add(team)
        session.flush()
        for _ in range(2):
            staff.append(Staff(employee_no=f"ST-{s.code}-{len(staff) + 1:04d}", name=_name(rng),
                               post="handler",
                               phone=f"137{rng.randrange(10**8):08d}", department_id=dept.id, team_id=team.id,
                               active=True))
    session.add_all(staff)
    session.flush()
    return made


def demo_is_loaded(session: Session) -> bool:
    return session.scalar(select(AdminArea.id).where(AdminArea.level == "district")) is not None
