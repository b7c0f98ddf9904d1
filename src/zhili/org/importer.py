"""Import of streets, towns, communities and unit grids from GeoJSON with a declared CRS: all rows or none.

Every feature is checked before anything is written — code format and parent, name, geometry type
and validity, position inside the district, duplicates within the file — and the report lists every
problem with its feature number. Existing codes are updated in place (so an import can be re-run);
new ones are created. A dry run stops after the checks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import shape
from sqlalchemy import insert
from sqlalchemy.orm import Session

from zhili.core import audit, clock, geo
from zhili.core.errors import DomainError, Invalid
from zhili.org import repository
from zhili.org.geography import footprint_fields
from zhili.org.models import AdminArea, UnitGrid

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

LEVELS = ("street", "town", "community", "grid")
# How much of a shape may lie outside the district boundary (digitising differences at the edge).
MAX_OUTSIDE_SHARE = 0.05
_CODE_LENGTH = {"street": 9, "town": 9, "community": 12, "grid": 15}


@dataclass
class ImportReport:
    level: str
    crs: str
    dry_run: bool
    features: int = 0
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        mode = "dry run" if self.dry_run else "import"
        if not self.ok:
            return f"{mode}: {self.features} features, {len(self.errors)} errors; nothing written"
        if self.dry_run:
            return (f"dry run: {self.features} features valid "
                    f"({self.created} new, {self.updated} to update); "
                    "nothing written")
        return (f"imported {self.features} {self.level} features: "
                f"{self.created} created, {self.updated} updated")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "dry_run": self.dry_run, "level": self.level, "crs": self.crs,
                "features": self.features, "created": self.created, "updated": self.updated,
                "errors": self.errors}


@dataclass
class _Row:
    number: int
    code: str
    name: str
    geometry: BaseGeometry  # WGS-84


def import_areas(session: Session, actor: str | None, path: Path, *, crs: str, level: str,
                 dry_run: bool = False) -> ImportReport:
    """CLI entry: read a file and import it (see import_areas_bytes)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Invalid(f"Cannot read {path}: {exc.strerror}.") from exc
    return import_areas_bytes(session, actor, raw, crs=crs, level=level, dry_run=dry_run)


def import_areas_bytes(session: Session, actor: str | None, raw: bytes, *, crs: str, level: str,
                       dry_run: bool = False, client_ip: str | None = None) -> ImportReport:
    """Check every feature, then write all of them or none. Raises Invalid when a real import has errors."""
    crs_name = geo.parse_crs(crs)
    if level not in LEVELS:
        raise Invalid(f"Unknown level {level!r}; choose one of {', '.join(LEVELS)}.")
    report = ImportReport(level=level, crs=crs_name, dry_run=dry_run)
    features = _features(raw)
    report.features = len(features)
    district = repository.district(session)
    if district is None:
        raise Invalid("There is no district yet: load the district boundary (or the demo) first.")
    district_geom = shape(district.geometry)
    shapely.prepare(district_geom)

    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for number, feature in enumerate(features, start=1):
        row = _check_feature(number, feature, level, crs_name, district.code, district_geom, report.errors)
        if row is None:
            continue
        if row.code in seen:
            report.errors.append(f"feature {number}: code {row.code} repeats feature {seen[row.code]}")
            continue
        seen[row.code] = number
        rows.append(row)

    parents = _parents(session, rows, level, district, report.errors)
    existing: dict[str, Any] = (repository.grids_by_codes(session, [r.code for r in rows]) if level == "grid"
                                else repository.areas_by_codes(session, [r.code for r in rows]))
    if level != "grid":
        for r in rows:
            found = existing.get(r.code)
            if found is not None and found.level != level:
                report.errors.append(f"feature {r.number}: code {r.code} exists already as a {found.level}")
    report.updated = sum(1 for r in rows if r.code in existing)
    report.created = len(rows) - report.updated
    if not report.ok:
        if dry_run:
            return report
        raise Invalid(report.summary(), errors=[{"msg": e} for e in report.errors[:500]])
    if dry_run:
        return report
    _write(session, rows, level, parents, existing)
    repository.bump_geography_revision(session)
    audit.record(session, actor=actor, action="org.import_areas",
                 entity_type="admin_area" if level != "grid" else "unit_grid", entity_id=level,
                 after={"crs": crs_name, "created": report.created, "updated": report.updated,
                        "codes": [r.code for r in rows[:50]]}, client_ip=client_ip)
    return report


def _features(raw: bytes) -> list[Any]:
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text; GeoJSON must be UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise Invalid(f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, "
                      f"column {exc.colno}.") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or \
            not isinstance(doc.get("features"), list):
        raise Invalid("The file must be a GeoJSON FeatureCollection with a 'features' list.")
    if not doc["features"]:
        raise Invalid("The FeatureCollection has no features.")
    return list(doc["features"])


def _normalise_code(code: str, level: str) -> str:
    # Older systems numbered unit grids with 14 digits (2-digit serial): accept them, store 15.
    if level == "grid" and len(code) == 14:
        return code[:12] + "0" + code[12:]
    return code


def _check_feature(number: int, feature: Any, level: str, crs: geo.CRS, district_code: str,
                   district_geom: BaseGeometry, errors: list[str]) -> _Row | None:
    where = f"feature {number}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        errors.append(f"{where}: not a GeoJSON Feature")
        return None
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        errors.append(f"{where}: properties must be an object")
        return None
    raw_code = str(props.get("code", "")).strip()
    code = _normalise_code(raw_code, level)
    want = _CODE_LENGTH[level]
    if not re.fullmatch(rf"\d{{{want}}}", code):
        errors.append(f"{where}: code {raw_code!r} is not {want} digits")
        return None
    if not code.startswith(district_code):
        errors.append(f"{where}: code {code} does not start with the district code {district_code}")
        return None
    name = str(props.get("name", "")).strip()
    if level != "grid" and not name:
        errors.append(f"{where} ({code}): name is missing")
        return None
    if len(name) > 100:
        errors.append(f"{where} ({code}): name is longer than 100 characters")
        return None
    gjson = feature.get("geometry")
    if not isinstance(gjson, dict) or gjson.get("type") not in ("Polygon", "MultiPolygon"):
        got = gjson.get("type") if isinstance(gjson, dict) else type(gjson).__name__
        errors.append(f"{where} ({code}): geometry must be a Polygon or MultiPolygon, got {got}")
        return None
    try:
        converted = geo.transform_geojson_geometry(gjson, crs, "wgs84")
        geom = shape(converted)
    except (DomainError, ValueError, TypeError, IndexError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else str(exc)
        errors.append(f"{where} ({code}): bad coordinates: {detail}")
        return None
    lon_lat = shapely.get_coordinates(geom)
    lons, lats = lon_lat[:, 0], lon_lat[:, 1]
    if not ((lons >= -180) & (lons <= 180) & (lats >= -90) & (lats <= 90)).all():
        errors.append(f"{where} ({code}): coordinates out of range (is the order lon, lat?)")
        return None
    if not geom.is_valid:
        errors.append(f"{where} ({code}): invalid polygon: {shapely.is_valid_reason(geom)}")
        return None
    if geom.area == 0:
        errors.append(f"{where} ({code}): the polygon has no area")
        return None
    outside = geom.difference(district_geom).area / geom.area
    if outside > MAX_OUTSIDE_SHARE:
        errors.append(f"{where} ({code}): {outside:.0%} of the shape lies outside the district "
                      f"(is the CRS right? declared {crs})")
        return None
    return _Row(number, code, name, geom)


def _parents(session: Session, rows: list[_Row], level: str, district: AdminArea,
             errors: list[str]) -> dict[str, int]:
    """Parent ids by parent code; a missing parent is an error on each of its rows."""
    if level in ("street", "town"):
        return {district.code: district.id}
    cut, parent_levels = (9, ("street", "town")) if level == "community" else (12, ("community",))
    found = repository.areas_by_codes(session, sorted({r.code[:cut] for r in rows}))
    for r in rows:
        parent = found.get(r.code[:cut])
        if parent is None or parent.level not in parent_levels:
            errors.append(f"feature {r.number} ({r.code}): its {parent_levels[0]} {r.code[:cut]} "
                          "does not exist")
    return {code: a.id for code, a in found.items()}


def _write(session: Session, rows: list[_Row], level: str, parents: dict[str, int],
           existing: dict[str, Any]) -> None:
    now = clock.now()
    new_grids: list[dict[str, Any]] = []
    for r in rows:
        fields = {"area_m2": geo.geodesic_area_m2(r.geometry), "approximate": False,
                  **footprint_fields(r.geometry)}
        found = existing.get(r.code)
        if level == "grid":
            if found is not None:
                for k, v in fields.items():
                    setattr(found, k, v)
                found.community_id = parents[r.code[:12]]
            else:
                new_grids.append({"code": r.code, "community_id": parents[r.code[:12]], **fields})
            continue
        parent_id = parents[r.code[:9]] if level == "community" else parents[next(iter(parents))]
        if found is not None:
            for k, v in fields.items():
                setattr(found, k, v)
            found.name, found.parent_id, found.updated_at = r.name, parent_id, now
            found.source = "import"
        else:
            session.add(AdminArea(code=r.code, name=r.name, level=level, parent_id=parent_id,
                                  source="import", updated_at=now, **fields))
    for i in range(0, len(new_grids), 2000):
        session.execute(insert(UnitGrid), new_grids[i:i + 2000])
    session.flush()
