"""Fact kinds from captured command output: each case gives the fact, the exact command
it runs on the host, and that command's captured output → the parsed value or FactError.

Cases are found in `cases/` (at any depth: `cases/storage/` holds the storage kinds') and,
for a fact kind a task type's module defines, in that type's case folder:
tests/unit/tasks/cases/TYPE/facts/*.yml. Each holds:

- `fact`: `{kind: KIND, FIELD: VALUE...}`: the kind's name and its fields
- `command`: the exact shell text the fact runs (a change to it is a reviewed change)
- `rc`, `stdout`, `stderr`: what the host answered
- `expect` (the parsed value; a mapping names only the fields it checks) or `raises`
  (a substring of the FactError)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.facts.base import FactError, FactKind, fact_kinds
from provision.tasks.base import task_types

HERE = Path(__file__).parent
TASK_CASES = HERE.parent / "tasks" / "cases"
CASES = sorted([*(HERE / "cases").rglob("*.yml"), *TASK_CASES.glob("*/facts/*.yml")])


def kinds() -> dict[str, type[FactKind]]:
    """Every fact kind: those of provision.facts and those the task modules define."""
    task_types()
    return fact_kinds()


def plain(value: Any) -> Any:
    """A parsed value in the cases' YAML form (modes as octal text, bytes as text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if "mode" in result and isinstance(value.mode, int):
            result["mode"] = f"{value.mode:04o}"
        return result
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _case_id(path: Path) -> str:
    if path.is_relative_to(TASK_CASES):
        return f"{path.parents[1].name}/{path.stem}"
    return path.relative_to(HERE / "cases").with_suffix("").as_posix()


def _params():
    result = []
    for path in CASES:
        case = yaml.safe_load(path.read_text())
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
        result.append(pytest.param(path, marks=marks, id=_case_id(path)))
    return result


def make_fact(spec: dict) -> FactKind:
    known = kinds()
    assert spec["kind"] in known, f"unknown fact kind {spec['kind']!r}; known: {sorted(known)}"
    return known[spec["kind"]].from_case(spec)


@pytest.mark.parametrize("path", _params())
def test_fact_case(path: Path):
    case = yaml.safe_load(path.read_text())
    fact = make_fact(case["fact"])
    assert "command" in case, f"{path.name}: pin the fact's command: {fact.command()!r}"
    assert fact.command() == case["command"], "the fact's command changed"
    stdout = (case.get("stdout") or "").encode()
    stderr = (case.get("stderr") or "").encode()
    if "raises" in case:
        with pytest.raises(FactError, match=None) as excinfo:
            fact.parse(case["rc"], stdout, stderr)
        assert case["raises"] in str(excinfo.value)
        return
    parsed = fact.parse(case["rc"], stdout, stderr)
    got = plain(parsed)
    wanted = case["expect"]
    if isinstance(wanted, dict) and dataclasses.is_dataclass(parsed):
        got = {k: v for k, v in got.items() if k in wanted}  # cases name the fields they check
    assert got == wanted


def test_every_fact_kind_has_cases():
    covered = {yaml.safe_load(p.read_text())["fact"]["kind"] for p in CASES}
    assert covered == set(kinds())


EVIL = "x'; touch /tmp/pwned; echo '"


@pytest.mark.parametrize("kind", sorted(kinds()))
def test_fact_commands_quote_their_values(kind):
    """Every text field of a fact reaches its command as one quoted word."""
    cls = kinds()[kind]
    texts = [f.name for f in dataclasses.fields(cls) if f.type in ("str", str)]
    fact = cls(**dict.fromkeys(texts, EVIL))
    if cls.verbatim or not texts:
        return  # the user's own shell text (a guard, an assert), or no value inside
    assert EVIL not in fact.command()
    assert "'\"'\"'" in fact.command()  # shlex.quote's escape of a single quote
