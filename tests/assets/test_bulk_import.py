"""The bulk path of imports (and the demo): first versions hold the stored state, ids and cells add up."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.assets.factories import SANYUANLI, TOWN, user
from tests.assets.test_import_export import write_geojson
from zhili.assets import repository, service
from zhili.assets.models import Component, ComponentVersion
from zhili.assets.service import bulk
from zhili.assets.service.common import STATE_FIELDS, CellDeltas, reference, state_of
from zhili.core import clock

# Text that JSON and COPY both have to escape, and text they must leave alone.
AWKWARD = 'He said "井盖\\丢了"\tthen left\nline 2 — 🌳 \u2028 end'


def _first_versions(session, codes: list[str]) -> dict[str, ComponentVersion]:  # type: ignore[no-untyped-def]
    rows = session.execute(
        select(Component.code, ComponentVersion)
        .join(ComponentVersion, ComponentVersion.component_id == Component.id)
        .where(Component.code.in_(codes), ComponentVersion.version == 1)
    )
    return {code: v for code, v in rows}


def test_an_imported_components_first_version_holds_its_stored_state(session, tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [
        {
            "name": "导入古树",
            "class_code": "04001",
            "status": "破损",
            "department": "BY-YL",
            "lon": TOWN[0],
            "lat": TOWN[1],
            "owner": AWKWARD,
            "address": "古树路1号",
            "initial_date": "2019/03/04",
            "changed_date": "2024-05-06",
            "accuracy": "a",
            "source": "实测",
            "attributes": {"species": "榕树", "grade": "level_3", "age_years": 150},
            "notes": AWKWARD,
        },
        {"class_code": "03005", "lon": SANYUANLI[0], "lat": SANYUANLI[1], "code": "44011103005654321"},
    ]
    report = service.import_components(
        session, user(session, "admin"), write_geojson(tmp_path / "odd.geojson", rows), crs="wgs84"
    )
    assert report.ok and report.created == 2
    tree = session.scalars(select(Component).where(Component.name == "导入古树")).one()
    plain = session.scalars(select(Component).where(Component.code == "44011103005654321")).one()
    assert (tree.owner, tree.notes, tree.accuracy, tree.status) == (AWKWARD, AWKWARD, "A", "damaged")
    assert (tree.initial_date, tree.changed_date) == (date(2019, 3, 4), date(2024, 5, 6))
    assert plain.initial_date == clock.now().date() and plain.name == "垃圾箱" and plain.department_id is None
    ref = reference(session)
    versions = _first_versions(session, [tree.code, plain.code])
    for c in (tree, plain):
        v = versions[c.code]
        assert (v.action, v.actor, v.changes) == ("import", "admin", {})
        assert v.state == state_of(c, ref)
    assert versions[tree.code].state["department_code"] == "BY-YL"
    assert versions[tree.code].state["attributes"] == {"species": "榕树", "grade": "level_3", "age_years": 150}  # noqa: E501
    assert repository.cells_consistent(session)


def test_bulk_inserted_components_each_get_their_own_first_version_and_cells(session) -> None:
    ref = reference(session)
    department = ref.departments["BY-HW"]
    before = repository.class_counts(session, None).get("03005", 0)
    records = [
        {
            "code": f"44011103005{900000 + i:06d}",
            "legacy_code": None,
            "class_code": "03005",
            "name": f"批量垃圾箱{i}",
            "department_id": department.id if i % 2 else None,
            "owner": None,
            "maintainer": "养护'公司\"",
            "status": "missing" if i == 3 else "intact",
            "lon": SANYUANLI[0] + i * 0.0001,
            "lat": SANYUANLI[1],
            "grid_code": "440111002001001",
            "community_code": "440111002001",
            "street_code": "440111002",
            "address": None,
            "initial_date": date(2020, 1, i + 1),
            "changed_date": None,
            "data_source": "other",
            "accuracy": None,
            "photos": [],
            "attributes": {},
            "notes": None,
        }
        for i in range(5)
    ]
    deltas = CellDeltas()
    bulk.insert_records(session, ref, records, "tests", "create", clock.now(), deltas)
    deltas.write(session)
    stored = {c.code: c for c in session.scalars(select(Component).where(Component.name.like("批量垃圾箱%")))}
    versions = _first_versions(session, list(stored))
    assert len(stored) == len(versions) == 5 and len({c.id for c in stored.values()}) == 5
    for code, c in stored.items():
        assert versions[code].component_id == c.id and versions[code].state == state_of(c, ref)
        assert c.cell and c.major_code == "03" and c.version == 1
    assert repository.class_counts(session, None).get("03005", 0) == before + 5
    assert repository.class_counts(session, None, ["missing"]).get("03005", 0) >= 1
    assert repository.cells_consistent(session)


def test_a_record_may_leave_out_the_optional_fields_but_not_the_others(session) -> None:
    ref = reference(session)
    record = {
        "code": "44011103005909999", "class_code": "03005", "name": "最简垃圾箱", "status": "intact",
        "lon": SANYUANLI[0], "lat": SANYUANLI[1], "grid_code": "440111002001001",
        "community_code": "440111002001", "street_code": "440111002",
    }
    deltas = CellDeltas()
    with pytest.raises(ValueError, match="needs street_code"):
        bulk.insert_records(session, ref, [{k: v for k, v in record.items() if k != "street_code"}], "tests",
                            "create", clock.now(), deltas)
    bulk.insert_records(session, ref, [record], "tests", "create", clock.now(), deltas)
    deltas.write(session)
    stored = session.scalars(select(Component).where(Component.code == record["code"])).one()
    assert (stored.owner, stored.photos, stored.attributes, stored.data_source) == (None, [], {}, "other")
    assert stored.initial_date == clock.now().date()


@pytest.mark.parametrize(
    "value",
    [None, "", "plain", AWKWARD, "\x00\x1f\x7f", "中文"],
)
def test_the_state_text_is_the_json_of_the_state(value: str | None) -> None:
    row = (
        "44011103005000001",
        value,
        "03005",
        value or "x",
        None,
        value,
        value,
        "intact",
        113.2603123,
        23.1623,
        "440111002001001",
        "440111002001",
        "440111002",
        value,
        date(2020, 1, 2),
        None,
        "other",
        None,
        "[]",
        json.dumps({"k": value}),
        value,
    )
    state = json.loads(bulk.state_json(row, "BY-HW"))
    assert list(state) == list(STATE_FIELDS)
    assert state["legacy_code"] == value and state["notes"] == value and state["lon"] == 113.2603123
    assert state["initial_date"] == "2020-01-02" and state["changed_date"] is None
    assert state["department_code"] == "BY-HW" and state["attributes"] == {"k": value}


def test_a_refused_value_is_refused_on_every_row_that_has_it(session, tmp_path: Path) -> None:
    rows = [
        {"class_code": "03005", "lon": SANYUANLI[0], "lat": SANYUANLI[1], "status": "很好"} for _ in range(3)
    ]
    path = write_geojson(tmp_path / "same.geojson", rows)
    before = session.scalar(select(func.count()).select_from(Component))
    report = service.import_components(session, user(session, "admin"), path, crs="wgs84", dry_run=True)
    assert [e["row"] for e in report.errors] == [1, 2, 3] and all("很好" in e["msg"] for e in report.errors)
    assert session.scalar(select(func.count()).select_from(Component)) == before


def test_text_with_a_nul_character_is_refused_as_a_row_error(session, tmp_path: Path) -> None:
    rows = [{"class_code": "03005", "lon": SANYUANLI[0], "lat": SANYUANLI[1], "name": "井\x00盖"}]
    path = write_geojson(tmp_path / "nul.geojson", rows)
    report = service.import_components(session, user(session, "admin"), path, crs="wgs84", dry_run=True)
    assert [e["row"] for e in report.errors] == [1] and "NUL" in report.errors[0]["msg"]
