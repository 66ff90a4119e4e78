"""The installed wheel against the lab: `provision init`, then `provision plan` of the
lab's hosts with only the roles the wheel ships (the checkout is nowhere on the path).

The wheel is built and installed as in tests/packaging (wheel.py says how)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession
from tests.lab.labinv import derived_inventory
from tests.packaging.wheel import Installed, built_and_installed

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    yield built_and_installed(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def project(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`provision init demo`, with the lab's hosts as inventories/lab.yml."""
    folder = tmp_path_factory.mktemp("project")
    proc = installed.run("init", "demo", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder / "demo"


def test_plan_of_the_lab_with_the_shipped_roles(
    installed: Installed, project: Path, fresh_hosts: LabSession
) -> None:
    derived_inventory(fresh_hosts.inventory, project / "inventories" / "lab.yml")
    plan = installed.run("plan", "inventories/lab.yml", cwd=project, timeout=600)
    assert plan.returncode == 4, plan.stdout + plan.stderr  # changes pending, all reached
    for expected in (
        "+baseurl=http://10.200.0.1:8080/docker-ce/linux/centos/9/$basearch/stable",
        "package docker-ce: absent → present",
        "sysctl net.ipv4.ip_forward: 0 → 1",
        '+  "storage-driver": "overlay2"',
        "service docker.service: inactive → active",
    ):
        assert expected in plan.stdout, expected
    for host in fresh_hosts.hosts:
        assert f"{host.name}  ok=" in plan.stdout.split("RECAP")[1]

    as_json = installed.run(
        "plan", "inventories/lab.yml", "--format", "json", cwd=project, timeout=600
    )
    assert as_json.returncode == 4, as_json.stderr
    document = json.loads(as_json.stdout)
    shipped = installed.venv.glob("lib/python3*/site-packages/provision/shipped/roles")
    (roles_dir,) = list(shipped)
    for name, host in document["hosts"].items():
        assert host["status"] not in ("failed", "unreachable"), (name, host["error"])
        role_tasks = [t for t in host["tasks"] if t["role"]]
        assert {t["role"] for t in role_tasks} >= {"dnf_proxy", "docker_engine", "docker_check"}
        for task in role_tasks:  # every role task comes from the wheel's copy
            assert task["location"].startswith(f"{roles_dir}/{task['role']}/"), task["location"]
