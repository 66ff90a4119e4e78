"""Injection through guards on the lab: plan and apply run nothing from a value.

The guard runs in the probe, as root with become, so `plan` already executes it. A value
tries every way out of a word; the marker files must appear neither on the host nor on the
controller. The issue's example (a value inside quotes the author wrote) is refused with
exit 2 before any host is touched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
TAG = uuid.uuid4().hex[:8]
MARKERS = f"/tmp/provision-inject-{TAG}"
EVIL = (
    f"a'b\"c; touch {MARKERS}/semicolon; $(touch {MARKERS}/dollar)"
    f" `touch {MARKERS}/backtick`\ntouch {MARKERS}/newline #"
)
QUOTED = [
    "grep -q '{{ evil }}' /etc/hostname",
    'grep -q "{{ evil }}" /etc/hostname',
    "true # {{ evil }}",
    "cat <<EOF\n{{ evil }}\nEOF",
]
ACCEPTED_TASKS = [
    {
        "name": "shell guard, value unquoted",
        "command": {
            "cmd": "printf '%s' {{ evil }} > /root/inject-shell",
            "unless": "test -e /root/inject-shell && test -n {{ evil }}",
        },
    },
    {
        "name": "argv guard",
        "command": {
            "argv": ["sh", "-c", 'printf "%s" "$1" > /root/inject-argv', "sh", "{{ evil }}"],
            "unless": ["test", "-e", "/root/inject-argv{{ '' }}"],
        },
    },
    {
        "name": "assert, value unquoted",
        "assert": {"command": "printf %s {{ evil }}", "equals": "{{ evil }}", "label": "echo"},
    },
]


def provision(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def project(root: Path, lab: LabSession, tasks: list[dict]) -> tuple[Path, Path]:
    root.mkdir(parents=True, exist_ok=True)

    def one_host(data: dict) -> None:
        data["all"]["children"]["docker_hosts"]["hosts"] = {
            "rocky1": {"ansible_host": "10.200.0.11", "evil": EVIL}
        }

    inventory = derived_inventory(lab.inventory, root / "inventory.yml", one_host)
    playbook = root / "site.yml"
    playbook.write_text(
        json.dumps([{"name": "inject", "hosts": "all", "become": True, "tasks": tasks}])
    )
    return inventory, playbook


def markers_left(lab: LabSession) -> list[str]:
    host = run_on(lab.hosts[0], f"ls -A {MARKERS}", check=False).stdout.split()
    controller = sorted(p.name for p in Path(MARKERS).iterdir())
    return [f"host:{m}" for m in host] + [f"controller:{m}" for m in controller]


@pytest.fixture
def marker_dirs(lab_hosts: LabSession):
    run_on(lab_hosts.hosts[0], f"rm -rf {MARKERS}; mkdir -p {MARKERS}")
    Path(MARKERS).mkdir(parents=True, exist_ok=True)
    yield
    for path in Path(MARKERS).iterdir():
        path.unlink()
    Path(MARKERS).rmdir()


@pytest.mark.parametrize("guard", QUOTED)
def test_a_quoted_guard_is_refused_and_runs_nothing(
    lab_hosts: LabSession, tmp_path: Path, marker_dirs: None, guard: str
) -> None:
    task = {"name": "quoted", "command": {"cmd": "true", "unless": guard}}
    inventory, playbook = project(tmp_path, lab_hosts, [task])
    for command in ("plan", "apply"):
        result = provision(command, str(inventory), "-p", str(playbook), cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "command.unless: `{{ evil }}`" in result.stderr
        assert "lands inside" in result.stderr
    assert markers_left(lab_hosts) == []


def test_guards_run_in_plan_and_apply_without_running_the_value(
    lab_hosts: LabSession, tmp_path: Path, marker_dirs: None
) -> None:
    inventory, playbook = project(tmp_path, lab_hosts, ACCEPTED_TASKS)
    plan = provision("plan", str(inventory), "-p", str(playbook), cwd=tmp_path)
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert markers_left(lab_hosts) == [], "plan ran part of a value"

    applied = provision("apply", str(inventory), "-p", str(playbook), cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert markers_left(lab_hosts) == [], "apply ran part of a value"
    host = lab_hosts.hosts[0]
    for made in ("/root/inject-shell", "/root/inject-argv"):
        assert run_on(host, f"cat {made}").stdout == EVIL

    again = provision("apply", str(inventory), "-p", str(playbook), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert markers_left(lab_hosts) == []
