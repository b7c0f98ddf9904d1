"""Imports every domain's models once, so mappers resolve and Alembic sees every table."""

from __future__ import annotations

import importlib

from zhili.core.db import Base

MODEL_MODULES = (
    "zhili.core.audit",
    "zhili.core.events",
    "zhili.org.models",
    "zhili.identity.models",
    "zhili.catalog.models",
    "zhili.evidence.models",
    "zhili.cases.models",
    "zhili.cases.workorders.models",
    "zhili.assets.models",
)


def load_all() -> type[Base]:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
