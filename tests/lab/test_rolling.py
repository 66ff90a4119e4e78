"""Rolling batches and disruption on the lab (issue 14, items 3 and 4).

- `serial: [1, "50%"]` with a failure injected in the first batch (rocky1): rocky2 and
  rocky3 are never touched (their `rpm -qa` and files unchanged) and the recap says which
  batches ran and which were not started.
- A daemon.json change that turns on live-restore, with a container running: `plan`
  shows a reload of docker.service that keeps it, `--max-disruption none` refuses the host
  before any change, `apply` reloads (same dockerd, same container). Then a change that
  needs a restart: `plan` says live-restore keeps the container, and after the restart
  (a new dockerd) the container is still the same running process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = """\
- name: rollout
  hosts: docker_hosts
  become: true
  serial: [1, "50%"]
  roles: [dnf_proxy, container_cleanup, docker_repo, docker_engine]
"""
SNAPSHOT = (
    "rpm -qa | sort | sha256sum; sha256sum /etc/dnf/dnf.conf; ls -la /etc/yum.repos.d;"
    " ls -la /etc/docker 2>&1; systemctl is-active docker 2>&1 || true"
)


def provision(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def lab(fresh_hosts: LabSession) -> LabSession:
    return fresh_hosts


@pytest.fixture(scope="module")
def playbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rolling") / "rolling.yml"
    path.write_text(PLAYBOOK)
    return path


def test_a_failed_first_batch_leaves_later_hosts_untouched(
    lab: LabSession, playbook: Path, tmp_path: Path
) -> None:
    first, *later = lab.hosts

    def break_first(data: dict) -> None:
        hosts_of(data)[first.name]["docker_packages"] = ["docker-ce", "no-such-package"]

    inventory = derived_inventory(lab.inventory, tmp_path / "inv.yml", break_first)
    before = {h.name: run_on(h, SNAPSHOT).stdout for h in later}
    result = provision("apply", str(inventory), "-p", str(playbook), "--no-color")
    assert result.returncode == 1, result.stdout + result.stderr
    text = result.stdout
    assert f"BATCH 1/3 of rollout: {first.name}" in text
    assert "BATCH 2/3" not in text
    assert f"rollout batch 1/3 ({first.name}): stopped, failed: {first.name}" in text
    assert f"rollout batch 2/3 ({later[0].name}): not started" in text
    assert f"rollout batch 3/3 ({later[1].name}): not started" in text
    verdict = text.rstrip().splitlines()[-1]
    assert f"2 not started ({later[0].name}, {later[1].name}); exit 1" in verdict
    assert "no-such-package" in text
    for host in later:
        assert run_on(host, SNAPSHOT).stdout == before[host.name], f"{host.name} was touched"
    record = json.loads((ROOT / ".provision" / "last-run.json").read_text())
    assert record["failed"] == sorted(h.name for h in lab.hosts)


@pytest.fixture(scope="module")
def engine_host(lab: LabSession, playbook: Path) -> tuple[LabSession, str]:
    """rocky2 converged (docker_engine), with one container running."""
    host = lab.hosts[1]
    result = provision("apply", str(lab.inventory), "-p", str(playbook), "-l", host.name)
    assert result.returncode == 0, result.stdout + result.stderr
    run_on(
        host,
        "docker image inspect lab/busybox >/dev/null 2>&1"
        " || docker import /opt/lab/busybox-rootfs.tar lab/busybox",
    )
    run_on(
        host,
        "docker rm -f keep >/dev/null 2>&1; docker run -d --name keep lab/busybox sleep 100000",
    )
    return lab, host.name


def container(host) -> str:
    """The container's process and start time (the same after a reload or a live restore)."""
    return run_on(
        host, "docker inspect -f '{{.State.Running}} {{.State.Pid}} {{.State.StartedAt}}' keep"
    ).stdout.strip()


def dockerd_pid(host) -> str:
    return run_on(host, "systemctl show -p MainPID --value docker").stdout.strip()


def test_live_restore_is_a_reload_that_keeps_the_container(engine_host, playbook: Path) -> None:
    lab, name = engine_host
    host = next(h for h in lab.hosts if h.name == name)
    args = ("-p", str(playbook), "-l", name, "-e", "docker_live_restore=true")
    running, pid = container(host), dockerd_pid(host)
    assert running.startswith("true ")
    daemon_json = run_on(host, "cat /etc/docker/daemon.json").stdout

    plan = provision("plan", str(lab.inventory), *args, "--no-color")
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert "keys changed: live-restore; a reload applies them" in plan.stdout
    assert f"{name}  reload docker.service (1 container running: a reload keeps them)" in (
        plan.stdout
    )
    doc = json.loads(provision("plan", str(lab.inventory), *args, "--format", "json").stdout)
    assert doc["hosts"][name]["disruption"]["level"] == "reload"

    refused = provision("apply", str(lab.inventory), *args, "--max-disruption", "none")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused: its plan needs reload docker.service" in refused.stdout
    assert run_on(host, "cat /etc/docker/daemon.json").stdout == daemon_json

    applied = provision("apply", str(lab.inventory), *args, "--max-disruption", "reload")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert '"live-restore": true' in run_on(host, "cat /etc/docker/daemon.json").stdout
    assert run_on(host, "docker info -f '{{.LiveRestoreEnabled}}'").stdout.strip() == "true"
    assert dockerd_pid(host) == pid  # reloaded, not restarted
    assert container(host) == running


def test_a_restart_with_live_restore_keeps_the_container(engine_host, playbook: Path) -> None:
    lab, name = engine_host
    host = next(h for h in lab.hosts if h.name == name)
    opts = '{"docker_live_restore": true, "docker_log_opts": {"max-size": "10m", "max-file": "4"}}'
    args = ("-p", str(playbook), "-l", name, "-e", opts)
    running, pid = container(host), dockerd_pid(host)

    plan = provision("plan", str(lab.inventory), *args, "--no-color")
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert "a restart applies them (log-opts needs it)" in plan.stdout
    line = f"{name}  restart docker.service (1 container running: live-restore keeps them running)"
    assert line in plan.stdout

    refused = provision("apply", str(lab.inventory), *args, "--max-disruption", "reload")
    assert refused.returncode == 1 and "refused: its plan needs restart" in refused.stdout

    applied = provision("apply", str(lab.inventory), *args)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert dockerd_pid(host) != pid  # a new dockerd
    assert container(host) == running  # the same container process, still running
