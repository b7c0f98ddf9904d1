"""Component use cases on the database: IDs, history at a date, case outcomes, the map's summary, scope."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.assets.factories import OUTSIDE, SANYUANLI, TOWN, make_component, user
from zhili.assets import repository, service
from zhili.assets.models import ComponentCell, ComponentVersion
from zhili.assets.schemas import ComponentChange, ComponentFilters
from zhili.core import clock, geo
from zhili.core.errors import Conflict, Invalid, NotFound


@pytest.fixture
def frozen():  # type: ignore[no-untyped-def]
    moments = iter([])

    def set_at(*stamps: datetime) -> None:
        nonlocal moments
        moments = iter(stamps)
        clock.set_clock(lambda: next(moments))

    yield set_at
    clock.set_clock(None)


def test_ids_are_assigned_per_class_in_sequence(session) -> None:
    a = make_component(session)
    b = make_component(session)
    lamp = make_component(session, class_code="01037", department="BY-SZ", name="路灯")
    assert a.code.startswith("44011103005") and len(a.code) == 17
    assert int(b.code[11:]) == int(a.code[11:]) + 1
    assert lamp.code.startswith("44011101037")


def test_an_explicit_id_pushes_later_assigned_ids_above_it(session) -> None:
    given = make_component(session, code="44011103005900000")
    after = make_component(session)
    assert given.code == "44011103005900000" and after.code == "44011103005900001"
    with pytest.raises(Conflict):
        make_component(session, code="44011103005900000")


def test_a_legacy_id_is_kept_beside_its_17_digit_successor(session) -> None:
    c = make_component(session, code="4401110305777777")
    assert c.code == "44011103005777777" and c.legacy_code == "4401110305777777"


def test_a_point_outside_the_district_is_refused(session) -> None:
    with pytest.raises(Invalid, match="outside"):
        make_component(session, at=OUTSIDE)


def test_registration_locates_the_component_in_its_grid_community_and_street(session) -> None:
    c = make_component(session)
    assert c.street_code == "440111002" and c.grid_code.startswith(c.community_code)
    assert len(c.grid_code) == 15 and len(c.cell) == 15


def test_extension_attributes_are_validated_on_registration(session) -> None:
    with pytest.raises(Invalid, match="camera_count"):
        make_component(
            session, class_code="03901", attributes={"capacity_t_per_day": 50, "has_weighbridge": True}
        )
    station = make_component(
        session,
        class_code="03901",
        name="三元里垃圾压缩站",
        attributes={"capacity_t_per_day": 50, "has_weighbridge": True, "camera_count": 3},
    )
    assert station.attributes["camera_count"] == 3


def test_the_state_at_a_past_date_comes_from_the_history(session, frozen) -> None:
    admin = user(session, "admin")
    frozen(datetime(2026, 3, 1, 2, tzinfo=UTC), datetime(2026, 3, 1, 2, tzinfo=UTC))
    c = make_component(session, status="intact")
    frozen(*[datetime(2026, 7, 10, 2, tzinfo=UTC)] * 3)
    service.change_component(
        session, admin, c.code, ComponentChange(version=c.version, status="missing", note="巡查发现井盖丢失")
    )
    frozen(*[datetime(2026, 9, 1, 2, tzinfo=UTC)] * 3)
    service.apply_case_outcome(session, "shift_leader", c.code, "intact", case_number="BY2026090100012")
    clock.set_clock(None)

    def at(day: str) -> str:
        when = service.end_of_day(datetime.fromisoformat(day).date(), "Asia/Shanghai")
        return service.read_component(session, admin, c.code, at=when).status

    assert at("2026-06-01") == "intact" and at("2026-07-10") == "missing" and at("2026-09-01") == "intact"
    with pytest.raises(NotFound, match="not yet recorded"):
        service.read_component(
            session, admin, c.code, at=service.end_of_day(datetime(2026, 2, 1).date(), "Asia/Shanghai")
        )
    versions = service.history(session, admin, c.code)
    assert [v.action for v in versions] == ["case_outcome", "change", "create"]
    assert versions[0].case_number == "BY2026090100012" and versions[0].changes["status"] == [
        "missing",
        "intact",
    ]
    assert versions[1].actor == "admin" and versions[1].note == "巡查发现井盖丢失"


def test_a_case_outcome_is_idempotent(session) -> None:
    c = make_component(session, status="missing")
    first = service.apply_case_outcome(session, "shift_leader", c.code, "intact", case_number="C1")
    again = service.apply_case_outcome(session, "shift_leader", c.code, "intact", case_number="C1")
    assert first.status == again.status == "intact" and first.version == again.version == 2
    with pytest.raises(Invalid):
        service.apply_case_outcome(session, None, c.code, "fixed", case_number="C1")
    with pytest.raises(NotFound):
        service.apply_case_outcome(session, None, "44011103005999998", "intact", case_number="C1")


def test_a_change_to_a_stale_version_is_refused(session) -> None:
    c = make_component(session)
    admin = user(session, "admin")
    service.change_component(session, admin, c.code, ComponentChange(version=1, name="新名字"))
    with pytest.raises(Conflict, match="version 2"):
        service.change_component(session, admin, c.code, ComponentChange(version=1, name="又一个"))


def test_a_change_that_changes_nothing_writes_no_version(session) -> None:
    c = make_component(session)
    service.change_component(session, user(session, "admin"), c.code, ComponentChange(version=1, name=c.name))
    assert (
        session.scalar(
            select(func.count()).select_from(ComponentVersion).where(ComponentVersion.component_id == c.id)
        )
        == 1
    )


def test_the_cell_summary_follows_every_write(session) -> None:
    before = repository.class_counts(session, None)
    c = make_component(session, class_code="04003", department="BY-YL", name="独立树")
    admin = user(session, "admin")
    service.change_component(
        session, admin, c.code, ComponentChange(version=1, status="damaged", lon=TOWN[0], lat=TOWN[1])
    )
    after = repository.class_counts(session, None)
    assert after.get("04003", 0) == before.get("04003", 0) + 1
    assert repository.cells_consistent(session)
    damaged = session.scalar(
        select(func.sum(ComponentCell.n_damaged)).where(
            ComponentCell.res == 10,
            ComponentCell.class_code == "04003",
            ComponentCell.street_code == c.street_code,
        )
    )
    assert damaged >= 1 and c.street_code != "440111002"


def test_the_viewport_gives_cells_zoomed_out_and_points_zoomed_in(session) -> None:
    for i in range(5):
        make_component(
            session, at=(SANYUANLI[0] + i * 0.0002, SANYUANLI[1]), status="damaged" if i else "intact"
        )
    admin = user(session, "admin")
    far = service.viewport(session, admin, bbox=(113.1, 23.1, 113.6, 23.5), zoom=11, crs="wgs84")
    assert far["mode"] == "cells" and far["total"] >= 5 and all(len(c) == 5 for c in far["cells"])
    (x0, x1), (y0, y1) = geo.wgs84_to_gcj02(np.array([113.258, 113.264]), np.array([23.161, 23.164]))
    near = service.viewport(session, admin, bbox=(x0, y0, x1, y1), zoom=17, crs="gcj02")
    assert near["mode"] == "points"
    mine = [p for p in near["points"] if p[1] == "03005"]
    assert len(mine) >= 5 and {p[2] for p in mine} >= {"intact", "damaged"}
    lon, lat = geo.gcj02_to_wgs84(mine[0][3], mine[0][4])  # coordinates come back in the CRS asked for
    assert 113.258 <= lon <= 113.264 and 23.161 <= lat <= 23.164
    only_damaged = service.viewport(
        session,
        admin,
        bbox=(113.258, 23.161, 113.264, 23.164),
        zoom=17,
        crs="wgs84",
        statuses=["damaged"],
        classes=["03005"],
    )
    assert {p[2] for p in only_damaged["points"]} == {"damaged"}


def test_a_street_scoped_user_lists_only_its_streets(session) -> None:
    here = make_component(session, name="三元里的箱")
    there = make_component(session, at=TOWN, name="镇上的箱")
    inspector = user(session, "inspector")
    assert inspector.area_codes == ["440111002"]
    page = service.list_components(session, inspector, ComponentFilters(q="的箱"))
    codes = {i.code for i in page.items}
    assert here.code in codes and there.code not in codes
    with pytest.raises(NotFound):
        service.read_component(session, inspector, there.code)
    counts = service.viewport(session, inspector, bbox=(113.1, 23.1, 113.6, 23.5), zoom=11, crs="wgs84")
    everyone = service.viewport(
        session, user(session, "admin"), bbox=(113.1, 23.1, 113.6, 23.5), zoom=11, crs="wgs84"
    )
    assert counts["total"] < everyone["total"]


def test_search_finds_by_id_prefix_name_and_address(session) -> None:
    c = make_component(
        session, name="白云大道路灯", class_code="01037", department="BY-SZ", address="白云大道北88号"
    )
    admin = user(session, "admin")
    for q in (c.code, c.code[:14], "白云大道路灯", "北88号"):
        assert c.code in {
            i.code for i in service.list_components(session, admin, ComponentFilters(q=q)).items
        }, q


def test_photos_must_be_uploaded_evidence(session) -> None:
    with pytest.raises(Invalid, match="upload the photo first"):
        make_component(session, photos=["a" * 64])
