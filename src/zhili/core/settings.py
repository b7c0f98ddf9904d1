"""Typed settings read from the environment (prefix ZHILI_); nothing is created at import time."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from zhili.core.db import REQUESTS_IN_FLIGHT

# Secrets that must never reach a real deployment: the literal default and the empty string.
_DEFAULT_SECRET = "change-me"  # noqa: S105 - the sentinel we refuse, not a secret


class InsecureSettings(RuntimeError):
    """Raised when a production command starts with demo-grade secrets."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHILI_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("zhili-data"), description="SQLite file, evidence files, keys")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/zhili.db"
    )
    secret_key: str = _DEFAULT_SECRET
    demo: bool = False
    # Sessions: browser cookies are Secure unless the site is served over plain HTTP on loopback.
    cookie_secure: bool = False
    session_max_age_s: int = 8 * 3600
    login_max_failures: int = 5
    login_lockout_s: int = 15 * 60
    # Base map: a tile URL template and the datum of those tiles. Empty URL = no tiles (closed network).
    tile_url: str = ""
    tile_crs: str = "wgs84"
    tile_attribution: str = ""
    default_locale: str = "zh_CN"
    district_code: str = "440111"
    timezone: str = "Asia/Shanghai"
    # Office hours for working-hour limits, "HH:MM-HH:MM,HH:MM-HH:MM".
    office_hours: str = "08:30-12:00,14:00-17:30"
    # Holidays and adjusted workdays the bureau enters itself (CSV `YYYY-MM-DD,holiday|workday`),
    # for a year the installed chinesecalendar does not cover yet.
    holiday_file: Path | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    # Requests using the database at once in one server process (why so few: core.db).
    requests_in_flight: int = Field(default=REQUESTS_IN_FLIGHT, ge=1, le=64)
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    sql_echo: bool = False

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        if v not in ("zh_CN", "en"):
            raise ValueError("default_locale must be zh_CN or en")
        return v

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'zhili.db').resolve()}"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    def ensure_production_secrets(self) -> None:
        """`serve` and `worker` refuse to start with the default secret (the demo generates its own)."""
        if self.secret_key in (_DEFAULT_SECRET, "") or len(self.secret_key) < 32:
            raise InsecureSettings(
                "ZHILI_SECRET_KEY is unset or shorter than 32 characters; "
                "set a random value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )

    def with_demo_secret(self) -> Settings:
        """A copy whose secret is kept in the data dir, so demo logins survive a restart."""
        key_file = self.data_dir / "secret.key"
        if key_file.exists():
            key = key_file.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            key_file.write_text(key)
            key_file.chmod(0o600)
        return self.model_copy(update={"secret_key": key, "demo": True})


@lru_cache
def get_settings() -> Settings:
    return Settings()
