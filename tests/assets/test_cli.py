"""`zhili import components` and `zhili export components` as an administrator runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.assets.factories import OUTSIDE, SANYUANLI
from zhili.assets import demo as assets_demo
from zhili.cli import app
from zhili.core.settings import get_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZHILI_DATA_DIR", str(tmp_path / "zhili-data"))
    monkeypatch.delenv("ZHILI_DATABASE_URL", raising=False)
    monkeypatch.delenv("ZHILI_SECRET_KEY", raising=False)
    # The baseline geography is enough here; the 63,000 demo components would only cost time.
    monkeypatch.setattr(assets_demo, "seed_demo_components", lambda session: None)
    get_settings.cache_clear()
    yield tmp_path / "zhili-data"
    get_settings.cache_clear()


def _file(path, points) -> None:  # type: ignore[no-untyped-def]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)},
         "properties": {"class_code": "03005", "name": f"命令行垃圾箱{i}"}} for i, p in enumerate(points)]}))


def test_import_dry_run_import_and_export_from_the_command_line(data_dir, tmp_path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    bad = tmp_path / "bad.geojson"
    _file(bad, [SANYUANLI, OUTSIDE])
    refused = runner.invoke(app, ["import", "components", str(bad), "--crs", "wgs84"])
    assert refused.exit_code == 2 and "row 2" in refused.output and "outside the district" in refused.output
    good = tmp_path / "good.geojson"
    _file(good, [SANYUANLI, (SANYUANLI[0] + 0.001, SANYUANLI[1])])
    dry = runner.invoke(app, ["import", "components", str(good), "--crs", "wgs84", "--dry-run"])
    assert dry.exit_code == 0 and "2 new" in dry.output and "nothing written" in dry.output
    real = runner.invoke(app, ["import", "components", str(good), "--crs", "wgs84"])
    assert real.exit_code == 0 and "2 created" in real.output
    out = tmp_path / "out.xlsx"
    exported = runner.invoke(app, ["export", "components", str(out), "--class", "03005"])
    assert exported.exit_code == 0 and "exported 2 components" in exported.output and out.stat().st_size > 0
    again = runner.invoke(app, ["import", "components", str(out), "--crs", "wgs84"])
    assert again.exit_code == 0 and "2 unchanged" in again.output
