"""Table-driven task-type cases: `cases/<type>/<case>.yml` → facts in, outcome out.

Each case file holds:

- `args`: the task's arguments (already rendered)
- `facts`: the host state as probed, in a simple form converted below; `after_changes:
  true` plans the task as if an earlier task of the walk planned a change
- `expect`: one of `noop: SUBSTRING`, `change: {summary: [...], commands: [...]}`,
  `failed: SUBSTRING`, `deferred: true|SUBSTRING`, `input_error: SUBSTRING`
- optional `vars` (task variables), `template`/`files` (a role dir is made for them),
  `xfail: "BUG: ..."` for a known bug (strict).

For every change case the same task is planned again on the state the change left
behind and must give a no-op (`idempotent: false` under `change` opts out).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.tasks.storage_facts import STORAGE_FACTS, storage_value
from tests.unit.tasks.trust_facts import rpm_keys_value, sysctl_boot_value

from provision.errors import InputError, Location
from provision.facts.kinds import (
    CommandFact,
    CommandResult,
    FileFact,
    FileState,
    GroupFact,
    GroupState,
    PackagesFact,
    ServiceFact,
    ServiceState,
    SysctlFact,
    Update,
    UpdatesFact,
    UserFact,
    UserState,
    parse_mode,
)
from provision.facts.rpm_keys import RpmKeysFact
from provision.facts.sysctl_boot import SysctlBootFact
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp
from provision.tasks.base import TaskContext, TaskType, task_types

CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(CASES.glob("*/*.yml"))
OUTCOME_KEYS = {"noop", "change", "failed", "deferred", "input_error"}


def _case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _params():
    result = []
    for path in CASE_FILES:
        case = yaml.safe_load(path.read_text())
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
        result.append(pytest.param(path, marks=marks, id=_case_id(path)))
    return result


def file_state(spec: Any) -> FileState:
    if spec is None or spec.get("exists", True) is False:
        return FileState(False)
    content = spec.get("content", "")
    if isinstance(content, dict):  # {base64: ...} for binary content
        data: bytes | None = base64.b64decode(content["base64"])
    else:
        data = None if content is None else str(content).encode()
    mode = parse_mode(spec.get("mode", "0644"))
    assert mode is not None, spec
    return FileState(
        True,
        spec.get("kind", "regular file"),
        mode,
        spec.get("owner", "root"),
        spec.get("group", "root"),
        data,
        spec.get("known", True),
    )


def fact_value(fact: Any, facts: dict[str, Any]) -> Any:
    """The probed value of one fact, from the case's simple YAML form (with defaults)."""
    if isinstance(fact, FileFact):
        return file_state((facts.get("files") or {}).get(fact.path))
    if isinstance(fact, PackagesFact):
        return {k: tuple(v) for k, v in (facts.get("packages") or {}).items()}
    if isinstance(fact, UpdatesFact):
        key = "security_updates" if fact.security else "updates"
        return tuple(Update(u["name"], u["version"], u["repo"]) for u in facts.get(key) or [])
    if isinstance(fact, ServiceFact):
        services = facts.get("services") or {}
        spec = services.get(fact.name) or services.get(fact.unit)
        if spec is None:
            return ServiceState("not-found", "inactive", "")
        return ServiceState(spec["load"], spec["active"], spec.get("enabled", ""))
    if isinstance(fact, SysctlFact):
        value = (facts.get("sysctls") or {}).get(fact.key)
        return None if value is None else str(value)
    if isinstance(fact, UserFact):
        spec = (facts.get("users") or {}).get(fact.name)
        if spec is None:
            return None
        return UserState(
            fact.name,
            spec.get("uid", 1000),
            spec.get("home", f"/home/{fact.name}"),
            spec.get("shell", "/bin/bash"),
            tuple(spec.get("groups", [fact.name])),
        )
    if isinstance(fact, GroupFact):
        spec = (facts.get("groups") or {}).get(fact.name)
        if spec is None:
            return None
        return GroupState(fact.name, spec.get("gid", 1000), tuple(spec.get("members", [])))
    if isinstance(fact, CommandFact):
        commands = facts.get("commands") or {}
        assert fact.script in commands, f"case has no answer for command {fact.script!r}"
        spec = commands[fact.script]
        return CommandResult(spec.get("rc", 0), str(spec.get("stdout", "")), spec.get("stderr", ""))
    if isinstance(fact, SysctlBootFact):
        return sysctl_boot_value(facts)
    if isinstance(fact, RpmKeysFact):
        return rpm_keys_value(fact, facts)
    if isinstance(fact, STORAGE_FACTS):
        return storage_value(fact, facts)
    raise AssertionError(f"no simple form for {fact!r}")


def make_task(type_name: str, case: dict[str, Any], path: Path, tmp_path: Path) -> TaskType:
    cls = task_types()[type_name]
    location = Location(str(path), 1)
    role_dir = None
    if "template" in case or "role_files" in case:
        role_dir = tmp_path / "role"
        if "template" in case:
            (role_dir / "templates").mkdir(parents=True)
            (role_dir / "templates" / case["args"]["src"]).write_text(case["template"])
        for name, text in (case.get("role_files") or {}).items():
            (role_dir / "files").mkdir(parents=True, exist_ok=True)
            (role_dir / "files" / name).write_text(text)
    args = cls.parse(case["args"], location)
    params = cls.coerce(args, location)
    context = TaskContext(location, role_dir, case.get("vars") or {}, case.get("secret", False))
    return cls(params, context)


def make_state(task: TaskType, facts: dict[str, Any]) -> HostState:
    values = {fact: fact_value(fact, facts) for fact in task.facts()}
    return HostState(values, after_changes=facts.get("after_changes", False))


def _check_lines(what: str, got: list[str], wanted: list[str]) -> None:
    assert len(got) == len(wanted), f"{what}: expected {len(wanted)}, got {got}"
    for line, part in zip(got, wanted, strict=True):
        assert part in line, f"{what}: {part!r} not in {line!r}"


@pytest.mark.parametrize("path", _params())
def test_case(path: Path, tmp_path: Path):
    case = yaml.safe_load(path.read_text())
    expect = case["expect"]
    assert len(expect) == 1 and set(expect) <= OUTCOME_KEYS, expect
    (kind, wanted), *_ = expect.items()
    if kind == "input_error":
        with pytest.raises(InputError) as excinfo:
            make_task(path.parent.name, case, path, tmp_path)
        assert wanted in str(excinfo.value)
        # names the case (the task's file) or the role file it read
        assert str(path) in str(excinfo.value) or str(tmp_path) in str(excinfo.value)
        return
    task = make_task(path.parent.name, case, path, tmp_path)
    state = make_state(task, case.get("facts") or {})
    outcome = task.plan(state)
    if kind == "noop":
        assert isinstance(outcome, NoOp), outcome
        assert wanted in outcome.reason
    elif kind == "failed":
        assert isinstance(outcome, Failed), outcome
        assert wanted in outcome.message
    elif kind == "deferred":
        assert isinstance(outcome, Deferred), outcome
        if isinstance(wanted, str):
            assert wanted in outcome.summary
        assert outcome.facts, "a deferred task names the facts to re-probe"
    else:
        assert isinstance(outcome, Change), outcome
        _check_lines("summary", outcome.summary, wanted.get("summary", []))
        scripts = [c.script for c in outcome.commands]
        _check_lines("commands", scripts, wanted.get("commands", []))
        for command, text in zip(outcome.commands, wanted.get("stdin") or [], strict=False):
            if text is None:
                assert command.stdin is None
            else:
                assert command.stdin is not None and text in command.stdin.decode()
        if wanted.get("idempotent", True):
            again = task.plan(state)
            assert isinstance(again, NoOp), f"not idempotent: second plan gave {again}"


def test_every_task_type_has_cases():
    covered = {p.parent.name for p in CASE_FILES}
    assert set(task_types()) <= covered


def test_at_least_fifty_cases():
    assert len(CASE_FILES) >= 50
