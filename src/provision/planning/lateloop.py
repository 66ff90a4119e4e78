"""Expanding a loop whose list the host gives (`project.lateloop`), in the planner's walk.

`expand_loop` turns the placeholder into its item tasks over the values known at that
point of the walk (the probe's answers, the results registered before it), or says why it
cannot: a value known only at apply (a read-only command read after earlier changes:
`Deferred`, expanded when apply gets there), or an item refused (`Failed`).

`loop_facts` is what the probe must also read so that the item tasks are planned from it:
their facts that depend on the item (`file: {path: "/etc/x/{{ item }}"}`), found by a trial
walk over the first probe's answers (one more remote command, only then). Facts that do not
depend on the item (`lineinfile: {path: /etc/x, line: "{{ item }}"}`) are read in the first
probe (`speculative_facts`), so a converged re-run stays one remote command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from provision.errors import InputError
from provision.facts.base import Fact
from provision.facts.hostvars import FactsNeeded, GroupValues
from provision.planning.model import Deferred, Failed, HostState
from provision.project.compile import REG, CompiledTask, is_late
from provision.project.lateloop import LATE_ITEM

_ESCAPED = repr(LATE_ITEM)[1:-1]
EMPTY_LOOP = {
    "changed": False,
    "failed": False,
    "skipped": True,
    "skipped_reason": "No items in the list",
    "results": [],
    "msg": "No items in the list",
}


def expand_loop(
    compiled: CompiledTask, facts: GroupValues
) -> list[CompiledTask] | Deferred | Failed:
    """The item tasks of a late loop over `facts`, or why they are not known here."""
    loop = compiled.late_loop
    assert loop is not None
    try:
        return loop.expand(facts)
    except FactsNeeded as need:
        names = sorted(g[len(REG) :] for g in need.groups if is_late(g))
        what = ", ".join(f"`{n}`" for n in names) or f"host facts {sorted(need.groups)}"
        return Deferred(
            f"loop items known at apply: `{loop.expression}` reads {what}, read on this host "
            "only at apply, after earlier changes",
            [],
        )
    except InputError as exc:
        return Failed(str(exc))


def empty(compiled: CompiledTask) -> CompiledTask:
    """The placeholder of a loop with no item on this host: a skipped task."""
    assert compiled.late_loop is not None
    return replace(
        compiled,
        late_loop=None,
        skip_reason=f"no items: `{compiled.late_loop.expression}` is empty on this host",
    )


def loop_groups(tasks: Sequence[CompiledTask]) -> frozenset[str]:
    """The host fact groups late loops read (their list, and their items' `when:`/arguments)."""
    return frozenset(g for t in tasks if t.late_loop is not None for g in t.late_loop.groups)


def speculative_loop_facts(tasks: Sequence[CompiledTask]) -> list[Fact]:
    """The facts of late loops' item tasks that do not depend on the item."""
    found: dict[Fact, None] = {}
    for compiled in tasks:
        loop = compiled.late_loop
        if loop is None or loop.speculative is None:
            continue
        try:
            stand_in = loop.speculative()
            task = stand_in.task if stand_in.task is not None else None
            if task is None and stand_in.pending is not None:
                task = stand_in.pending.task
            facts = task.facts() if task is not None else []
        except Exception:  # noqa: BLE001 - a stand-in that cannot be built reads nothing
            continue
        for fact in facts:
            text = repr(fact)  # repr escapes the stand-in's invisible characters
            if LATE_ITEM not in text and _ESCAPED not in text:
                found.setdefault(fact, None)
    return list(found)


def loop_facts(
    tasks: Sequence[CompiledTask],
    handlers: Sequence[CompiledTask],
    facts: dict[Fact, object],
) -> list[Fact]:
    """The facts the item tasks of late loops read that the probe did not: found by a trial
    walk over the probe's answers `facts` (nothing to do without a late loop)."""
    if not any(t.late_loop is not None for t in tasks):
        return []
    from provision.planning.planner import plan_host

    plan = plan_host(tasks, handlers, HostState(dict(facts)))
    missing: dict[Fact, None] = {}
    for step in plan.steps:
        compiled = step.task
        if compiled.loop is None or not compiled.loop.from_host or compiled.task is None:
            continue
        for fact in compiled.task.facts():
            if fact not in facts:
                missing.setdefault(fact, None)
    return list(missing)
