"""GeoJSON FeatureCollections: read feature by feature (never the whole document in memory), written
one feature per line."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from zhili.assets.formats.fields import EXPORT_FIELDS, RawRow, fields_of
from zhili.core.errors import Invalid

_READ_CHARS = 1 << 20
_SPACE = re.compile(r"[ \t\r\n]*")


def read_rows(path: Path) -> Iterator[RawRow]:
    for number, feature in enumerate(_features(path), start=1):
        if type(feature) is not dict or feature.get("type") != "Feature":
            yield number, {"_error": "not a GeoJSON Feature"}
            continue
        props = feature.get("properties") or {}
        if type(props) is not dict:
            yield number, {"_error": "properties must be an object"}
            continue
        row = fields_of(props)
        geom = feature.get("geometry")
        coords = geom.get("coordinates") if type(geom) is dict and geom.get("type") == "Point" else None
        if type(coords) is list and len(coords) >= 2:
            row["lon"], row["lat"] = coords[0], coords[1]
        elif geom is not None or "lon" not in row:
            got = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
            row["_error"] = f"geometry must be a Point, got {got}"
        yield number, row


class _Stream:
    """A text buffer over a file that grows on demand, for json.JSONDecoder.raw_decode."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self.fh, self.buf, self.pos, self.eof = fh, "", 0, False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(_READ_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # always matches
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def expect(self, ch: str) -> None:
        got = self.skip_ws()
        if got != ch:
            raise Invalid(
                f"The file is not a GeoJSON FeatureCollection: expected {ch!r}, found {got or 'the end'!r}."
            )
        self.pos += 1

    def value(self, decoder: json.JSONDecoder) -> Any:
        self.skip_ws()
        while True:
            try:
                value, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue  # the value runs past the buffer: read on
                raise Invalid(f"The file is not valid JSON: {exc.msg}.") from exc
            if end == len(self.buf) and not self.eof and self.more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value


def _features(path: Path) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            s = _Stream(fh)
            s.expect("{")
            saw_features = False
            while True:
                if s.skip_ws() == "}":
                    break
                key = s.value(decoder)
                s.expect(":")
                if key != "features":
                    kind = s.value(decoder)
                    if key == "type" and kind != "FeatureCollection":
                        raise Invalid(f"The file is a GeoJSON {kind!r}, not a FeatureCollection.")
                else:
                    saw_features = True
                    s.expect("[")
                    if s.skip_ws() == "]":
                        s.pos += 1
                    else:
                        while True:
                            yield s.value(decoder)
                            sep = s.skip_ws()
                            s.pos += 1
                            if sep == "]":
                                break
                            if sep != ",":
                                raise Invalid("The features array is malformed (expected ',' or ']').")
                if s.skip_ws() == ",":
                    s.pos += 1
            if not saw_features:
                raise Invalid("The file must be a GeoJSON FeatureCollection with a 'features' list.")
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text; GeoJSON must be UTF-8.") from exc


def write(path: Path, chunks: Iterator[list[dict[str, Any]]], crs: str) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type":"FeatureCollection","crs_name":' + json.dumps(crs) + ',"features":[\n')
        for rows in chunks:
            for r in rows:
                props = {k: (r[k].isoformat() if isinstance(r[k], date) else r[k]) for k in EXPORT_FIELDS}
                feature = {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                    "properties": props,
                }
                fh.write(
                    ("," if n else "") + json.dumps(feature, ensure_ascii=False, separators=(",", ":")) + "\n"
                )
                n += 1
        fh.write("]}\n")
    return n
