"""What every assets use case needs: the district, the class and department tables, cells, history rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from zhili.assets import cells, repository
from zhili.assets.models import Component
from zhili.assets.states import STATUSES
from zhili.catalog import repository as catalog_repository
from zhili.catalog.schemas import ClassFilters
from zhili.core.errors import Invalid
from zhili.org import repository as org_repository
from zhili.org import service as org_service
from zhili.org.spatial import AreaIndex

if TYPE_CHECKING:
    from zhili.identity.models import User

# Positions are stored, located and handed out to 7 decimals of a degree (about 1 cm): a component's
# grid is the grid of its stored point, so its own export imports back unchanged.
POSITION_DECIMALS = 7


def stored(value: float) -> float:
    """A coordinate as it is stored."""
    return round(float(value), POSITION_DECIMALS)


def stored_array(values: np.ndarray) -> np.ndarray:
    """`stored` for each element (Python's rounding, so that the stored number is the located one)."""
    return np.array([round(v, POSITION_DECIMALS) for v in values.tolist()], dtype=np.float64)


# The fields a version's `state` keeps (department by code: readable after departments change).
STATE_FIELDS = (
    "code",
    "legacy_code",
    "class_code",
    "name",
    "department_code",
    "owner",
    "maintainer",
    "status",
    "lon",
    "lat",
    "grid_code",
    "community_code",
    "street_code",
    "address",
    "initial_date",
    "changed_date",
    "data_source",
    "accuracy",
    "photos",
    "attributes",
    "notes",
)


def actor_name(actor: User | str | None) -> str | None:
    if actor is None or isinstance(actor, str):
        return actor
    return actor.username


@dataclass(frozen=True)
class ClassInfo:
    code: str
    name: str
    major_code: str
    major_name: str
    is_local: bool
    legacy_code: str | None


@dataclass(frozen=True)
class DepartmentInfo:
    id: int
    code: str
    name: str


@dataclass
class Reference:
    """The lookup tables of one use case, loaded once (a few hundred rows)."""

    district: str
    index: AreaIndex
    classes: dict[str, ClassInfo]
    departments: dict[str, DepartmentInfo]  # by code, by name and by credit code
    departments_by_id: dict[int, DepartmentInfo]

    def klass(self, code: str) -> ClassInfo:
        found = self.classes.get(code)
        if found is None:
            raise Invalid(f"unknown component class code {code!r} (GB/T 47678.5 or a local extension)")
        return found

    def department(self, key: str | None) -> DepartmentInfo | None:
        if key is None or not key.strip():
            return None
        found = self.departments.get(key.strip())
        if found is None:
            raise Invalid(f"unknown department {key!r}: give its code (e.g. BY-HW), name or credit code")
        return found

    def class_for_legacy(self, legacy: str) -> str | None:
        for c in self.classes.values():
            if c.legacy_code == legacy:
                return c.code
        padded = f"{legacy[:2]}0{legacy[2:]}"
        return padded if padded in self.classes else None

    def classes_of_majors(self, majors: list[str]) -> list[str]:
        return [c.code for c in self.classes.values() if c.major_code in majors]


def reference(session: Session) -> Reference:
    index = org_service.area_index(session)
    if index.district is None:
        raise Invalid("There is no district yet: load the district boundary (or the demo) first.")
    classes = {
        c.code: ClassInfo(c.code, c.name, c.major_code, c.major_name, c.is_local, c.legacy_code)
        for c in catalog_repository.list_classes(session, ClassFilters(kind="component"))
    }
    departments: dict[str, DepartmentInfo] = {}
    by_id: dict[int, DepartmentInfo] = {}
    for d in org_repository.departments(session, active_only=False):
        info = DepartmentInfo(d.id, d.code, d.name)
        by_id[d.id] = info
        for key in (d.code, d.name, d.credit_code):
            if key:
                departments.setdefault(key, info)
    return Reference(index.district.code, index, classes, departments, by_id)


def state_of(c: Component, ref: Reference) -> dict[str, Any]:
    dept = ref.departments_by_id.get(c.department_id) if c.department_id else None
    values = {f: getattr(c, f) for f in STATE_FIELDS if f != "department_code"}
    values["department_code"] = dept.code if dept else None
    return jsonable_state(values)


def jsonable_state(values: dict[str, Any]) -> dict[str, Any]:
    out = {f: values.get(f) for f in STATE_FIELDS}
    for f in ("initial_date", "changed_date"):
        value = out[f]
        if isinstance(value, date):
            out[f] = value.isoformat()
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {f: [before.get(f), after.get(f)] for f in STATE_FIELDS if before.get(f) != after.get(f)}


class CellDeltas:
    """Accumulates the summary changes of a use case, written with one upsert per touched key."""

    def __init__(self) -> None:
        self.deltas: dict[repository.CellKey, list[float]] = defaultdict(lambda: [0.0] * 7)
        self._status_pos: dict[str, int] = {s: i for i, s in enumerate(STATUSES)}

    def add_many(
        self,
        lons: list[float],
        lats: list[float],
        streets: list[str],
        classes: list[str],
        statuses: list[str],
        sign: int,
        point_cells: list[dict[int, str]] | None = None,
    ) -> None:
        ladders = point_cells if point_cells is not None else cells.point_cells(lons, lats)
        # Points that share their finest cell, street, class and status are summed first: each
        # group then touches the keys of its resolutions once, not once per point.
        finest = cells.RESOLUTIONS[-1]
        groups: dict[tuple[str, str, str, str], list[Any]] = {}
        for ladder, lon, lat, street, klass, status in zip(
            ladders, lons, lats, streets, classes, statuses, strict=True
        ):
            key = (ladder[finest], street, klass, status)
            group = groups.get(key)
            if group is None:
                groups[key] = [ladder, 1, lon, lat]
            else:
                group[1] += 1
                group[2] += lon
                group[3] += lat
        for (_cell, street, klass, status), (ladder, n, sum_lon, sum_lat) in groups.items():
            pos = self._status_pos[status]
            for res, cell in ladder.items():
                vals = self.deltas[(res, cell, street, klass)]
                vals[pos] += sign * n
                vals[5] += sign * sum_lon
                vals[6] += sign * sum_lat

    def add(self, c: Component, sign: int) -> None:
        self.add_many([c.lon], [c.lat], [c.street_code], [c.class_code], [c.status], sign)

    def write(self, session: Session) -> None:
        repository.apply_cell_deltas(session, self.deltas)
        self.deltas.clear()
