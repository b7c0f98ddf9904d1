"""Local extension types: the attribute schema of each component class that carries its own attributes.

Three are local classes added to the catalogue (minor codes 9xx, inserted by migration 0007) because
no GB/T 47678.5 class fits them: a compression station with weighbridge and AI cameras is not a
refuse room (03004), a sorting point is not a litter bin (03005), a bottled-gas supply point is not a
filling station (05003) — folding them in would break their counts and case standards. Public
toilets and old trees are standard classes (03001, 04001) that get extra attributes here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zhili.core.errors import Invalid

COMPRESSION_STATION = "03901"
SORTING_POINT = "03902"
GAS_SUPPLY_POINT = "05901"
PUBLIC_TOILET = "03001"
OLD_TREE = "04001"

# (code, name, description): inserted into catalog_class with is_local=True by migration 0007.
LOCAL_CLASSES: tuple[tuple[str, str, str], ...] = (
    (
        COMPRESSION_STATION,
        "垃圾压缩站",
        "Garbage compression (transfer) station with weighbridge and AI cameras",
    ),
    (SORTING_POINT, "垃圾分类投放点（云站桶）", "Garbage sorting point with smart bins (云站桶)"),
    (GAS_SUPPLY_POINT, "瓶装燃气供应点", "Bottled-gas (LPG) supply point, licensed"),
)

_HOURS = re.compile(r"^(24h|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d)$")


class _Attrs(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CompressionStationAttrs(_Attrs):
    """垃圾压缩站."""

    capacity_t_per_day: float = Field(gt=0, le=3000, description="Design capacity, tonnes per day")
    has_weighbridge: bool = Field(description="A weighbridge (地磅) records every truck")
    weighbridge_id: str | None = Field(default=None, max_length=40)
    camera_count: int = Field(ge=0, le=64, description="AI cameras watching the station")

    @model_validator(mode="after")
    def _weighbridge_id_needs_weighbridge(self) -> CompressionStationAttrs:
        if self.weighbridge_id and not self.has_weighbridge:
            raise ValueError("weighbridge_id is given but has_weighbridge is false")
        return self


class SortingPointAttrs(_Attrs):
    """垃圾分类投放点 (云站桶)."""

    bins: list[Literal["kitchen", "recyclable", "hazardous", "residual"]] = Field(
        min_length=1, max_length=12, description="Bins by stream: 厨余, 可回收, 有害, 其他"
    )
    smart: bool = Field(default=False, description="Connected smart bins (云站)")
    device_id: str | None = Field(default=None, max_length=40)
    opening_hours: str | None = Field(default=None, description="HH:MM-HH:MM or 24h")

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None and not _HOURS.fullmatch(v):
            raise ValueError("opening_hours must be HH:MM-HH:MM or 24h")
        return v


class PublicToiletAttrs(_Attrs):
    """公共厕所: grade by the urban public-toilet standard (一类/二类/三类)."""

    grade: Literal["class_1", "class_2", "class_3"]
    opening_hours: str = Field(description="HH:MM-HH:MM or 24h")
    accessible: bool = Field(default=False, description="Has a barrier-free cubicle (无障碍)")

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        if not _HOURS.fullmatch(v):
            raise ValueError("opening_hours must be HH:MM-HH:MM or 24h")
        return v


class GasSupplyPointAttrs(_Attrs):
    """瓶装燃气供应点: trades only under a gas business licence (燃气经营许可证)."""

    licence_no: str = Field(min_length=4, max_length=40)
    licence_expires: date | None = None
    operator_name: str | None = Field(default=None, max_length=100)
    cylinders_stored: int | None = Field(default=None, ge=0, le=10000)


class OldTreeAttrs(_Attrs):
    """古树名木: grade 一级 ≥ 500 years, 二级 300–499, 三级 100–299; 名木 (famous) at any age."""

    species: str = Field(min_length=1, max_length=60)
    grade: Literal["level_1", "level_2", "level_3", "famous"]
    age_years: int = Field(ge=1, le=5000)

    @model_validator(mode="after")
    def _grade_matches_age(self) -> OldTreeAttrs:
        bands = {"level_1": (500, 5000), "level_2": (300, 499), "level_3": (100, 299)}
        band = bands.get(self.grade)
        if band and not band[0] <= self.age_years <= band[1]:
            raise ValueError(
                f"grade {self.grade} needs an age of {band[0]}–{band[1]} years, got {self.age_years}"
            )
        return self


SCHEMAS: dict[str, type[_Attrs]] = {
    COMPRESSION_STATION: CompressionStationAttrs,
    SORTING_POINT: SortingPointAttrs,
    PUBLIC_TOILET: PublicToiletAttrs,
    GAS_SUPPLY_POINT: GasSupplyPointAttrs,
    OLD_TREE: OldTreeAttrs,
}


def check_attributes(class_code: str, data: Any) -> tuple[dict[str, Any], list[str]]:
    """The attributes normalised (JSON-ready) and what is wrong with them ([] when nothing is).

    Empty attributes are accepted for any class (not surveyed yet); given ones must fit the schema whole.
    """
    schema = SCHEMAS.get(class_code)
    if data in (None, {}):
        return {}, []  # not recorded (yet): allowed for every class, e.g. a legacy inventory's toilets
    if schema is None:
        return {}, [f"class {class_code} has no extension attributes; leave attributes empty"]
    if not isinstance(data, dict):
        return {}, [f"attributes of class {class_code} must be an object"]
    try:
        model = schema.model_validate(data)
    except ValidationError as exc:
        return {}, [
            f"attributes.{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}" for e in exc.errors()
        ]
    return model.model_dump(mode="json", exclude_none=True), []


def clean_attributes(class_code: str, data: Any) -> dict[str, Any]:
    """The attributes validated and normalised, or Invalid listing every problem."""
    cleaned, errors = check_attributes(class_code, data)
    if errors:
        raise Invalid(
            f"Attributes for class {class_code} are invalid: {'; '.join(errors)}",
            errors=[{"msg": e} for e in errors],
        )
    return cleaned


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every extension type, by class code (for forms and API clients)."""
    return {code: schema.model_json_schema() for code, schema in SCHEMAS.items()}
