"""The runner's hook (RunOptions.gate): records each host's plan (for `plan -o`, or for
the confirmation before apply) or checks it against a saved plan and refuses a host whose
plan is stale."""

from __future__ import annotations

import threading
from typing import Any

from provision.changecontrol.fingerprint import drift, encode, fact_digests, fingerprint
from provision.changecontrol.keys import PlanKey
from provision.execution.runner import HostFailed
from provision.facts.host import GROUP_FACTS
from provision.planning.model import Change, Deferred, Failed, NoOp, Outcome
from provision.planning.planner import HostPlan, fact_groups_needed

LAST_APPLY = GROUP_FACTS["last_apply"]
STALE = "plan is stale"


def task_entry(compiled: Any, outcome: Outcome | None, handler: bool = False) -> dict[str, Any]:
    """A task as the plan file shows it (the same fields as the run's JSON output)."""
    entry: dict[str, Any] = {
        "name": compiled.name,
        "role": compiled.role,
        "type": compiled.task.type_name if compiled.task else "",
        "handler": handler,
        "status": "ok",
        "changes": [],
        "diffs": [],
        "commands": [],
        "reason": "",
        "message": "",
        "location": str(compiled.location),
    }
    if outcome is None:
        entry.update(status="skipped", reason=compiled.skip_reason)
    elif isinstance(outcome, NoOp):
        entry["reason"] = outcome.reason
    elif isinstance(outcome, Change):
        entry.update(
            status="pending",
            changes=list(outcome.summary),
            diffs=[{"path": d.path, "unified": "\n".join(d.unified())} for d in outcome.diffs],
            commands=[c.display for c in outcome.commands],
        )
    elif isinstance(outcome, Deferred):
        entry.update(status="check" if outcome.check else "pending", changes=[outcome.summary])
    else:
        entry.update(status="failed", message=outcome.message)
    return entry


def _outcome_key(name: str, outcome: Outcome | None) -> Any:
    """What apply will do for one task, content included (keyed before it is stored)."""
    if isinstance(outcome, Change):
        return [name, "change", [[c.script, (c.stdin or b"").hex()] for c in outcome.commands]]
    if isinstance(outcome, Deferred):
        return [name, "deferred", outcome.summary, outcome.check]
    if isinstance(outcome, Failed):
        return [name, "failed", outcome.message]
    return [name, "none" if outcome is None else "noop"]


def changes_digest(key: PlanKey, plan: HostPlan) -> str:
    steps = [_outcome_key(s.task.name, s.outcome) for s in plan.steps]
    steps += [_outcome_key("handler " + h.handler.name, h.outcome) for h in plan.handlers]
    return key.digest(b"changes\0" + encode(steps))


class Gate:
    """mode "record": keep every host's plan; mode "check": compare with `planned` (host
    entries by (play index, host)) and refuse a stale host."""

    def __init__(
        self,
        key: PlanKey,
        compiled: Any,
        planned: dict[tuple[int, str], dict[str, Any]] | None = None,
        extra_groups: frozenset[str] = frozenset(),
    ) -> None:
        self.key = key
        self.saved = planned
        self.extra_groups = extra_groups
        self.entries: dict[tuple[int, str], dict[str, Any]] = {}
        self.stale: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.index = {id(hp): i for i, (_, hps) in enumerate(compiled.plays) for hp in hps}
        self.by_name = {name: i for i, (name, _) in reversed(list(enumerate(compiled.plays)))}

    def play_index(self, play: Any) -> int:
        return self.index.get(id(play), self.by_name.get(play.play, 0))

    def probed(self, play: Any, state: Any, facts: list[Any]) -> dict[str, Any]:
        """Digests of exactly the facts the plan reads (not those only this module asked
        for), taken before planning moves the state on."""
        needed = fact_groups_needed(play.tasks + play.handlers)
        mine = {GROUP_FACTS[g] for g in self.extra_groups if g not in needed}
        values = [(f, state.get(f)) for f in dict.fromkeys(facts) if f not in mine and state.has(f)]
        last = state.get(LAST_APPLY) if state.has(LAST_APPLY) else None
        return {"facts": fact_digests(self.key, values), "last_apply": last}

    def planned_entry(self, report: Any, play: Any, seen: dict[str, Any], plan: HostPlan) -> dict:
        tasks = [task_entry(s.task, s.outcome) for s in plan.steps]
        tasks += [task_entry(h.handler, h.outcome, handler=True) for h in plan.handlers]
        pending = sum(1 for t in tasks if t["status"] == "pending")
        last = seen["last_apply"] if isinstance(seen["last_apply"], dict) else None
        return {
            "host": report.name,
            "fingerprint": fingerprint(self.key, seen["facts"]),
            "facts": seen["facts"],
            "changes_digest": changes_digest(self.key, plan),
            "pending": pending,
            "tasks": tasks,
            "last_apply": last,
        }

    def planned(self, report: Any, play: Any, seen: dict[str, Any], plan: HostPlan) -> None:
        entry = self.planned_entry(report, play, seen, plan)
        where = (self.play_index(play), report.name)
        with self.lock:
            self.entries[where] = entry
        if self.saved is None:
            return
        lines = self.compare(self.saved.get(where), entry)
        if lines:
            with self.lock:
                self.stale.setdefault(report.name, []).extend(lines)
            raise HostFailed(f"{STALE}: refused, nothing changed:\n  " + "\n  ".join(lines))

    @staticmethod
    def compare(saved: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
        if saved is None:
            return ["this host (in this play) is not in the plan"]
        if saved["fingerprint"] == now["fingerprint"]:
            if saved["changes_digest"] == now["changes_digest"]:
                return []
            return ["the changes computed now differ from the plan's (a secret changed?)"]
        return ["the host drifted since the plan:"] + [
            "  " + line for line in drift(saved["facts"], now["facts"])
        ]
