"""Apply's side of a loop over the host's answers (`project.lateloop`): a loop the plan
could not expand (its list is read after earlier changes) is expanded when apply gets
there, over the results known then; its items then run as any task decided at apply."""

from __future__ import annotations

from typing import Any

from provision.execution.reports import FAILED, OK, SKIPPED, TaskReport
from provision.planning.lateloop import EMPTY_LOOP, empty, expand_loop
from provision.planning.model import Failed
from provision.planning.planner import Registry
from provision.project.compile import CompiledTask


def apply_loop(compiled: CompiledTask, registry: Registry, report: TaskReport) -> Any:
    """The loop's item tasks over the results known now, or `report` saying why there are
    none to run (no item: skipped; a refused item, a value still unknown: failed)."""
    items = expand_loop(compiled, registry.facts)
    if isinstance(items, list) and items:
        return items
    if isinstance(items, list):
        registry.record(compiled, dict(EMPTY_LOOP))
        report.status, report.reason = SKIPPED, empty(compiled).skip_reason
        return report
    message = items.message if isinstance(items, Failed) else f"{items.summary}: still not known"
    registry.record(compiled, {"changed": False, "failed": True, "msg": message})
    report.status, report.message = FAILED, message
    if compiled.ignore_errors:
        report.status, report.reason, report.message = OK, f"failure ignored: {message}", ""
    return report
