"""Settings refuse default secrets outside the demo."""

from __future__ import annotations

import pytest

from zhili.core.settings import InsecureSettings, Settings


def test_serve_refuses_the_default_secret(tmp_path) -> None:
    with pytest.raises(InsecureSettings, match="ZHILI_SECRET_KEY"):
        Settings(data_dir=tmp_path).ensure_production_secrets()


def test_serve_accepts_a_long_random_secret(tmp_path) -> None:
    Settings(data_dir=tmp_path, secret_key="x" * 40).ensure_production_secrets()


def test_demo_secret_is_generated_once_and_kept(tmp_path) -> None:
    first = Settings(data_dir=tmp_path).with_demo_secret()
    second = Settings(data_dir=tmp_path).with_demo_secret()
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32 and first.demo
