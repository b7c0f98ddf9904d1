"""Component statuses, data sources and accuracy classes: the closed vocabularies (pure, no database)."""

from __future__ import annotations

from typing import Literal, get_args

Status = Literal["intact", "damaged", "missing", "abandoned", "removed"]
STATUSES: tuple[Status, ...] = get_args(Status)
# GB/T 47678.5 table 2 words, for import files and exports that people read.
STATUS_ZH: dict[str, str] = {
    "intact": "完好",
    "damaged": "破损",
    "missing": "丢失",
    "abandoned": "废弃",
    "removed": "移除",
}
# English msgids for the console (translated in the templates).
STATUS_LABELS: dict[str, str] = {
    "intact": "Intact",
    "damaged": "Damaged",
    "missing": "Missing",
    "abandoned": "Abandoned",
    "removed": "Removed",
}

DataSource = Literal["surveyed", "topographic_map", "base_geodata", "other"]
DATA_SOURCES: tuple[DataSource, ...] = get_args(DataSource)
DATA_SOURCE_ZH: dict[str, str] = {
    "surveyed": "实测",
    "topographic_map": "地形图",
    "base_geodata": "基础地理数据",
    "other": "其他",
}

Accuracy = Literal["A", "B", "C"]
ACCURACIES: tuple[Accuracy, ...] = get_args(Accuracy)

_STATUS_WORDS: dict[str, str] = {**{s: s for s in STATUSES}, **{zh: en for en, zh in STATUS_ZH.items()}}
_SOURCE_WORDS: dict[str, str] = {
    **{s: s for s in DATA_SOURCES},
    **{zh: en for en, zh in DATA_SOURCE_ZH.items()},
}


def parse_status(value: str) -> Status | None:
    """The status named in English or Chinese (完好 …), or None."""
    found = _STATUS_WORDS.get(value.strip().lower() if value.isascii() else value.strip())
    return found  # type: ignore[return-value]


def parse_data_source(value: str) -> DataSource | None:
    found = _SOURCE_WORDS.get(value.strip().lower() if value.isascii() else value.strip())
    return found  # type: ignore[return-value]
