"""Fact parsers from captured command output: `cases/*.yml` → parsed value or FactError."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.facts.base import FactError
from provision.facts.kinds import (
    CommandFact,
    FileFact,
    GroupFact,
    PackagesFact,
    ServiceFact,
    SysctlFact,
    UpdatesFact,
    UserFact,
)

CASES = sorted((Path(__file__).parent / "cases").glob("*.yml"))
KINDS = {
    "file": lambda spec: FileFact(spec["path"]),
    "packages": lambda spec: PackagesFact(),
    "updates": lambda spec: UpdatesFact(spec.get("security", False)),
    "service": lambda spec: ServiceFact(spec["name"]),
    "sysctl": lambda spec: SysctlFact(spec["key"]),
    "user": lambda spec: UserFact(spec["name"]),
    "group": lambda spec: GroupFact(spec["name"]),
    "command": lambda spec: CommandFact(spec["script"]),
}


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


def _params():
    result = []
    for path in CASES:
        case = yaml.safe_load(path.read_text())
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
        result.append(pytest.param(path, marks=marks, id=path.stem))
    return result


@pytest.mark.parametrize("path", _params())
def test_fact_case(path: Path):
    case = yaml.safe_load(path.read_text())
    fact = KINDS[case["fact"]["kind"]](case["fact"])
    stdout = (case.get("stdout") or "").encode()
    stderr = (case.get("stderr") or "").encode()
    if "raises" in case:
        with pytest.raises(FactError, match=None) as excinfo:
            fact.parse(case["rc"], stdout, stderr)
        assert case["raises"] in str(excinfo.value)
        return
    got = plain(fact.parse(case["rc"], stdout, stderr))
    wanted = case["expect"]
    if isinstance(wanted, dict) and isinstance(got, dict) and case["fact"]["kind"] != "packages":
        got = {k: v for k, v in got.items() if k in wanted}  # cases name the fields they check
    assert got == wanted


def test_every_fact_kind_has_cases():
    kinds = {yaml.safe_load(p.read_text())["fact"]["kind"] for p in CASES}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("make", KINDS.values(), ids=list(KINDS))
def test_fact_commands_quote_their_values(make):
    evil = "x'; touch /tmp/pwned; echo '"
    fact = make({"path": evil, "name": evil, "key": evil, "script": "true"})
    if isinstance(fact, CommandFact | PackagesFact | UpdatesFact):
        return  # no user value inside (a command fact is the user's own shell string)
    assert "'\"'\"'" in fact.command()  # shlex.quote's escape of a single quote
