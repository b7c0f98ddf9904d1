"""The cases domain's settings (prefix ZHILI_CASES_) and the working calendar the deadlines run on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from zhili.core.settings import Settings, get_settings
from zhili.core.workcalendar import TimeUnit, WorkCalendar, calendar_for


class CaseSettings(BaseSettings):
    """Site rules of the workflow. The values the domain note marks unverified are all here, not in code."""

    model_config = SettingsConfigDict(env_prefix="ZHILI_CASES_", env_file=None, extra="ignore", frozen=True)

    # A running stage turns amber when this share of its limit is used, red when all of it is.
    amber_share: float = Field(default=0.8, gt=0, lt=1)
    # Stages before a standard row is chosen run on site-wide limits.
    verify_limit: float = Field(default=2, gt=0)  # 核实: the grid's inspector goes to look
    verify_unit: TimeUnit = TimeUnit.working_hours
    register_limit: float = Field(default=0.5, gt=0)  # 立案: 30 minutes on the continuous clock
    register_unit: TimeUnit = TimeUnit.urgent_hours
    max_extensions: int = Field(default=2, ge=0)  # 延期: limited in number
    max_suspensions: int = Field(default=1, ge=0)  # 挂账: at most once
    max_suspension_days: int = Field(default=90, ge=1)
    # Duplicates proposed for merging: same class within this radius and time window.
    merge_radius_m: float = Field(default=100, gt=0)
    merge_window_hours: float = Field(default=72, gt=0)
    idempotency_keep_days: int = Field(default=7, ge=1)


@dataclass(frozen=True)
class CaseConfig:
    """What a case use case needs besides the session and the actor: the calendar and the site rules."""

    calendar: WorkCalendar
    rules: CaseSettings


@lru_cache(maxsize=8)
def _calendar(office_hours: str, tz: str, holiday_file: Path | None) -> WorkCalendar:
    return calendar_for(office_hours, tz, holiday_file)


def config_for(settings: Settings | None = None, rules: CaseSettings | None = None) -> CaseConfig:
    """The config for these platform settings (the process's own when None); the calendar is cached."""
    s = settings or get_settings()
    return CaseConfig(_calendar(s.office_hours, s.timezone, s.holiday_file), rules or _rules())


@lru_cache(maxsize=1)
def _rules() -> CaseSettings:
    return CaseSettings()
