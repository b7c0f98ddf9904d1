"""What every action handler shares: the context it runs in, its signature and the small steps that both
the main line (`workflow`) and the side flows (`side_flows`) take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from zhili.cases import repository
from zhili.cases.config import CaseConfig
from zhili.cases.models import CaseRecord
from zhili.cases.schemas import ActionFields
from zhili.cases.service.timeline import Actor, Outcome
from zhili.cases.states import Transition
from zhili.core.errors import Invalid


@dataclass
class ActionContext:
    session: Session
    actor: Actor
    case: CaseRecord
    cfg: CaseConfig
    now: datetime
    transition: Transition


Handler = Callable[[ActionContext, ActionFields], Outcome]


def need(value: object, field: str, action: str) -> None:
    """An action's required field: refused with 422 when missing or empty."""
    if value is None or value == "":
        raise Invalid(f"'{action}' needs '{field}'.", errors=[{"loc": [field], "msg": "required"}])


def close_tasks(session: Session, case: CaseRecord, now: datetime, *, status: str = "cancelled") -> None:
    """Set the case's open verify and check tasks to `status` as of `now` (the case has ended)."""
    for task in repository.tasks_of(session, case.id):
        if task.status == "open":
            task.status, task.done_at = status, now
