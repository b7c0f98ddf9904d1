"""A year of Baiyun demo cases in bulk: simulated through the transition table, written with Core INSERTs.

`seed_demo_year` makes tens of thousands of cases so that queues, maps and evaluation look like a
real district. Going through the services would take minutes (each action is a flush, a timeline row
and an audit entry), so each case is *simulated* instead: its actions follow `states.transition`,
its deadlines come from the engine's own `deadlines.set_stage_clock` on the working calendar, and
every column the engine's handlers set is set the same way (see service/workflow.py, side_flows.py,
intake.py). A case's history is cut at "now": the status is wherever the simulated case stands then,
so the last days' cases wait in every queue, some amber and some overdue, and older ones are closed.

Each case's evaluation facts (case_evaluation_fact) come from `evaluation_facts`, the function the
engine's hook calls.

What differs from the services, on purpose: no evidence files (the demo has no photos), no outbox
events (history must not notify anybody) and one audit entry for the whole load instead of one per
action. Inspectors and department staff without a login act with `actor_user_id` NULL and their
staff name, as history imported from a previous system would.

The modules, each importing only those above it in this list:
- plan: the year's make-up (classes, sources, streets, texts, extra standard rows), places and times
- simulation: the simulated case (`Sim`), the cast, and the steps every simulated action takes
- side_flows: extension, suspension, appeal, cancel and merge, simulated
- generator: the cases reported and walked along the main line
- writing: numbering and the bulk INSERTs
- seed: `seed_demo_year`, the entry point
"""

from __future__ import annotations

from zhili.cases.demo_history.seed import seed_demo_year

__all__ = ["seed_demo_year"]
