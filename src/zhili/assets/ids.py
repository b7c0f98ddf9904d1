"""Component IDs (部件标识码): 17 digits = district 6 + class 5 + serial 6; legacy 16-digit IDs (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from zhili.core.errors import Invalid

CODE_RE = re.compile(r"^\d{17}$")
LEGACY_RE = re.compile(r"^\d{16}$")
MAX_SERIAL = 999_999


@dataclass(frozen=True)
class ComponentId:
    district: str
    class_code: str
    serial: int

    @property
    def code(self) -> str:
        return f"{self.district}{self.class_code}{self.serial:06d}"


def compose(district: str, class_code: str, serial: int) -> str:
    """The 17-digit ID; a serial outside 1..999999 cannot be written in six digits."""
    if not 1 <= serial <= MAX_SERIAL:
        raise Invalid(f"class {class_code} has used all {MAX_SERIAL} serials of the 17-digit ID")
    return ComponentId(district, class_code, serial).code


def parse(code: str, district: str) -> ComponentId:
    """A 17-digit ID split into its parts; Invalid says what is wrong with it."""
    if not CODE_RE.fullmatch(code):
        raise Invalid(f"component ID {code!r} is not 17 digits (district 6 + class 5 + serial 6)")
    if not code.startswith(district):
        raise Invalid(f"component ID {code} does not start with the district code {district}")
    serial = int(code[11:])
    if serial == 0:
        raise Invalid(f"component ID {code} has serial 000000; serials start at 000001")
    return ComponentId(code[:6], code[6:11], serial)


def from_legacy(code: str, district: str, class_for_legacy: Callable[[str], str | None]) -> ComponentId:
    """A 16-digit GB/T 30428 ID (district 6 + major 2 + minor 2 + serial 6) as its 17-digit successor.

    `class_for_legacy` maps the 4-digit class to today's 5-digit one (the catalogue's legacy_code
    column first; otherwise the minor code padded, e.g. 0305 → 03005, when that class exists).
    """
    if not LEGACY_RE.fullmatch(code):
        raise Invalid(f"legacy component ID {code!r} is not 16 digits")
    if not code.startswith(district):
        raise Invalid(f"legacy component ID {code} does not start with the district code {district}")
    legacy_class = code[6:10]
    class_code = class_for_legacy(legacy_class)
    if class_code is None:
        raise Invalid(f"legacy component ID {code}: class {legacy_class} has no GB/T 47678.5 equivalent")
    serial = int(code[10:])
    if serial == 0:
        raise Invalid(f"legacy component ID {code} has serial 000000")
    return ComponentId(district, class_code, serial)
