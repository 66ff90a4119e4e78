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

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.host import GROUP_FACTS, GROUPS
from provision.facts.hostvars import FactsNeeded, GroupValues
from provision.planning.lateloop import (
    EMPTY_LOOP,
    empty,
    expand_loop,
    loop_groups,
    speculative_loop_facts,
)
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp, Outcome
from provision.project.compile import REG, CompiledTask, is_late
from provision.project.sharing import Watch


@dataclass(frozen=True)
class TaskStep:
    """One task's place in a host's plan."""

    task: CompiledTask
    outcome: Outcome | None  # None: not planned (`when:`, tags); why in task.skip_reason
    # Apply runs the handlers notified so far before deciding this task: a read-only check
    # deferred to apply checks the host as the earlier changes *and their handlers* left it.
    handlers_first: bool = False
    handler: bool = False  # a handler run where `meta: flush_handlers` stands
    ignored: bool = False  # a Failed outcome under `ignore_errors`: the walk goes on
    result: dict | None = None  # its registered result, where the plan knows it
    # as compiled, when the walk decided its late conditions (for the convergence check)
    unbound: CompiledTask | None = None


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
        called: set[str] = set()
        for handler in handlers:
            names = [n for n in (handler.name, *handler.listen) if n in self.pending]
            if not names or handler.task is None:
                continue
            called.update(names)
            reload = handler.task.as_reload()
            if reload is not None and not any(self.restart_needed.get(n, True) for n in names):
                handler = replace(handler, task=reload)
            unit = handler.task.restarts_unit()
            started = set().union(*(self.started_since.get(n, set()) for n in names))
            if unit is not None and unit in started:
                calls.append(
                    HandlerCall(handler, f"{unit} was started after the change that notified it")
                )
            else:
                calls.append(HandlerCall(handler))
        for name in called:
            self.pending.remove(name)
            self.started_since.pop(name, None)
            self.restart_needed.pop(name, None)
        return calls


def _changes_host(outcome: Outcome, read_only: bool = False) -> bool:
    """A Change, or a task whose change is decided at apply: later tasks must allow for it
    (a read-only check decided at apply changes nothing)."""
    if isinstance(outcome, Deferred) and (read_only or outcome.check):
        return False
    return isinstance(outcome, Change | Deferred)


# ------------------------------------------------------------------ registered results


def late_names(groups: frozenset[str] | set[str]) -> list[str]:
    return sorted(g[len(REG) :] for g in groups if is_late(g))


def at_apply(compiled: CompiledTask, names: list[str]) -> Deferred:
    """A task decided when apply reaches it: its `when:` or arguments read a result known
    only then (a registered result of a task that changes the host)."""
    what = ", ".join(f"`{n}`" for n in names)
    conditions = compiled.pending.conditions if compiled.pending else []
    when = "; ".join(f"when: {c.describe()}" for c in conditions)
    return Deferred(
        f"decided at apply: {when or 'its arguments'} read(s) {what}, known only when apply "
        "has run the task that registers it",
        [],
    )


def bind_late(compiled: CompiledTask, facts: GroupValues) -> CompiledTask | list[str]:
    """Decide a task's pending conditions and build it over `facts` (host fact groups and
    the late values known so far). A skipped task comes back with its skip reason; a task
    that reads a late value not known yet gives the names it waits for."""
    pending = compiled.pending
    if pending is None:
        return compiled
    try:
        return decide_pending(compiled, facts)
    except FactsNeeded as need:
        names = late_names(need.groups)
        return names or [f"host facts {', '.join(sorted(need.groups))}"]


def decide_pending(compiled: CompiledTask, facts: GroupValues) -> CompiledTask:
    """Decide a pending task's conditions over `facts` and build it (FactsNeeded when it
    reads a group `facts` lacks)."""
    pending = compiled.pending
    assert pending is not None
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


def outcome_result(task: CompiledTask, outcome: Outcome | None, state: HostState) -> dict | None:
    """A task's registered result, where the plan knows it (None: known at apply)."""
    if outcome is None or task.task is None:
        return {"changed": False, "failed": False, "skipped": True, "skip_reason": task.skip_reason}
    own = getattr(task.task, "result", None)
    if own is not None and isinstance(outcome, NoOp | Failed):
        result = own(state)
        if result is not None:
            return dict(result)
    if isinstance(outcome, NoOp):
        return {"changed": False, "failed": False, "skipped": False, "msg": outcome.reason}
    return None


def judge(task: CompiledTask, result: dict, facts: GroupValues) -> tuple[dict, str]:
    """Apply `failed_when`/`changed_when` to a known result: (result, failure message or
    ""). A command that exits non-zero fails unless `failed_when` says otherwise."""
    result = dict(result)
    if task.failed_when is not None:
        result["failed"] = task.failed_when.holds(result, facts)
    if task.changed_when is not None:
        result["changed"] = task.changed_when.holds(result, facts)
    if not result.get("failed"):
        return result, ""
    if task.failed_when is not None:
        return result, f"failed_when holds: {task.failed_when.expression}"
    if "rc" in result:
        tail = "\n".join(str(result.get("stderr", "")).splitlines()[-5:])
        return result, f"`{result.get('cmd')}` exited with {result['rc']}" + (
            f": {tail}" if tail else ""
        )
    return result, str(result.get("msg", "failed"))


class Registry:
    """The late values (registered results, set_fact) a host's walk knows, as fact groups
    `reg:NAME` over the probed host facts; a name whose value is known only at apply is
    absent (reading it raises FactsNeeded)."""

    def __init__(self, facts: GroupValues) -> None:
        self.facts: dict[str, object] = dict(facts)
        self._loops: dict[int, list[dict | None]] = {}

    def failed(self, task: CompiledTask, result: dict | None, message: str) -> None:
        """A task failed and its block's `rescue` runs: `ansible_failed_task` and
        `ansible_failed_result` for the rescue tasks, as Ansible sets them."""
        failed = dict(result or {})
        failed.setdefault("msg", message)
        failed["failed"] = True
        self.facts[REG + "ansible_failed_result"] = failed
        self.facts[REG + "ansible_failed_task"] = {"name": task.name}

    def record(self, task: CompiledTask, result: dict | None) -> None:
        if task.sets:  # set_fact names, ansible_facts.KEY of package_facts/service_facts
            values = (result or {}).get("ansible_facts") or {}
            for name in task.sets:
                key = name.removeprefix("ansible_facts.")
                if result is None:
                    self.facts.pop(REG + name, None)
                elif not result.get("skipped") and key in values:
                    self.facts[REG + name] = values[key]
        if not task.register:
            return
        if task.loop is not None:
            items = self._loops.setdefault(task.loop.id, [])
            items.append(None if result is None else {**result, task.loop.loop_var: task.loop.item})
            if task.loop.index < task.loop.count - 1:
                return
            del self._loops[task.loop.id]
            if any(i is None for i in items):
                self.facts.pop(REG + task.register, None)
                return
            known = [i for i in items if i is not None]
            result = {
                "results": known,
                "changed": any(i.get("changed") for i in known),
                "failed": any(i.get("failed") for i in known),
                "skipped": all(i.get("skipped") for i in known),
                "msg": "All items completed",
            }
        if result is None:
            self.facts.pop(REG + task.register, None)
        else:
            self.facts[REG + task.register] = result


@dataclass
class BlockFlow:
    """Which blocks failed (and whether their rescue runs): decides, task by task, whether
    a task runs after a failure, as Ansible's block/rescue/always do."""

    failed: dict[int, str] = field(default_factory=dict)  # block id → first failure
    rescuing: set[int] = field(default_factory=set)

    def skip(self, task: CompiledTask) -> str:
        """Why this task does not run now ("" when it runs)."""
        for ref in task.blocks:
            if ref.id in self.failed and ref.part != "always":
                if ref.part == "rescue" and ref.id in self.rescuing:
                    continue
                return f"skipped: block failed at {self.failed[ref.id]!r}"
            if ref.part == "rescue" and ref.id not in self.rescuing:
                return "rescue: runs only if a task of its block fails"
        return ""

    def fail(self, task: CompiledTask) -> bool:
        """A task failed: True when an enclosing block rescues it (the walk goes on)."""
        for ref in reversed(task.blocks):
            self.failed.setdefault(ref.id, task.name)
            if ref.part == "block" and ref.has_rescue and ref.id not in self.rescuing:
                self.rescuing.add(ref.id)
                return True
        return False

    def always_pending(self, task: CompiledTask, later: Sequence[CompiledTask]) -> list[int]:
        """The steps of `later` that still run after an unrescued failure of `task`: the
        `always` parts of its enclosing blocks."""
        ids = {ref.id for ref in task.blocks}
        return [
            i
            for i, t in enumerate(later)
            if any(r.id in ids and r.part == "always" for r in t.blocks)
        ]


def plan_host(
    tasks: Sequence[CompiledTask],
    handlers: Sequence[CompiledTask],
    state: HostState,
    watch: Watch | None = None,
) -> HostPlan:
    """Plan one host's share of a play on its probed `state` (which the tasks update as they
    plan, so a later task sees what an earlier one will do). `watch` (project/sharing.py)
    gives the late values of the host's earlier plays and of other hosts, and records what
    other hosts read from this one: it sees the late values before each task and at the end."""
    steps: list[TaskStep] = []
    queue = HandlerQueue()
    registry = Registry({**host_facts(state), **(watch.initial if watch else {})})
    flow = BlockFlow()
    work = list(tasks)
    while work:
        compiled = work.pop(0)
        if watch is not None:
            watch(compiled, registry.facts)
        if compiled.flush_handlers:
            steps.append(TaskStep(compiled, NoOp("run the handlers notified so far")))
            steps += _plan_handlers(queue, handlers, state, True, registry.facts)
            continue
        blocked = flow.skip(compiled)
        if blocked:
            skipped = replace(compiled, task=None, pending=None, skip_reason=blocked)
            rescue = replace(compiled, skip_reason=blocked)
            steps.append(TaskStep(skipped if "rescue:" not in blocked else rescue, None))
            registry.record(compiled, outcome_result(skipped, None, state))
            continue
        if compiled.late_loop is not None and not compiled.skip_reason:  # lateloop.py
            items = expand_loop(compiled, registry.facts)
            if isinstance(items, list):
                work[:0] = items
                if not items:
                    steps.append(TaskStep(empty(compiled), None, result=dict(EMPTY_LOOP)))
                    registry.record(compiled, dict(EMPTY_LOOP))
                continue
            steps.append(TaskStep(compiled, items, ignored=compiled.ignore_errors))
            if isinstance(items, Deferred):  # expanded when apply gets there
                registry.record(compiled, None)
                state.note_change()
                queue.notify(compiled, items)
                continue
            registry.record(compiled, {"changed": False, "failed": True, "msg": items.message})
            if not compiled.ignore_errors:
                if not flow.fail(compiled):
                    return HostPlan(steps, [], state)
                registry.failed(compiled, None, items.message)
            continue
        try:
            bound = bind_late(compiled, registry.facts)
        except InputError as exc:  # e.g. an attribute a skipped task's result lacks
            steps.append(TaskStep(compiled, Failed(str(exc)), ignored=compiled.ignore_errors))
            registry.record(compiled, {"changed": False, "failed": True, "msg": str(exc)})
            if compiled.ignore_errors:
                continue
            if flow.fail(compiled):
                registry.failed(compiled, None, str(exc))
                continue
            return HostPlan(steps, [], state)
        if isinstance(bound, list):
            deferred = at_apply(compiled, bound)
            state.note_change()
            queue.notify(compiled, deferred)
            steps.append(TaskStep(compiled, deferred))
            registry.record(compiled, None)
            continue
        unbound = compiled if compiled.pending is not None else None
        compiled = bound
        task = compiled.task
        if task is None:
            steps.append(TaskStep(compiled, None, unbound=unbound))
            registry.record(compiled, outcome_result(compiled, None, state))
            continue
        if any(not state.has(f) for f in task.facts()):
            outcome: Outcome = Deferred(
                f"decided at apply: {compiled.name} reads the host only once earlier results "
                "are known",
                task.facts(),
                task.read_only,
            )
        else:
            outcome = task.plan(state)
        result = outcome_result(compiled, outcome, state)
        ignored = False
        if result is not None:
            try:
                result, failure = judge(compiled, result, registry.facts)
            except InputError as exc:
                result, failure = {**result, "failed": True}, str(exc)
            if failure and not isinstance(outcome, Failed):
                outcome = Failed(failure)
            elif not failure and isinstance(outcome, Failed) and compiled.failed_when:
                outcome = NoOp(f"failed_when does not hold: {compiled.failed_when.expression}")
        registry.record(compiled, result)
        if _changes_host(outcome, task.read_only):
            state.note_change()
            queue.notify(compiled, outcome)
        first = isinstance(outcome, Deferred) and task.read_only
        if isinstance(outcome, Failed) and compiled.ignore_errors:
            ignored = True
        step = TaskStep(compiled, outcome, first, ignored=ignored, result=result, unbound=unbound)
        steps.append(step)
        if isinstance(outcome, Failed) and not ignored:
            if not flow.fail(compiled):
                return HostPlan(steps, [], state)
            registry.failed(compiled, result, outcome.message)
    if watch is not None:
        watch(None, registry.facts)
    return HostPlan(steps, _plan_handlers(queue, handlers, state, False, registry.facts), state)


def bind_handlers(handlers: Sequence[CompiledTask], facts: GroupValues) -> list[CompiledTask]:
    """Handlers with their late conditions decided on the values known now; one that still
    waits for a value known only at apply keeps it (it does not run from the plan)."""
    bound = []
    for handler in handlers:
        try:
            result = bind_late(handler, facts)
        except InputError:
            result = handler
        bound.append(handler if isinstance(result, list) else result)
    return bound


def _plan_handlers(
    queue: HandlerQueue,
    handlers: Sequence[CompiledTask],
    state: HostState,
    handler_steps: bool = False,
    facts: GroupValues | None = None,
) -> list:
    planned: list = []
    if facts is not None:
        handlers = bind_handlers(handlers, facts)
    for call in queue.due(handlers):
        assert call.handler.task is not None
        if call.skip:
            outcome: Outcome = NoOp(call.skip)
        else:
            outcome = call.handler.task.plan(state)
        if handler_steps:
            planned.append(TaskStep(call.handler, outcome, handler=True))
        else:
            planned.append(HandlerStep(call.handler, outcome, skipped=bool(call.skip)))
    return planned


def replan_task(task: CompiledTask, state: HostState) -> Outcome:
    """Decide, when apply reaches it, a task the plan deferred (or a handler that is due):
    on facts probed just now, after every earlier change has run."""
    assert task.task is not None
    assert not state.after_changes, "replan_task wants freshly probed facts"
    return task.task.plan(state)


def unconverged(
    tasks: Sequence[CompiledTask | tuple[CompiledTask, CompiledTask]],
    state: HostState,
    host_values: GroupValues | None = None,
) -> list[str]:
    """After apply, on freshly probed `state`: what each task would still do, one line per
    task (its change, deferral or failure). Empty when the host converged.

    A task is given as apply ran it, or as (the task as planned, as apply ran it) when its
    `when:` or arguments read registered results: those are decided again over the results
    the fresh probe gives (a read-only command's new answer), as a second run would decide
    them; where they cannot be (a value known only at apply), apply's decision stands."""
    left = []
    registry = Registry(host_values or {})
    for item in tasks:
        planned, compiled = item if isinstance(item, tuple) else (item, item)
        if planned.pending is not None:
            try:
                bound = bind_late(planned, registry.facts)
            except InputError:
                bound = compiled
            if not isinstance(bound, list) and (bound.task is None or _probed(bound, state)):
                compiled = bound
        if compiled.task is None:
            registry.record(compiled, outcome_result(compiled, None, state))
            continue
        outcome = compiled.task.plan(state)
        registry.record(compiled, outcome_result(compiled, outcome, state))
        if isinstance(outcome, Change):
            left.append(f"{compiled.name}: {'; '.join(outcome.summary)}")
        elif isinstance(outcome, Deferred):
            left.append(f"{compiled.name}: {outcome.summary}")
        elif isinstance(outcome, Failed):
            left.append(f"{compiled.name}: {outcome.message}")
    return left


def _probed(compiled: CompiledTask, state: HostState) -> bool:
    assert compiled.task is not None
    return all(state.has(fact) for fact in compiled.task.facts())


# ------------------------------------------------------------------ host facts


def fact_groups_needed(tasks: Sequence[CompiledTask]) -> frozenset[str]:
    """The host fact groups the tasks' deferred conditions and arguments read (none for a
    run that names no fact: its probe stays as it was)."""
    groups: set[str] = set()
    for compiled in tasks:
        if compiled.pending is not None:
            groups |= {g for g in compiled.pending.groups if not is_late(g)}
    return frozenset(groups) | loop_groups(tasks)


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
        if compiled.pending is None:
            return compiled
        try:
            return decide_pending(compiled, facts)
        except FactsNeeded as need:
            missing.update(g for g in need.groups if not is_late(g))
            return compiled

    return Bound([bind(t) for t in tasks], [bind(h) for h in handlers], frozenset(missing))


# ------------------------------------------------------------------ speculative facts

SPECULATIVE = "\u2063late\u2063"  # stands for a late value in a speculative build


class _Speculative(dict):
    """A late value (a registered result, a set_fact) before it is known: any key or
    attribute of it, and its text, is SPECULATIVE."""

    def __missing__(self, key: object) -> str:
        return SPECULATIVE

    def __str__(self) -> str:
        return SPECULATIVE


class _SpeculativeFacts(Mapping):
    """No host fact group; every late value speculative."""

    def __getitem__(self, key: str) -> object:
        if is_late(key):
            return _Speculative()
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and is_late(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def speculative_facts(tasks: Sequence[CompiledTask]) -> list[Fact]:
    """The facts of tasks whose arguments read a late value (a registered result), where
    those facts do not depend on it: `copy: {dest: /etc/x, content: "{{ out.stdout }}"}`
    reads /etc/x whatever `out` holds. They are read in the first probe, so that such a
    task is planned from it (and a converged re-run stays one remote command)."""
    found: dict[Fact, None] = {}
    for compiled in tasks:
        pending = compiled.pending
        if pending is None or pending.build is None:
            continue
        if not any(is_late(g) for g in pending.groups) and pending.groups:
            continue  # reads host facts only: built after the probe, as before
        try:
            task, _ = pending.build(_SpeculativeFacts())
            facts = task.facts()
        except Exception:  # noqa: BLE001 - a speculative build that fails reads nothing
            continue
        for fact in facts:
            if SPECULATIVE not in repr(fact):
                found.setdefault(fact, None)
    return list(found) + speculative_loop_facts(tasks)
