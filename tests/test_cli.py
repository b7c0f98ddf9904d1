"""The `zhili` commands as an administrator runs them, on a fresh embedded (SQLite) data dir."""

from __future__ import annotations

import json
import sqlite3

import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from zhili.cli import app
from zhili.core import geo
from zhili.core.settings import get_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZHILI_DATA_DIR", str(tmp_path / "zhili-data"))
    monkeypatch.delenv("ZHILI_DATABASE_URL", raising=False)
    monkeypatch.delenv("ZHILI_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "zhili-data"
    get_settings.cache_clear()


def _community_file(path, code: str) -> None:
    gcj = geo.transform_geojson_geometry(mapping(box(113.2700, 23.1700, 113.2720, 23.1718)), "wgs84", "gcj02")
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": "命令行社区"}, "geometry": gcj}]}))


def test_demo_import_user_and_audit_commands(data_dir, tmp_path) -> None:
    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--no-serve"])
    assert demo.exit_code == 0, demo.output
    assert "grids 16375" in demo.output and "shift_leader" in demo.output and "Zhili@2026" in demo.output
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0 and "already loaded" in again.output

    good = tmp_path / "good.geojson"
    _community_file(good, "440111002950")
    args = ["import", "areas", str(good), "--crs", "gcj02", "--level", "community"]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "1 new" in dry.output and "nothing written" in dry.output
    real = runner.invoke(app, args)
    assert real.exit_code == 0 and "1 created" in real.output

    bad = tmp_path / "bad.geojson"
    _community_file(bad, "440111099950")
    refused = runner.invoke(app, ["import", "areas", str(bad), "--crs", "gcj02", "--level", "community"])
    assert refused.exit_code != 0 and "440111099 does not exist" in refused.output

    user = runner.invoke(app, ["user", "create", "wang.li", "-r", "operator", "--street", "440111002",
                               "--password", "Baiyun#2026x"])
    assert user.exit_code == 0 and "operator" in user.output
    unknown_street = runner.invoke(app, ["user", "create", "li.na", "-r", "operator", "--street", "440111999",
                                         "--password", "Baiyun#2026x"])
    assert unknown_street.exit_code == 2 and "440111999" in unknown_street.output

    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and "intact" in intact.output
    with sqlite3.connect(data_dir / "zhili.db") as conn:
        conn.execute("UPDATE audit_entry SET actor = 'mallory' WHERE id = "
                     "(SELECT entry_id FROM audit_seal WHERE seq = 1)")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN at entry 1" in broken.output


def test_serve_refuses_the_default_secret(data_dir) -> None:
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "ZHILI_SECRET_KEY" in result.output
