"""Case use cases, split by capability; this module names what other domains and the API call.

- intake: `report_case` (every source, self-handled included), `check_component`
- workflow: `perform_action` (THE entry point for a user's action), `apply_action`, `suggest_department`
- side_flows: extension, suspension, appeal, urge, cancel, merge; `propose_duplicates`
- context: `ActionContext` and what workflow and side_flows share (`need`, `close_tasks`)
- rules: `ensure_can`, `allowed_actions_for`
- deadlines: `due_instant`, `active_elapsed`, `set_stage_clock`, `clock_view`, `colour`
- standards / standards_excel: 立结案标准 CRUD, area dispatch rules, Excel import/export, demo rows
- jobs: `resume_due_suspensions`, `purge_idempotency_keys`
- views: `list_item`, `case_detail`
"""

from __future__ import annotations

from zhili.cases.config import CaseConfig, CaseSettings, config_for
from zhili.cases.service.intake import check_component, report_case
from zhili.cases.service.rules import allowed_actions_for, ensure_can
from zhili.cases.service.side_flows import propose_duplicates
from zhili.cases.service.standards import seed_demo_standards
from zhili.cases.service.timeline import Actor
from zhili.cases.service.workflow import apply_action, perform_action, suggest_department

__all__ = [
    "Actor",
    "CaseConfig",
    "CaseSettings",
    "allowed_actions_for",
    "apply_action",
    "check_component",
    "config_for",
    "ensure_can",
    "perform_action",
    "propose_duplicates",
    "report_case",
    "seed_demo_standards",
    "suggest_department",
]
