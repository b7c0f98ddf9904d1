"""The columns of component files: accepted names (aliases) on the way in, export names on the way out."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal, get_args

Format = Literal["geojson", "shp", "gpkg", "csv", "xlsx"]
FORMATS: tuple[Format, ...] = get_args(Format)
RawRow = tuple[int, dict[str, Any]]

# Canonical name -> accepted column names (case-insensitive for ASCII). Export uses the canonical
# names, all at most 10 characters so that a Shapefile keeps them whole.
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "id", "component_id", "部件标识码", "标识码", "部件编码", "bsm"),
    "class_code": ("class_code", "class", "部件类别", "类别代码", "小类代码", "部件小类"),
    "name": ("name", "部件名称", "名称"),
    "department": ("department", "dept", "主管部门", "主管部门代码", "主管部门名称"),
    "owner": ("owner", "权属单位"),
    "maintainer": ("maintainer", "养护单位"),
    "status": ("status", "部件状态", "状态"),
    "lon": ("lon", "lng", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "address": ("address", "地址", "位置描述"),
    "initial_date": ("init_date", "initial_date", "初始日期"),
    "changed_date": ("chg_date", "changed_date", "变更日期"),
    "data_source": ("source", "data_source", "数据来源"),
    "accuracy": ("accuracy", "精度等级", "定位精度"),
    "attributes": ("attrs", "attributes", "扩展属性"),
    "notes": ("notes", "备注"),
}
_LOOKUP = {alias.lower(): canon for canon, aliases in ALIASES.items() for alias in aliases}

# Export columns, in order (lon/lat last for flat formats; spatial formats put them in the geometry).
EXPORT_FIELDS = (
    "code",
    "legacy",
    "class_code",
    "class_name",
    "name",
    "department",
    "owner",
    "maintainer",
    "status",
    "grid_code",
    "community",
    "street",
    "address",
    "init_date",
    "chg_date",
    "source",
    "accuracy",
    "attrs",
    "photos",
    "notes",
)


@lru_cache(maxsize=4096)
def canonical(name: str) -> str | None:
    return _LOOKUP.get(str(name).strip().lower())


def fields_of(props: dict[str, Any]) -> dict[str, Any]:
    """A record's known fields under their canonical names (the first of two aliases wins)."""
    return {canon: props[key] for key, canon in _renaming(tuple(props))}


@lru_cache(maxsize=256)
def _renaming(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(key, canonical name) for the known keys of a record: the rows of a file share a few key sets."""
    out: list[tuple[str, str]] = []
    taken: set[str] = set()
    for key in keys:
        canon = canonical(key)
        if canon is not None and canon not in taken:
            taken.add(canon)
            out.append((key, canon))
    return tuple(out)


def cell_text(v: Any) -> Any:
    """A value for a flat file's cell: dates as ISO text, lists and objects as compact JSON."""
    if isinstance(v, date | datetime):
        return v.isoformat()
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":")) if v else ""
    return v
