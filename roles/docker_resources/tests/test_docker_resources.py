"""Checks the containers' slice, its limits in the cgroup files, and that the engine puts
containers under it."""

import re
from typing import Any

import pytest
from testinfra.host import Host

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _bytes(value: str) -> int | None:
    """MemoryMax= in bytes, or None for a percentage (depends on the host's memory)."""
    found = re.fullmatch(r"([0-9]+)([KMGT]?)", value)
    if not found:
        return None
    return int(found[1]) * UNITS.get(found[2], 1)


def _slice_cgroup(host: Host, slice_name: str) -> str:
    group = host.check_output(f"systemctl show --property=ControlGroup --value {slice_name}")
    return f"/sys/fs/cgroup{group.strip()}"


def test_slice_unit(host: Host, role_vars: dict[str, Any]) -> None:
    name = role_vars["docker_resources_slice"]
    unit = host.file(f"/etc/systemd/system/{name}")
    assert unit.is_file
    assert unit.mode == 0o644
    assert host.service(name).is_running
    assert host.service(name).is_enabled


def test_memory_max_in_cgroup(host: Host, role_vars: dict[str, Any]) -> None:
    name = role_vars["docker_resources_slice"]
    wanted = str(role_vars["docker_resources_memory_max"])
    if not wanted:
        pytest.skip("docker_resources_memory_max is empty")
    shown = host.check_output(f"systemctl show --property=MemoryMax --value {name}").strip()
    expected = _bytes(wanted)
    if expected is not None:
        assert shown == str(expected)
    cgroup = host.file(f"{_slice_cgroup(host, name)}/memory.max")
    if not cgroup.exists:
        pytest.skip("the memory controller is not enabled for this slice's cgroup")
    assert cgroup.content_string.strip() == shown


def test_cpu_weight_and_tasks(host: Host, role_vars: dict[str, Any]) -> None:
    name = role_vars["docker_resources_slice"]
    weight = str(role_vars["docker_resources_cpu_weight"])
    tasks = str(role_vars["docker_resources_tasks_max"])
    if weight:
        shown = host.check_output(f"systemctl show --property=CPUWeight --value {name}")
        assert shown.strip() == weight
    if tasks.isdigit():
        shown = host.check_output(f"systemctl show --property=TasksMax --value {name}")
        assert shown.strip() == tasks


def test_engine_cgroup_parent(host: Host, role_vars: dict[str, Any]) -> None:
    if not host.service("docker").is_running:
        pytest.skip("the Docker engine is not running")
    if role_vars.get("docker_cgroup_parent") != role_vars["docker_resources_slice"]:
        pytest.skip("docker_engine is not in the play: daemon.json is not this role's")
    driver = host.check_output("docker info --format '{{.CgroupDriver}}'").strip()
    assert driver == "systemd", "cgroup-parent names a slice only with the systemd driver"
