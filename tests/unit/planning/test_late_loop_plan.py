"""The planner's side of a loop over the host's answers, on a canned probe answer: the
walk expands the placeholder into item tasks, says when it cannot (read after a change:
at apply; a refused item: failed), and `loop_facts` names the item facts still to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.facts.readonly import CommandOutput
from provision.planning.lateloop import loop_facts, speculative_loop_facts
from provision.planning.model import Deferred, Failed, HostState, NoOp
from provision.planning.planner import plan_host
from provision.project.compile import compile_run


def compiled_tasks(root: Path, tasks: str) -> list:
    (root / "inv.yml").write_text("all:\n  hosts:\n    h1: {ansible_connection: local}\n")
    folder = root / "roles" / "r" / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.yml").write_text(tasks)
    (root / "play.yml").write_text("- hosts: all\n  roles: [r]\n")
    return compile_run(root / "inv.yml", root / "play.yml").plays[0][1][0].tasks


READ = "- name: read\n  command: cat /etc/names\n  register: out\n  changed_when: false\n"


def answered(tasks: list, stdout: bytes, rc: int = 0) -> HostState:
    """The probe's answer: the read-only command printed `stdout`."""
    fact = tasks[0].task.fact
    return HostState({fact: CommandOutput(rc, stdout, b"")})


CASES = [
    # (loop task, probe stdout, [(name, outcome kind, reason or summary part)])
    (
        "- name: each\n  debug: {msg: '<{{ item }}>'}\n  loop: '{{ out.stdout_lines }}'\n",
        b"a\nb\n",
        [("each", NoOp, "<a>"), ("each", NoOp, "<b>")],
    ),
    (
        "- name: 'n {{ item }}'\n  debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n"
        "  when: item != 'b'\n",
        b"a\nb\nc\n",
        [("n a", NoOp, "x"), ("n b", None, "condition false"), ("n c", NoOp, "x")],
    ),
    (
        "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n",
        b"",
        [("each", None, "no items")],
    ),
    (
        "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n",
        b"ok\n-bad\n",
        [("each", Failed, "starts with `-`")],
    ),
    (
        "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n  ignore_errors: true\n"
        "- name: after\n  debug: {msg: done}\n",
        b"../x\n",
        [("each", Failed, "`..` path component"), ("after", NoOp, "done")],
    ),
    (
        "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout | from_json }}'\n",
        b"{not json",
        [("each", Failed, "from_json")],
    ),
    (
        "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout }}'\n",
        b"text",
        [("each", Failed, "must give a list")],
    ),
]


@pytest.mark.parametrize(("task", "stdout", "expect"), CASES)
def test_the_walk_expands_on_the_probe_answer(
    tmp_path: Path, task: str, stdout: bytes, expect: list
) -> None:
    tasks = compiled_tasks(tmp_path, READ + task)
    assert tasks[1].late_loop is not None and tasks[1].task is None
    plan = plan_host(tasks, [], answered(tasks, stdout))
    got = plan.steps[1:]
    assert len(got) == len(expect), [(s.task.name, s.outcome) for s in got]
    for step, (name, kind, words) in zip(got, expect, strict=True):
        assert step.task.name == name
        if kind is None:
            assert step.outcome is None and words in step.task.skip_reason
        else:
            assert isinstance(step.outcome, kind), step.outcome
            text = getattr(step.outcome, "reason", "") or getattr(step.outcome, "message", "")
            assert words in text


def test_a_read_after_a_change_leaves_the_loop_to_apply(tmp_path: Path) -> None:
    tasks = compiled_tasks(
        tmp_path,
        "- copy: {content: x, dest: /tmp/never-a}\n"
        + READ
        + "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n"
        "- name: after\n  debug: {msg: '{{ out.rc }}'}\n",
    )
    plan = plan_host(tasks, [], HostState({}))  # the copy is decided at apply: a change
    each = next(s for s in plan.steps if s.task.name == "each")
    assert isinstance(each.outcome, Deferred)
    assert "loop items known at apply" in each.outcome.summary


def test_item_facts_that_depend_on_the_item_are_named_after_the_probe(tmp_path: Path) -> None:
    tasks = compiled_tasks(
        tmp_path,
        READ
        + "- copy: {content: x, dest: '/tmp/ll-{{ item }}'}\n  loop: '{{ out.stdout_lines }}'\n"
        "- lineinfile: {path: /tmp/ll-list, line: '{{ item }}'}\n"
        "  loop: '{{ out.stdout_lines }}'\n",
    )
    speculative = speculative_loop_facts(tasks)
    assert [getattr(f, "path", None) for f in speculative] == ["/tmp/ll-list"]
    state = answered(tasks, b"a\nb\n")
    known = {tasks[0].task.fact: state.get(tasks[0].task.fact)}
    missing = loop_facts(tasks, [], known)
    paths = sorted(getattr(f, "path", "") for f in missing)
    assert paths == ["/tmp/ll-a", "/tmp/ll-b", "/tmp/ll-list"]
