"""The Baiyun demo inventory: about 63,200 components in a realistic class mix, along generated roads.

Baiyun's published figure is about 63,200 city components, including 60 compression stations with
weighbridges and AI cameras. Points are laid along short road segments inside each street or town
(built-up streets are denser than the rural towns), each class at its usual spacing and offset from
the road. Generated with numpy and written in bulk: a few seconds for the whole district.
"""

from __future__ import annotations

import logging
import math
from datetime import date, timedelta
from typing import Any

import numpy as np
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhili.assets import extensions, ids, repository
from zhili.assets.models import Component
from zhili.assets.service.bulk import insert_records
from zhili.assets.service.common import CellDeltas, reference, stored, stored_array
from zhili.core import clock

log = logging.getLogger(__name__)

TOTAL = 63_200
COMPRESSION_STATIONS = 60
# (class code, relative weight in the inventory, department code, metres off the road centre line)
MIX: tuple[tuple[str, float, str, float], ...] = (
    ("01003", 0.085, "BY-SW", 2),
    ("01002", 0.075, "BY-SW", 2),
    ("01001", 0.045, "BY-SW", 3),
    ("01004", 0.040, "BY-SW", 6),
    ("01005", 0.025, "BY-SZ", 4),
    ("01007", 0.030, "BY-SZ", 4),
    ("01011", 0.012, "BY-RQ", 3),
    ("01006", 0.010, "BY-SZ", 5),
    ("01037", 0.185, "BY-SZ", 8),
    ("01013", 0.035, "BY-SZ", 9),
    ("01027", 0.018, "BY-SZ", 10),
    ("01048", 0.020, "BY-SZ", 12),
    ("01050", 0.018, "BY-SZ", 9),
    ("01054", 0.006, "BY-SZ", 14),
    ("01040", 0.003, "BY-SZ", 10),
    ("02010", 0.030, "BY-SZ", 8),
    ("02012", 0.018, "BY-SZ", 9),
    ("02014", 0.010, "BY-SZ", 7),
    ("02004", 0.018, "BY-SZ", 9),
    ("02017", 0.012, "BY-SZ", 6),
    ("02025", 0.008, "BY-SZ", 12),
    ("03005", 0.120, "BY-HW", 9),
    ("03004", 0.009, "BY-HW", 25),
    ("03902", 0.036, "BY-HW", 20),
    ("03001", 0.0066, "BY-HW", 22),
    ("03006", 0.020, "BY-ZF", 15),
    ("03008", 0.008, "BY-HW", 12),
    ("04002", 0.130, "BY-YL", 5),
    ("04001", 0.006, "BY-YL", 18),
    ("04007", 0.010, "BY-YL", 10),
    ("04013", 0.008, "BY-YL", 30),
    ("05901", 0.002, "BY-RQ", 25),
)
STATUS_WEIGHTS = (
    ("intact", 0.958),
    ("damaged", 0.025),
    ("missing", 0.007),
    ("abandoned", 0.006),
    ("removed", 0.004),
)
MAINTAINERS = {
    "BY-SW": "广州白云水务养护有限公司",
    "BY-SZ": "广州白云城建养护有限公司",
    "BY-HW": "白云区环卫作业服务中心",
    "BY-YL": "广州白云园林绿化工程有限公司",
    "BY-RQ": "白云区燃气安全服务站",
    "BY-ZF": "白云区广告设施管理所",
}
ROADS = (
    "白云大道",
    "广园路",
    "机场路",
    "三元里大道",
    "云城西路",
    "黄石路",
    "同和路",
    "京溪路",
    "石井大道",
    "太和大道",
    "钟落潭大道",
    "增槎路",
    "西槎路",
    "永泰路",
    "新市墟路",
    "棠景路",
    "嘉禾路",
    "人和大道",
    "江高大道",
    "沙太路",
    "齐富路",
    "广从路",
    "鹤龙路",
    "松洲路",
    "景泰街",
    "远景路",
    "大金钟路",
    "马务路",
    "金沙洲路",
    "均禾大道",
)
SPECIES = ("榕树", "樟树", "木棉", "龙眼", "荔枝", "杧果", "朴树", "秋枫")
_METRES_PER_DEG = 111_320.0


def seed_demo_components(session: Session) -> int | None:
    """Load the demo inventory unless components exist already (then None: nothing loaded)."""
    if session.scalar(select(Component.id).limit(1)) is not None:
        return None
    ref = reference(session)
    rng = np.random.default_rng(440111)
    streets = ref.index.areas_at("street")
    if not streets:
        return 0
    weights = np.array([(3.0 if s.level == "street" else 1.0) * math.sqrt(s.area_m2) for s in streets])
    weights /= weights.sum()
    records: list[dict[str, Any]] = []
    serials: dict[str, int] = {}
    today = clock.now().date()
    shares = sum(share for _c, share, _d, _o in MIX)  # weights: normalised to the published total
    counts = {
        code: round(share / shares * (TOTAL - COMPRESSION_STATIONS)) for code, share, _d, _o in MIX
    }
    counts[extensions.COMPRESSION_STATION] = COMPRESSION_STATIONS
    departments = {code: dept for code, _s, dept, _o in MIX} | {extensions.COMPRESSION_STATION: "BY-HW"}
    offsets = {code: off for code, _s, _d, off in MIX} | {extensions.COMPRESSION_STATION: 30.0}
    for class_code, n in counts.items():
        per_street = rng.multinomial(n, weights)
        if class_code == extensions.COMPRESSION_STATION:
            per_street = _at_least_one_each(n, weights, rng)
        lons, lats, street_idx = _points_along_roads(ref, streets, per_street, offsets[class_code], rng)
        positions = ref.index.locate_many(lons, lats)
        dept = ref.departments.get(departments[class_code])
        klass = ref.klass(class_code)
        statuses = rng.choice(
            [s for s, _ in STATUS_WEIGHTS], size=len(lons), p=[w for _, w in STATUS_WEIGHTS]
        )
        ages = rng.integers(30, 3650, size=len(lons))
        for i in range(len(lons)):
            if positions[i] < 0:
                continue
            loc = ref.index.location_at(int(positions[i]))
            serials[class_code] = serials.get(class_code, 0) + 1
            serial = serials[class_code]
            road = ROADS[(street_idx[i] * 7 + serial // 40) % len(ROADS)]
            records.append(
                {
                    "code": ids.compose(ref.district, class_code, serial),
                    "legacy_code": None,
                    "class_code": class_code,
                    "name": _name(klass.name, class_code, loc.street_name, serial),
                    "department_id": dept.id if dept else None,
                    "owner": dept.name if dept else None,
                    "maintainer": MAINTAINERS.get(departments[class_code]),
                    "status": str(statuses[i]),
                    "lon": stored(lons[i]),
                    "lat": stored(lats[i]),
                    "grid_code": loc.grid_code,
                    "community_code": loc.community_code,
                    "street_code": loc.street_code,
                    "address": f"{loc.street_name}{road}{1 + serial % 420}号附近",
                    "initial_date": today - timedelta(days=int(ages[i])),
                    "changed_date": None,
                    "data_source": "surveyed",
                    "accuracy": "A" if class_code[:2] == "01" else "B",
                    "photos": [],
                    "attributes": _attributes(class_code, serial, rng),
                    "notes": None,
                }
            )
    deltas = CellDeltas()
    insert_records(session, ref, records, "system:demo", "create", clock.now(), deltas)
    deltas.write(session)
    for class_code, last in serials.items():
        repository.raise_serial_floor(session, class_code, last, ref.district)
    session.flush()
    log.info("demo components seeded: %s", len(records))
    return len(records)


def _at_least_one_each(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = np.ones(len(weights), dtype=np.int64)
    return base + rng.multinomial(max(0, n - len(weights)), weights)


def _points_along_roads(
    ref: Any, streets: list[Any], per_street: np.ndarray, offset_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on a few random road segments per street (oversampled; the caller drops those outside)."""
    lons, lats, idx = [], [], []
    for s_i, (street, n) in enumerate(zip(streets, per_street, strict=True)):
        got = 0
        for _attempt in range(6):  # top up what fell outside the street's own grids
            if got >= n:
                break
            x, y = _road_points(ref, street, int(n - got), offset_m, rng)
            lons.append(x)
            lats.append(y)
            idx.append(np.full(len(x), s_i))
            got += len(x)
    if not lons:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    return np.concatenate(lons), np.concatenate(lats), np.concatenate(idx)


def _road_points(
    ref: Any,
    street: Any,
    n: int,
    offset_m: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shape(street.geometry).bounds
    want = int(n * 1.6) + 4
    roads = max(3, int(math.sqrt(street.area_m2) / 900))
    # Roads: horizontal and vertical lines through the street's box, slightly tilted.
    along = rng.integers(0, roads, size=want)
    horizontal = rng.random(roads) < 0.5
    pos = rng.random(roads)
    tilt = rng.normal(0, 0.15, roads)
    t = rng.random(want)
    cos_lat = math.cos(math.radians((miny + maxy) / 2))
    off = rng.normal(0, max(1.0, offset_m), want) / _METRES_PER_DEG
    h = horizontal[along]
    x = np.where(
        h,
        minx + t * (maxx - minx),
        minx + pos[along] * (maxx - minx) + tilt[along] * (t - 0.5) * (maxy - miny),
    )
    y = np.where(
        h,
        miny + pos[along] * (maxy - miny) + tilt[along] * (t - 0.5) * (maxx - minx),
        miny + t * (maxy - miny),
    )
    x = x + np.where(h, 0.0, off / cos_lat)
    y = y + np.where(h, off, 0.0)
    x, y = stored_array(x), stored_array(y)  # the grid is that of the stored point
    inside = ref.index.locate_many(x, y)
    in_street = np.array(
        [p >= 0 and ref.index.location_at(int(p)).street_code == street.code for p in inside.tolist()]
    )
    return x[in_street][:n], y[in_street][:n]


def _name(class_name: str, class_code: str, street_name: str, serial: int) -> str:
    short = street_name.removesuffix("街道").removesuffix("镇")
    if class_code in (
        extensions.COMPRESSION_STATION,
        extensions.PUBLIC_TOILET,
        extensions.GAS_SUPPLY_POINT,
        extensions.SORTING_POINT,
        "03004",
    ):
        return f"{short}{class_name.split('（')[0]}{serial:03d}"
    return class_name


def _attributes(class_code: str, serial: int, rng: np.random.Generator) -> dict[str, Any]:
    if class_code == extensions.COMPRESSION_STATION:
        return {
            "capacity_t_per_day": float(rng.choice([30, 50, 80, 100, 150])),
            "has_weighbridge": True,
            "weighbridge_id": f"WB-{serial:03d}",
            "camera_count": int(rng.integers(2, 7)),
        }
    if class_code == extensions.SORTING_POINT:
        smart = bool(rng.random() < 0.6)
        attrs: dict[str, Any] = {
            "bins": ["kitchen", "recyclable", "hazardous", "residual"][: int(rng.integers(2, 5))],
            "smart": smart,
            "opening_hours": "07:00-09:00" if rng.random() < 0.5 else "24h",
        }
        if smart:
            attrs["device_id"] = f"YZT-{serial:05d}"
        return attrs
    if class_code == extensions.PUBLIC_TOILET:
        return {
            "grade": str(rng.choice(["class_1", "class_2", "class_3"], p=[0.2, 0.5, 0.3])),
            "opening_hours": "24h" if rng.random() < 0.6 else "06:00-23:00",
            "accessible": bool(rng.random() < 0.7),
        }
    if class_code == extensions.GAS_SUPPLY_POINT:
        return {
            "licence_no": f"粤燃经字{440111 + serial:06d}",
            "licence_expires": (date(2027, 1, 1) + timedelta(days=int(rng.integers(0, 900)))).isoformat(),
            "cylinders_stored": int(rng.integers(20, 200)),
        }
    if class_code == extensions.OLD_TREE:
        grade = str(rng.choice(["level_1", "level_2", "level_3"], p=[0.05, 0.15, 0.8]))
        low, high = {"level_1": (500, 900), "level_2": (300, 499), "level_3": (100, 299)}[grade]
        return {
            "species": str(rng.choice(SPECIES)),
            "grade": grade,
            "age_years": int(rng.integers(low, high + 1)),
        }
    return {}
