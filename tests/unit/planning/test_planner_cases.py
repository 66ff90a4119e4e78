"""Table-driven planner cases: `cases/<case>.yml` → the walk, handlers and deferrals out.

Each case file holds:

- `tasks`, `handlers` (and optional play `vars`): one play, in playbook form, with real
  task types; it is compiled for one host exactly as `provision` compiles a project
- `facts`: the host as probed, in the simple form of the task cases
  (tests/unit/tasks/test_cases.py)
- `expect`, either `input_error: SUBSTRING` (compiling fails), or what `plan_host` decides:
  - `tasks`: one `{NAME: KIND}` per task the walk reaches, in order. KIND is change,
    noop, deferred, check (a read-only check decided at apply), failed or skipped
    (`when:`), optionally followed by `: SUBSTRING` of its summary, reason or message
  - `handlers`: one `{NAME: KIND}` per notified handler, in the order they run; KIND as
    above, or `skipped` when the planner decides it need not run
  - `handlers_first`: the tasks before which apply runs the handlers notified so far
    (default: none)
- optional `apply`: the same play applied by the real runner, on a host whose probes are
  answered from the case (no probe script is parsed) and whose commands succeed:
  - `facts`: the host after the changes (answers every probe after the first); default:
    the facts above
  - `fail_on`: a substring; a command containing it fails (exit 1)
  - `expect`: one `{NAME: STATUS}` per report, in order (STATUS as the JSON shows it,
    `STATUS handler` for a handler, optional `: SUBSTRING`), and `status` of the host
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.execution.fakes import FakeConnection
from tests.unit.tasks.test_cases import fact_value

from provision.errors import InputError
from provision.execution import runner
from provision.execution.connection import Result
from provision.execution.reports import HostReport, TaskReport
from provision.facts.base import Fact
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp, Outcome
from provision.planning.planner import HostPlan, plan_host
from provision.project.compile import HostPlay, compile_run

CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES.glob("*.yml"))
INVENTORY = "all:\n  hosts:\n    h1: {ansible_connection: local}\n"


def compile_case(case: dict[str, Any], tmp_path: Path) -> HostPlay:
    play: dict[str, Any] = {"hosts": "all", "tasks": case.get("tasks") or []}
    if case.get("handlers"):
        play["handlers"] = case["handlers"]
    if case.get("vars"):
        play["vars"] = case["vars"]
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(yaml.safe_dump([play], sort_keys=False))
    compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    ((_, (host_play,)),) = compiled.plays
    return host_play


def state_of(facts: list[Fact], values: dict[str, Any]) -> HostState:
    return HostState({fact: fact_value(fact, values) for fact in facts})


def all_facts(play: HostPlay) -> list[Fact]:
    return runner._facts_of(play.tasks + play.handlers)


def kind_of(outcome: Outcome | None) -> tuple[str, str]:
    """(KIND, the text a SUBSTRING is looked for in)."""
    if outcome is None:
        return "skipped", ""
    if isinstance(outcome, NoOp):
        return "noop", outcome.reason
    if isinstance(outcome, Change):
        return "change", "\n".join(outcome.summary)
    if isinstance(outcome, Deferred):
        return ("check" if outcome.check else "deferred"), outcome.summary
    assert isinstance(outcome, Failed)
    return "failed", outcome.message


def split(entry: Any) -> tuple[str, str, str]:
    """`{NAME: "KIND: SUBSTRING"}` → (NAME, KIND, SUBSTRING)."""
    assert isinstance(entry, dict) and len(entry) == 1, f"one {{NAME: KIND}} per entry: {entry}"
    ((name, wanted),) = entry.items()
    kind, _, text = str(wanted).partition(": ")
    return str(name), kind.strip(), text


def check_entries(what: str, got: list[tuple[str, str, str]], wanted: list[Any]) -> None:
    shown = [f"{n}: {k}" for n, k, _ in got]
    assert len(got) == len(wanted), f"{what}: expected {len(wanted)} entries, got {shown}"
    for (name, kind, text), entry in zip(got, wanted, strict=True):
        want_name, want_kind, want_text = split(entry)
        assert (name, kind) == (want_name, want_kind), f"{what}: got {shown}"
        assert want_text in text, f"{what} {name}: {want_text!r} not in {text!r}"


def check_plan(plan: HostPlan, expect: dict[str, Any]) -> None:
    steps = []
    for step in plan.steps:
        kind, text = kind_of(step.outcome)
        steps.append((step.task.name, kind, text or step.task.skip_reason))
    check_entries("tasks", steps, expect.get("tasks") or [])
    handlers = []
    for h in plan.handlers:
        kind, text = kind_of(h.outcome)
        handlers.append((h.handler.name, "skipped" if h.skipped else kind, text))
    check_entries("handlers", handlers, expect.get("handlers") or [])
    first = [s.task.name for s in plan.steps if s.handlers_first]
    assert first == (expect.get("handlers_first") or []), f"handlers_first: {first}"


def report_entry(report: TaskReport) -> tuple[str, str, str]:
    status = f"{report.status} handler" if report.handler else str(report.status)
    text = "\n".join([*report.summary, report.reason, report.message])
    return report.name, status, text


def run_apply(
    play: HostPlay, before: dict[str, Any], after: dict[str, Any], fail_on: str, monkeypatch
) -> tuple[HostReport, list[str]]:
    """The real runner's apply, with probes answered from the case: the first from `before`,
    every later one (deferred tasks, handlers, convergence) from `after`."""
    probes: list[int] = []

    def probe(conn: object, facts: list[Fact], become: bool) -> HostState:
        probes.append(len(facts))
        return state_of(facts, before if len(probes) == 1 else after)

    ran: list[str] = []

    def respond(script: str, stdin: bytes | None) -> Result:
        ran.append(script)
        if fail_on and fail_on in script:
            return Result(1, b"", b"it failed\n")
        return Result(0, b"", b"")

    monkeypatch.setattr(runner, "probe", probe)
    report = HostReport(play.host.name)
    options = runner.RunOptions(apply=True)
    host_run = runner.HostRun(play, FakeConnection(respond), options, report, lambda e, p: None)
    try:
        host_run.run()
    except runner.HostFailed as exc:
        report.status, report.error = exc.status, str(exc)
    else:
        if any(t.status == "changed" for t in report.tasks):
            report.status = runner.CHANGED
    return report, ran


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_case(path: Path, tmp_path: Path, monkeypatch):
    case = yaml.safe_load(path.read_text())
    unknown = set(case) - {"tasks", "handlers", "vars", "facts", "expect", "apply"}
    assert not unknown, f"unknown keys {unknown}"
    expect = case["expect"]
    if "input_error" in expect:
        with pytest.raises(InputError) as excinfo:
            compile_case(case, tmp_path)
        assert expect["input_error"] in str(excinfo.value)
        return
    play = compile_case(case, tmp_path)
    facts = case.get("facts") or {}
    plan = plan_host(play.tasks, play.handlers, state_of(all_facts(play), facts))
    check_plan(plan, expect)
    if "apply" in case:
        apply = case["apply"]
        after = apply.get("facts", facts)
        report, _ = run_apply(play, facts, after, apply.get("fail_on", ""), monkeypatch)
        got = [report_entry(t) for t in report.tasks]
        check_entries("apply", got, apply["expect"])
        wanted_status, _, wanted_error = str(apply.get("status", "changed")).partition(": ")
        assert str(report.status) == wanted_status, report.error
        assert wanted_error in report.error


def test_plan_and_apply_share_the_walk_on_a_converged_host(tmp_path: Path, monkeypatch):
    """Every case whose plan changes nothing applies without a command."""
    checked = 0
    for path in CASE_FILES:
        case = yaml.safe_load(path.read_text())
        if "input_error" in case["expect"]:
            continue
        play = compile_case(case, tmp_path)
        facts = case.get("facts") or {}
        plan = plan_host(play.tasks, play.handlers, state_of(all_facts(play), facts))
        if any(isinstance(s.outcome, Change | Deferred | Failed) for s in plan.steps):
            continue
        report, ran = run_apply(play, facts, facts, "", monkeypatch)
        assert ran == [], path.name
        assert str(report.status) == "ok", (path.name, report.error)
        checked += 1
    assert checked >= 3


def test_enough_cases():
    assert len(CASE_FILES) >= 25
