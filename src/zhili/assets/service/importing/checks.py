"""An import's rows checked: fields normalised, codes and vocabularies looked up, points located.

A row that fails says why (ValueError or a DomainError with the message); the chunk check records it
in the report and keeps the rows that passed. Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from zhili.assets import extensions, formats, ids
from zhili.assets.service.common import Reference, stored_array
from zhili.assets.service.importing.report import ImportReport
from zhili.assets.states import ACCURACIES, parse_data_source, parse_status
from zhili.core import geo
from zhili.core.errors import DomainError

_TEXT_LIMITS = {"name": 100, "owner": 100, "maintainer": 100, "address": 200, "notes": 2000}
# Distinct answers remembered per field and import (a bound on memory, not a limit on the file).
_MEMO_LIMIT = 20_000


@dataclass
class Row:
    """One row that passed its own checks (the chunk check adds its place)."""

    number: int
    code: str | None  # 17 digits once known
    legacy: str | None
    serial: int | None
    values: dict[str, Any]  # state fields given by the file (department as code)
    lon: float = 0.0
    lat: float = 0.0


class Lookups:
    """The reference tables of one import, with each vocabulary answer (or refusal) remembered."""

    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self._classes: _Memo = {}
        self._departments: _Memo = {}
        self._statuses: _Memo = {}
        self._sources: _Memo = {}
        self._accuracies: _Memo = {}
        self._days: _Memo = {}

    def class_code(self, value: Any) -> str | None:
        return _answer(self._classes, value, self._class_code)

    def _class_code(self, value: Any) -> str | None:
        text = text_of(value)
        if text is not None and len(text) == 4 and text.isascii() and text.isdigit():
            text = text.zfill(5)  # a spreadsheet dropped the leading zero
        return None if text is None else self.ref.klass(text).code

    def department(self, value: Any) -> str | None:
        return _answer(self._departments, value, self._department)

    def _department(self, value: Any) -> str | None:
        dept = self.ref.department(text_of(value))
        return dept.code if dept else None

    def status(self, value: Any) -> str:
        return _answer(self._statuses, value, _status)

    def data_source(self, value: Any) -> str:
        return _answer(self._sources, value, _data_source)

    def accuracy(self, value: Any) -> str | None:
        return _answer(self._accuracies, value, _accuracy)

    def day(self, value: Any) -> str | None:
        return _answer(self._days, value, _iso_day)


_Memo = dict[Any, tuple[Any, str | None]]


def _answer(memo: _Memo, value: Any, parse: Callable[[Any], Any]) -> Any:
    """parse(value), remembered: a file repeats a handful of values per vocabulary field."""
    key = value if type(value) is str else (type(value), value)  # 1, 1.0 and True are equal keys
    try:
        hit = memo.get(key)
    except TypeError:  # an unhashable value (a list in a JSON property): nothing to remember
        return parse(value)
    if hit is None:
        try:
            hit = (parse(value), None)
        except DomainError as exc:
            hit = (None, exc.detail)
        except ValueError as exc:
            hit = (None, str(exc))
        if len(memo) < _MEMO_LIMIT:
            memo[key] = hit
    if hit[1] is not None:
        raise ValueError(hit[1])
    return hit[0]


def text_of(v: Any) -> str | None:
    if v is None:
        return None
    if type(v) is not str:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        v = str(v)
    s = v.strip()
    return s or None


def day_of(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v).strip()[:10].replace("/", "-"))
    except ValueError as exc:
        raise ValueError(f"{v!r} is not a date (YYYY-MM-DD)") from exc


def _iso_day(v: Any) -> str | None:
    d = day_of(v)
    return d.isoformat() if d else None


def _status(v: Any) -> str:
    text = text_of(v) or "intact"
    status = parse_status(text)
    if status is None:
        raise ValueError(
            f"status {text!r} is not one of 完好/破损/丢失/废弃/移除 "
            "(intact, damaged, missing, abandoned, removed)"
        )
    return status


def _data_source(v: Any) -> str:
    text = text_of(v) or "other"
    source = parse_data_source(text)
    if source is None:
        raise ValueError(f"data source {text!r} is not one of 实测/地形图/基础地理数据/其他")
    return source


def _accuracy(v: Any) -> str | None:
    acc = text_of(v)
    if acc is not None and acc.upper() not in ACCURACIES:
        raise ValueError(f"accuracy {acc!r} is not A, B or C")
    return acc.upper() if acc else None


def _number(v: Any, name: str) -> float:
    if isinstance(v, bool) or v is None or v == "":
        raise ValueError(f"{name} is missing")
    try:
        return float(v)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} {v!r} is not a number") from exc


def check_row(number: int, raw: dict[str, Any], look: Lookups) -> Row:
    """One row's fields checked and normalised; raises ValueError or DomainError saying what is wrong."""
    if "_error" in raw:
        raise ValueError(raw["_error"])
    ref = look.ref
    code_text = text_of(raw.get("code"))
    legacy = None
    parsed = None
    if code_text:
        if len(code_text) == 16:
            legacy = code_text
            parsed = ids.from_legacy(code_text, ref.district, ref.class_for_legacy)
        else:
            parsed = ids.parse(code_text, ref.district)
    class_code = look.class_code(raw.get("class_code"))
    if class_code is None:
        if parsed is None:
            raise ValueError("class_code is missing (and there is no ID to take it from)")
        class_code = ref.klass(parsed.class_code).code
    elif parsed is not None and parsed.class_code != class_code:
        raise ValueError(
            f"ID {parsed.code} is of class {parsed.class_code}, but class_code says {class_code}"
        )
    values: dict[str, Any] = {"class_code": class_code}
    for name, limit in _TEXT_LIMITS.items():
        if name in raw:
            text = text_of(raw[name])
            if text is not None:
                if len(text) > limit:
                    raise ValueError(f"{name} is longer than {limit} characters")
                if "\x00" in text:  # PostgreSQL's text cannot hold it
                    raise ValueError(f"{name} contains a NUL character")
            values[name] = text
    if not values.get("name"):
        values["name"] = ref.classes[class_code].name  # unnamed rows (a litter bin) take their class's name
    if "department" in raw:
        values["department_code"] = look.department(raw["department"])
    if "status" in raw or parsed is None:
        values["status"] = look.status(raw.get("status"))
    if "data_source" in raw or parsed is None:
        values["data_source"] = look.data_source(raw.get("data_source"))
    if "accuracy" in raw:
        values["accuracy"] = look.accuracy(raw["accuracy"])
    for name in ("initial_date", "changed_date"):
        if name in raw:
            values[name] = look.day(raw[name])
    if "attributes" in raw:
        values["attributes"] = _attributes(class_code, raw["attributes"])
    row = Row(number, parsed.code if parsed else None, legacy, parsed.serial if parsed else None, values)
    row.lon, row.lat = _number(raw.get("lon"), "lon"), _number(raw.get("lat"), "lat")
    return row


def _attributes(class_code: str, attrs: Any) -> dict[str, Any]:
    if isinstance(attrs, str):
        try:
            attrs = json.loads(attrs) if attrs.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"attributes are not valid JSON: {exc.msg}") from exc
    cleaned, problems = extensions.check_attributes(class_code, attrs)
    if problems:
        raise ValueError("; ".join(problems))
    return cleaned


def check_chunk(
    chunk: list[formats.RawRow],
    look: Lookups,
    crs: geo.CRS,
    seen: dict[str, int],
    streets: list[str] | None,
    report: ImportReport,
) -> list[Row]:
    """The rows of a chunk that pass, located in WGS-84 and in their grid; the others go to the report."""
    rows: list[Row] = []
    for number, raw in chunk:
        try:
            rows.append(check_row(number, raw, look))
        except (ValueError, DomainError) as exc:
            report.error(
                number, exc.detail if isinstance(exc, DomainError) else str(exc), text_of(raw.get("code"))
            )
    if not rows:
        return rows
    lons = np.array([r.lon for r in rows], dtype=np.float64)
    lats = np.array([r.lat for r in rows], dtype=np.float64)
    in_range = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
    wlons, wlats = geo.to_wgs84(np.where(in_range, lons, 0.0), np.where(in_range, lats, 0.0), crs)
    # Located where they will be stored (see common.POSITION_DECIMALS).
    wlons, wlats = stored_array(wlons), stored_array(wlats)
    index = look.ref.index
    positions = index.locate_many(wlons, wlats)
    kept: list[Row] = []
    for r, ok, pos, wlon, wlat in zip(
        rows, in_range.tolist(), positions.tolist(), wlons.tolist(), wlats.tolist(), strict=True
    ):
        if not ok:
            report.error(r.number, f"lon/lat ({r.lon}, {r.lat}) is not a longitude/latitude pair", r.code)
            continue
        if pos < 0:
            report.error(
                r.number,
                f"({r.lon}, {r.lat}) in {crs} is outside the district "
                f"(or in no unit grid); is the declared CRS right?",
                r.code,
            )
            continue
        loc = index.location_at(pos)
        if streets is not None and loc.street_code not in streets:
            report.error(r.number, f"the point is in street {loc.street_code}, outside your streets", r.code)
            continue
        values = r.values
        values["lon"], values["lat"] = wlon, wlat
        values["grid_code"] = loc.grid_code
        values["community_code"] = loc.community_code
        values["street_code"] = loc.street_code
        if r.code is not None:
            first = seen.get(r.code)
            if first is not None:
                report.error(r.number, f"duplicate ID {r.code}: row {first} has it too", r.code)
                continue
            seen[r.code] = r.number
        kept.append(r)
    return kept
