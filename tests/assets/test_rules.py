"""Pure rules: component IDs, statuses and the attribute schema of each extension type."""

from __future__ import annotations

import pytest

from zhili.assets import cells, extensions, ids
from zhili.assets.states import parse_data_source, parse_status
from zhili.core.errors import Invalid


def test_an_id_is_district_class_and_six_digit_serial() -> None:
    assert ids.compose("440111", "03005", 1) == "44011103005000001"
    parsed = ids.parse("44011103005000123", "440111")
    assert (parsed.class_code, parsed.serial) == ("03005", 123)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("4401110300500001", "17 digits"),
        ("44011203005000001", "district code 440111"),
        ("44011103005000000", "serial 000000"),
        ("4401110300500000A", "17 digits"),
    ],
)
def test_a_bad_id_is_refused_saying_why(code: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        ids.parse(code, "440111")


def test_serials_run_out_after_999999() -> None:
    with pytest.raises(Invalid, match="used all"):
        ids.compose("440111", "03005", 1_000_000)


def test_a_legacy_16_digit_id_becomes_17_digits_through_the_class_map() -> None:
    new = ids.from_legacy("4401110305000042", "440111", lambda legacy: {"0305": "03005"}.get(legacy))
    assert new.code == "44011103005000042"
    with pytest.raises(Invalid, match=r"no GB/T 47678\.5 equivalent"):
        ids.from_legacy("4401119999000042", "440111", lambda legacy: None)


def test_statuses_and_sources_are_read_in_english_or_chinese() -> None:
    assert parse_status("丢失") == "missing" and parse_status("Damaged") == "damaged"
    assert parse_status("broken") is None
    assert parse_data_source("实测") == "surveyed" and parse_data_source("x") is None


VALID = {
    extensions.COMPRESSION_STATION: {
        "capacity_t_per_day": 80,
        "has_weighbridge": True,
        "weighbridge_id": "WB-1",
        "camera_count": 4,
    },
    extensions.SORTING_POINT: {
        "bins": ["kitchen", "residual"],
        "smart": True,
        "opening_hours": "07:00-09:00",
    },
    extensions.PUBLIC_TOILET: {"grade": "class_2", "opening_hours": "24h"},
    extensions.GAS_SUPPLY_POINT: {"licence_no": "粤燃经字0001", "licence_expires": "2027-05-01"},
    extensions.OLD_TREE: {"species": "榕树", "grade": "level_2", "age_years": 320},
}
INVALID = {
    extensions.COMPRESSION_STATION: (
        {"capacity_t_per_day": 80, "has_weighbridge": False, "weighbridge_id": "WB", "camera_count": 1},
        "has_weighbridge is false",
    ),
    extensions.SORTING_POINT: ({"bins": ["glass"]}, "attributes.bins.0"),
    extensions.PUBLIC_TOILET: ({"grade": "class_2", "opening_hours": "all day"}, "HH:MM-HH:MM"),
    extensions.GAS_SUPPLY_POINT: ({"licence_expires": "2027-05-01"}, "attributes.licence_no"),
    extensions.OLD_TREE: ({"species": "榕树", "grade": "level_1", "age_years": 320}, "500–5000"),
}


@pytest.mark.parametrize("class_code", sorted(extensions.SCHEMAS))
def test_each_extension_type_accepts_its_schema_and_refuses_what_breaks_it(class_code: str) -> None:
    cleaned, errors = extensions.check_attributes(class_code, VALID[class_code])
    assert errors == [] and cleaned
    bad, message = INVALID[class_code]
    _cleaned, errors = extensions.check_attributes(class_code, bad)
    assert errors and any(message in e for e in errors), errors


def test_unknown_attributes_are_refused_and_empty_ones_allowed() -> None:
    _c, errors = extensions.check_attributes(
        extensions.PUBLIC_TOILET, {"grade": "class_1", "opening_hours": "24h", "colour": "red"}
    )
    assert errors
    assert extensions.check_attributes(extensions.OLD_TREE, {}) == ({}, [])
    assert extensions.check_attributes("03005", {"x": 1})[1] == [
        "class 03005 has no extension attributes; leave attributes empty"
    ]


def test_a_viewport_is_covered_by_cells_that_hold_its_points() -> None:
    box = (113.26, 23.17, 113.28, 23.18)
    for res in (7, 8, 9):
        covering = set(cells.cover(box, res))
        for lon, lat in ((113.26, 23.17), (113.28, 23.18), (113.27, 23.175)):
            assert cells.point_cells([lon], [lat])[0][res] in covering
    assert cells.res_for_zoom(8) == 6 and cells.res_for_zoom(14) == 8 and cells.res_for_zoom(19) == 10
