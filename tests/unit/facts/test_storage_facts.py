"""Storage facts: the device paths the storage task types accept, and the count of the
captured-output cases (they run with every fact case: tests/unit/facts/cases/storage/,
in test_fact_cases.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.facts.storage import (
    BlockDeviceFact,
    FilesystemFact,
    MountPointFact,
    device_problem,
)

CASES = sorted((Path(__file__).parent / "cases" / "storage").glob("*.yml"))


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
