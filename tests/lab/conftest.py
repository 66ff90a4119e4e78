"""The container lab for tests: fixture ``lab_hosts`` (session) boots 3 fresh lab hosts.

It yields ``LabSession(hosts, inventory)`` (a named tuple: ``hosts, inventory = lab_hosts``
works) and tears the lab down (wiping the hosts' disks) at the end of the session, also when
tests fail. Set PROVISION_LAB_KEEP=1 to leave the lab up afterwards.

Where the lab cannot run (not root, no systemd-nspawn, ...) lab tests fail with the reason
when CI is set, and are skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from provision.lab import LabHost, lab_down, lab_paths, lab_up, prerequisite_problems, ssh_command
from provision.lab.image import current_image

LAB_HOSTS = 3


class LabSession(NamedTuple):
    hosts: list[LabHost]
    inventory: Path


def lab_unavailable() -> str | None:
    problems = prerequisite_problems(build=current_image() is None)
    if problems:
        return "the container lab cannot run here: " + "; ".join(problems)
    return None


def require_lab() -> None:
    why = lab_unavailable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="session")
def lab_hosts() -> Iterator[LabSession]:
    require_lab()
    lab_down(wipe=True)
    try:
        hosts = lab_up(LAB_HOSTS)
        yield LabSession(hosts[:LAB_HOSTS], lab_paths().inventory)
    finally:
        if not os.environ.get("PROVISION_LAB_KEEP"):
            lab_down(wipe=True)


_modules_started: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def fresh_hosts(request: pytest.FixtureRequest) -> LabSession | None:
    """Each lab test module starts on fresh hosts: an earlier module may have changed them."""
    session: LabSession = request.getfixturevalue("lab_hosts")
    if _modules_started:
        lab_down(wipe=True)
        session = LabSession(lab_up(len(session.hosts)), session.inventory)
    _modules_started.append(request.module.__name__)
    return session


def run_on(
    host: LabHost, command: str, user: str = "root", check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run a shell command on a lab host over ssh with the lab's key."""
    proc = subprocess.run(
        [*ssh_command(host, lab_paths(), user), command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{host.name}: {command!r} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc
