"""Export any filtered set of components to a file in the formats the importer reads (round trip)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from zhili.assets import formats, repository
from zhili.assets.models import Component
from zhili.assets.schemas import ComponentFilters
from zhili.assets.service.common import Reference, reference, stored
from zhili.assets.service.inventory import streets_of
from zhili.core import geo

if TYPE_CHECKING:
    from zhili.identity.models import User


def export_components(
    session: Session,
    user: User | None,
    filters: ComponentFilters,
    path: Path,
    *,
    fmt: str,
    crs: str = "wgs84",
) -> int:
    """Write the components the user may see that match `filters`; returns how many were written."""
    file_format = formats.detect_format(path, fmt)
    crs_name = geo.parse_crs(crs)
    ref = reference(session)
    dept_id = None
    if filters.department is not None:
        dept = ref.department(filters.department)
        dept_id = dept.id if dept else None
    chunks = (
        _rows(ref, chunk, crs_name)
        for chunk in repository.iter_filtered(session, filters, streets_of(user), dept_id)
    )
    return formats.write_file(path, file_format, chunks, crs_name)


def _rows(ref: Reference, chunk: Any, crs: geo.CRS) -> list[dict[str, Any]]:
    comps: list[Component] = list(chunk)
    lons, lats = geo.from_wgs84(np.array([c.lon for c in comps]), np.array([c.lat for c in comps]), crs)
    out = []
    for c, lon, lat in zip(comps, lons.tolist(), lats.tolist(), strict=True):
        klass = ref.classes.get(c.class_code)
        dept = ref.departments_by_id.get(c.department_id) if c.department_id else None
        out.append(
            {
                "code": c.code,
                "legacy": c.legacy_code,
                "class_code": c.class_code,
                "class_name": klass.name if klass else None,
                "name": c.name,
                "department": dept.code if dept else None,
                "owner": c.owner,
                "maintainer": c.maintainer,
                "status": c.status,
                "grid_code": c.grid_code,
                "community": c.community_code,
                "street": c.street_code,
                "address": c.address,
                "init_date": c.initial_date,
                "chg_date": c.changed_date,
                "source": c.data_source,
                "accuracy": c.accuracy,
                "attrs": c.attributes or {},
                "photos": ",".join(c.photos or []),
                "notes": c.notes,
                "lon": stored(lon),
                "lat": stored(lat),
            }
        )
    return out

