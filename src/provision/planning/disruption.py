"""What a host's plan disrupts, and the `--max-disruption` rule. Pure: reads a HostPlan.

Each Change carries its own disruption (a `service` restart: restart of its unit; a file
write: none). A change that notifies handlers also inherits theirs: the daemon.json write
is what makes the engine restart. A task decided only at apply (Deferred) counts with the
most its type may disrupt (`TaskType.disrupts_at_most`), since the plan cannot know less.
The host's disruption is the worst of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from provision.planning.model import (
    DISRUPTION_LEVELS,
    NO_DISRUPTION,
    Change,
    Deferred,
    Disruption,
    worst,
)
from provision.planning.planner import HostPlan


@dataclass(frozen=True)
class PlanDisruption:
    host: Disruption  # the worst of the plan
    by_task: dict[int, Disruption]  # id(CompiledTask) → its own or inherited disruption


def plan_disruption(plan: HostPlan) -> PlanDisruption:
    handlers: dict[str, Disruption] = {}
    for step in plan.handlers:
        if not step.skipped and isinstance(step.outcome, Change):
            name = step.handler.name
            handlers[name] = worst(handlers.get(name), step.outcome.disruption)
            continue
        if not step.skipped and isinstance(step.outcome, Deferred):
            assert step.handler.task is not None
            handlers[step.handler.name] = step.handler.task.disrupts_at_most()
    by_task: dict[int, Disruption] = {}
    for step in plan.steps:
        outcome = step.outcome
        own: Disruption | None = None
        if isinstance(outcome, Change):
            own = outcome.disruption
        elif isinstance(outcome, Deferred) and not outcome.check and step.task.task is not None:
            own = step.task.task.disrupts_at_most()
        if own is None:
            continue
        inherited = [handlers.get(name) for name in step.task.notify]
        by_task[id(step.task)] = worst(own, *inherited)
    for step in plan.handlers:
        if step.handler.name in handlers:
            by_task[id(step.handler)] = handlers[step.handler.name]
    host = worst(NO_DISRUPTION, *by_task.values())
    return PlanDisruption(host, by_task)


def refusal(disruption: Disruption, allowed: str | None) -> str | None:
    """Why a host whose plan disrupts `disruption` is refused under `--max-disruption
    allowed`; None when it is within the limit (or there is none)."""
    if allowed is None or disruption.rank <= DISRUPTION_LEVELS.index(allowed):
        return None
    return (
        f"refused: its plan needs {disruption.describe()}, more than --max-disruption "
        f"{allowed}; nothing on it was changed"
    )
