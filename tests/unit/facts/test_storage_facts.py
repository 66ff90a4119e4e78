"""Storage fact parsers from captured output: `storage_cases/*.yml` → parsed value or FactError.

Each case: `kind` (block_device, lvm, mount_point, filesystem), `arg` (the device or path),
`rc` and `stdout` as the probe got them, then `expect` (the fields to compare; others are
not checked) or `error` (a substring of the FactError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.facts.test_fact_cases import plain

from provision.facts.base import FactError
from provision.facts.storage import (
    BlockDeviceFact,
    FilesystemFact,
    LvmFact,
    MountPointFact,
    device_problem,
)

CASES = sorted((Path(__file__).parent / "storage_cases").glob("*.yml"))
KINDS: dict[str, Any] = {
    "block_device": BlockDeviceFact,
    "lvm": lambda arg: LvmFact(),
    "mount_point": MountPointFact,
    "filesystem": FilesystemFact,
}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_storage_case(path: Path):
    case = yaml.safe_load(path.read_text())
    fact = KINDS[case["kind"]](case.get("arg"))
    stdout = case["stdout"].encode()
    if "error" in case:
        with pytest.raises(FactError) as excinfo:
            fact.parse(case["rc"], stdout, b"")
        assert case["error"] in str(excinfo.value)
        return
    value = plain(fact.parse(case["rc"], stdout, b""))
    for key, wanted in case["expect"].items():
        assert value[key] == wanted, f"{key}: {value[key]!r} != {wanted!r}"


def test_at_least_forty_storage_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "path",
    ["/dev/vdb", "/dev/disk/by-id/virtio-docker", "/dev/mapper/vg-lv", "/dev/vg_docker/lv_docker"],
)
def test_device_paths_accepted(path: str):
    assert device_problem(path) is None


@pytest.mark.parametrize(
    "path",
    ["-f", "/dev/-f", "/dev/../etc", "/dev/a b", "/dev/a\n", "/dev/a\u2028", "/dev/", "/tmp/x"],
)
def test_device_paths_refused(path: str):
    assert device_problem(path)


def test_commands_quote_the_path():
    for fact in (BlockDeviceFact("/dev/a'b"), MountPointFact("/x y"), FilesystemFact("/dev/a'b")):
        assert "'\"'\"'" in fact.command() or "'/x y'" in fact.command()
