"""Every decision of a run, as pure functions: the task walk, handlers, deferral, convergence.

Nothing here does I/O. Execution probes a host and calls `plan_host`; `plan` reports the
result, `apply` runs its commands in order. What apply can only decide when it gets there
(a deferred task, the handlers that are due) it asks here again, with facts probed just
then: `replan_task`, `HandlerQueue.due`, `unconverged`. So `plan` and `apply` share one
decision path.

What a task type must tell the planner it declares on its class (`TaskType.read_only`,
`TaskType.restarts_unit()`); what a task must know about the walk it reads from the state
the planner threads through the tasks (`HostState.after_changes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from provision.facts.host import GROUP_FACTS, GROUPS
from provision.facts.hostvars import FactsNeeded, GroupValues
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp, Outcome
from provision.project.compile import CompiledTask


@dataclass(frozen=True)
class TaskStep:
    """One task's place in a host's plan."""

    task: CompiledTask
    outcome: Outcome | None  # None: not planned (`when:`, tags); why in task.skip_reason
    # Apply runs the handlers notified so far before deciding this task: a read-only check
    # deferred to apply checks the host as the earlier changes *and their handlers* left it.
    handlers_first: bool = False


@dataclass(frozen=True)
class HandlerCall:
    """A notified handler: it runs, or `skip` says why it need not."""

    handler: CompiledTask
    skip: str = ""


@dataclass(frozen=True)
class HandlerStep:
    """A notified handler in a plan: its outcome, or NoOp(why) when it need not run."""

    handler: CompiledTask
    outcome: Outcome
    skipped: bool = False


@dataclass
class HostPlan:
    """What a host's tasks and handlers would do, in order; the walk stops at the first
    Failed task (and then plans no handler)."""

    steps: list[TaskStep]
    handlers: list[HandlerStep]
    state: HostState  # the host as the planned changes leave it

    @property
    def failed(self) -> Failed | None:
        for step in self.steps:
            if isinstance(step.outcome, Failed):
                return step.outcome
        return None


@dataclass
class HandlerQueue:
    """Which handlers are notified, in order, and which units were started since each one's
    latest notification (a restart handler for a unit started after its change is redundant)."""

    pending: list[str] = field(default_factory=list)
    started_since: dict[str, set[str]] = field(default_factory=dict)
    # Whether a change that notified the handler needs more than a reload (rolling: a
    # restart handler whose every notifying change says a reload suffices runs as a reload).
    restart_needed: dict[str, bool] = field(default_factory=dict)

    def notify(self, task: CompiledTask, outcome: Outcome) -> None:
        """`task` changes the host with `outcome` (plan: planned, apply: done)."""
        if isinstance(outcome, Change):
            for units in self.started_since.values():
                units.update(outcome.started)
        reload_suffices = isinstance(outcome, Change) and outcome.reload_suffices
        for name in task.notify:
            self.started_since[name] = set()
            self.restart_needed[name] = self.restart_needed.get(name, False) or not reload_suffices
            if name not in self.pending:
                self.pending.append(name)

    def due(self, handlers: Sequence[CompiledTask]) -> list[HandlerCall]:
        """The notified handlers, in the order they are declared, each with whether it runs;
        they are no longer pending. A handler not planned (`when:`) never runs."""
        calls = []
        for handler in handlers:
            if handler.name not in self.pending or handler.task is None:
                continue
            self.pending.remove(handler.name)
            reload = handler.task.as_reload()
            if not self.restart_needed.pop(handler.name, True) and reload is not None:
                handler = replace(handler, task=reload)
            unit = handler.task.restarts_unit()
            started = self.started_since.pop(handler.name, set())
            if unit is not None and unit in started:
                calls.append(
                    HandlerCall(handler, f"{unit} was started after the change that notified it")
                )
            else:
                calls.append(HandlerCall(handler))
        return calls


def _changes_host(outcome: Outcome) -> bool:
    """A Change, or a task whose change is decided at apply: later tasks must allow for it."""
    return isinstance(outcome, Change | Deferred)


def plan_host(
    tasks: Sequence[CompiledTask], handlers: Sequence[CompiledTask], state: HostState
) -> HostPlan:
    """Plan one host's share of a play on its probed `state` (which the tasks update as they
    plan, so a later task sees what an earlier one will do)."""
    steps: list[TaskStep] = []
    queue = HandlerQueue()
    for compiled in tasks:
        task = compiled.task
        if task is None:
            steps.append(TaskStep(compiled, None))
            continue
        outcome = task.plan(state)
        if _changes_host(outcome):
            state.note_change()
            queue.notify(compiled, outcome)
        first = isinstance(outcome, Deferred) and task.read_only
        steps.append(TaskStep(compiled, outcome, handlers_first=first))
        if isinstance(outcome, Failed):
            return HostPlan(steps, [], state)
    planned = []
    for call in queue.due(handlers):
        assert call.handler.task is not None
        if call.skip:
            planned.append(HandlerStep(call.handler, NoOp(call.skip), skipped=True))
        else:
            planned.append(HandlerStep(call.handler, call.handler.task.plan(state)))
    return HostPlan(steps, planned, state)


def replan_task(task: CompiledTask, state: HostState) -> Outcome:
    """Decide, when apply reaches it, a task the plan deferred (or a handler that is due):
    on facts probed just now, after every earlier change has run."""
    assert task.task is not None
    assert not state.after_changes, "replan_task wants freshly probed facts"
    return task.task.plan(state)


def unconverged(tasks: Sequence[CompiledTask], state: HostState) -> list[str]:
    """After apply, on freshly probed `state`: what each task would still do, one line per
    task (its change, deferral or failure). Empty when the host converged."""
    left = []
    for compiled in tasks:
        if compiled.task is None:
            continue
        outcome = compiled.task.plan(state)
        if isinstance(outcome, Change):
            left.append(f"{compiled.name}: {'; '.join(outcome.summary)}")
        elif isinstance(outcome, Deferred):
            left.append(f"{compiled.name}: {outcome.summary}")
        elif isinstance(outcome, Failed):
            left.append(f"{compiled.name}: {outcome.message}")
    return left


# ------------------------------------------------------------------ host facts


def fact_groups_needed(tasks: Sequence[CompiledTask]) -> frozenset[str]:
    """The host fact groups the tasks' deferred conditions and arguments read (none for a
    run that names no fact: its probe stays as it was)."""
    groups: set[str] = set()
    for compiled in tasks:
        if compiled.pending is not None:
            groups |= compiled.pending.groups
    return frozenset(groups)


def host_facts(state: HostState) -> dict[str, object]:
    """The probed host fact groups in `state`, by group name."""
    return {g: state.get(GROUP_FACTS[g]) for g in GROUPS if state.has(GROUP_FACTS[g])}


@dataclass
class Bound:
    """Tasks with every host-fact decision taken; `missing`: groups still to probe (the
    tasks that read them are left pending)."""

    tasks: list[CompiledTask]
    handlers: list[CompiledTask]
    missing: frozenset[str]


def bind_facts(
    tasks: Sequence[CompiledTask], handlers: Sequence[CompiledTask], facts: GroupValues
) -> Bound:
    """Decide, on one host's probed fact groups, each `when:` that reads host facts (false:
    the task is skipped, saying so) and build each task whose arguments read them. A task
    that reads a group not in `facts` stays pending and its groups are in `missing`."""
    missing: set[str] = set()

    def bind(compiled: CompiledTask) -> CompiledTask:
        pending = compiled.pending
        if pending is None:
            return compiled
        try:
            for condition in pending.conditions:
                if not condition.holds(facts):
                    return replace(
                        compiled,
                        task=None,
                        pending=None,
                        skip_reason=f"condition false on this host: {condition.describe()}",
                    )
            if pending.task is not None:
                return replace(compiled, task=pending.task, pending=None)
            assert pending.build is not None
            task, name = pending.build(facts)
            return replace(compiled, task=task, pending=None, name=name or compiled.name)
        except FactsNeeded as need:
            missing.update(need.groups)
            return compiled

    return Bound([bind(t) for t in tasks], [bind(h) for h in handlers], frozenset(missing))
