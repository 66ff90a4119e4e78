"""Host fact parsers from captured and written output: `host_cases/*.yml`.

Each case: `fact` (a group), `rc`, `stdout`, `stderr`, and either `expect` (the parsed
value; a mapping lists only the fields it checks, a list has one entry per item) or
`error` (a FactError containing that text). Cases marked `note: captured` are real output.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.facts.base import FactError
from provision.facts.host import GROUP_FACTS, GROUPS, FactFailure, Tolerant, mount_of, parse_mounts

CASES = sorted((Path(__file__).parent / "host_cases").glob("*.yml"))


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def matches(found: Any, expected: Any, where: str = "value") -> None:
    if isinstance(expected, dict) and isinstance(found, dict):
        for key, want in expected.items():
            assert key in found, f"{where}: no {key!r} in {found!r}"
            matches(found[key], want, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list), f"{where}: expected a list, found {found!r}"
        assert len(found) == len(expected), f"{where}: {len(found)} items, expected {expected!r}"
        for index, (f, e) in enumerate(zip(found, expected, strict=True)):
            matches(f, e, f"{where}[{index}]")
    else:
        assert found == expected, f"{where}: {found!r} != {expected!r}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_host_fact_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    fact = GROUP_FACTS[case["fact"]]
    args = (case["rc"], case["stdout"].encode(), case.get("stderr", "").encode())
    if "error" in case:
        with pytest.raises(FactError) as caught:
            fact.parse(*args)
        assert case["error"] in str(caught.value)
        failure = Tolerant(fact).parse(*args)  # provision facts/check go on, saying why
        assert isinstance(failure, FactFailure) and case["error"] in failure.message
    else:
        matches(plain(fact.parse(*args)), case["expect"])


def test_every_group_has_cases() -> None:
    covered = {yaml.safe_load(p.read_text())["fact"] for p in CASES}
    assert covered == set(GROUPS)
    for group in GROUPS:
        kinds = [yaml.safe_load(p.read_text()) for p in CASES]
        errors = [c for c in kinds if c["fact"] == group and "error" in c]
        assert errors, f"no case where {group}'s answer is refused"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/var/lib/docker", "/var/lib/docker"),
        ("/var/lib/docker/overlay2", "/var/lib/docker"),
        ("/var/lib/dockerx", "/"),
        ("/var", "/"),
        ("/", "/"),
        ("/boot/efi", "/boot"),
        ("var/lib/docker/", "/var/lib/docker"),
    ],
)
def test_mount_of(path: str, expected: str) -> None:
    listing = (
        '{"filesystems": [{"target": "/", "size": 1, "avail": 1},'
        ' {"target": "/boot", "size": 1, "avail": 1},'
        ' {"target": "/var/lib/docker", "size": 1, "avail": 1}]}'
    )
    found = mount_of(parse_mounts(listing, ""), path)
    assert found is not None and found.mount == expected


def test_stacked_mounts_the_last_wins() -> None:
    listing = (
        '{"filesystems": [{"target": "/", "source": "a"}, {"target": "/srv", "source": "b"},'
        ' {"target": "/srv", "source": "c"}]}'
    )
    found = mount_of(parse_mounts(listing, ""), "/srv/x")
    assert found is not None and found.device == "c"
