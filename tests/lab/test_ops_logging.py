"""playbooks/operations.yml on fresh lab hosts: logging, resources and image backups.

- rocky1 and rocky2 converge with the whole chain plus docker_logging, docker_resources and
  docker_image_backup; the second apply changes nothing; `provision verify` passes (the
  roles' own tests run a container and find its line).
- rocky1: the journald log driver, and rsyslog forwarding everything over TCP to a
  receiver this test runs on the machine's lab bridge address (a small Python listener,
  stopped by its PID): a container's line is in the journal and reaches the receiver,
  also when the receiver was down when the line was written (the disk-assisted queue).
- rocky2: the syslog log driver through /dev/log: the line lands in /var/log/messages.
- rocky1: the containers sit in docker-containers.slice, whose MemoryMax is 256M; where
  the machine gives the lab's cgroup tree a memory controller, memory.max holds the
  limit and a container that fills a tmpfs past it is stopped by it.
- rocky1's image backup (the timer's service, started by hand) restores on rocky2 with
  `docker load`, and a container from it prints rocky1's marker.

Run under the lab lock:
    flock /tmp/provision-lab.lock .venv/bin/pytest -q -p no:cacheprovider \
        tests/lab/test_ops_logging.py
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from provision.lab import config, lab_paths, ssh_command
from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "playbooks" / "operations.yml"
LIMIT = "rocky1,rocky2"
SLICE = "docker-containers.slice"
IMAGE = "lab/busybox:1"
LISTENER = """
import socket, sys, threading
server = socket.create_server((sys.argv[1], int(sys.argv[3])))
out = open(sys.argv[2], "ab", buffering=0)
print(server.getsockname()[1], flush=True)
def serve(conn):
    with conn:
        while data := conn.recv(65536):
            out.write(data)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _why(result: subprocess.CompletedProcess) -> str:
    try:
        hosts = json.loads(result.stdout)["hosts"]
    except (ValueError, KeyError):
        return result.stdout[-4000:] + result.stderr[-3000:]
    lines = [result.stderr[-2000:]]
    for name, report in hosts.items():
        lines.append(f"{name}: {report.get('status')} {report.get('error') or ''}")
        for step in report.get("tasks") or report.get("steps") or []:
            if step.get("status") not in ("ok", "skipped"):
                lines.append(f"  {step.get('status')}: {step.get('name')}: {step.get('changes')}")
                lines.append(f"    {step.get('message')} {step.get('output')}"[:1500])
    return "\n".join(lines)


class Receiver:
    """A TCP receiver on the lab bridge: the central syslog server of the test."""

    def __init__(self, log: Path, port: int = 0) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LISTENER, config.BRIDGE_ADDR, str(log), str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        assert port in (0, self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def received(self) -> str:
        return self.log.read_bytes().decode(errors="replace") if self.log.exists() else ""


def wait_for(read, marker: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    text = read()
    while marker not in text and time.monotonic() < deadline:
        time.sleep(0.5)
        text = read()
    return text


@pytest.fixture(scope="module")
def receiver(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    log = tmp_path_factory.mktemp("syslog") / "received.log"
    server = Receiver(log)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()


@pytest.fixture(scope="module")
def inventory(
    fresh_hosts: LabSession, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    def change(data: dict) -> None:
        hosts = hosts_of(data)
        common = {"docker_logging_verify_image": IMAGE}
        hosts["rocky1"].update(
            common,
            docker_log_driver="journald",
            docker_log_opts={},
            docker_logging_forward_host=config.BRIDGE_ADDR,
            docker_logging_forward_port=receiver.port,
            docker_resources_memory_max="256M",
            docker_default_shm_size="128M",
        )
        hosts["rocky2"].update(
            common,
            docker_log_driver="syslog",
            docker_log_opts={"syslog-facility": "local3", "tag": "provlab"},
        )

    target = tmp_path_factory.mktemp("ops") / "inventory.yml"
    return derived_inventory(fresh_hosts.inventory, target, change)


@pytest.fixture(scope="module")
def converged(fresh_hosts: LabSession, inventory: Path) -> dict:
    first = provision(
        "apply", str(inventory), "-p", str(OPERATIONS), "-l", LIMIT, "--format", "json"
    )
    assert first.returncode == 0, _why(first)
    for host in fresh_hosts.hosts[:2]:  # the image every test runs, on both hosts
        run_on(host, f"docker import {config.BUSYBOX_ON_HOST} {IMAGE}")
    return json.loads(first.stdout)["hosts"]


def test_fresh_hosts_converge_then_nothing_changes(converged: dict, inventory: Path) -> None:
    assert sorted(converged) == ["rocky1", "rocky2"]
    for name, report in converged.items():
        assert report["status"] == "changed", (name, report.get("error"))
    again = provision(
        "apply", str(inventory), "-p", str(OPERATIONS), "-l", LIMIT, "--format", "json"
    )
    assert again.returncode == 0, _why(again)
    for name, report in json.loads(again.stdout)["hosts"].items():
        assert report["counts"]["changed"] == 0, (name, _why(again))


def test_journald_line_is_in_the_journal_and_forwarded(
    fresh_hosts: LabSession, converged: dict, receiver: Receiver
) -> None:
    host = fresh_hosts.hosts[0]
    assert run_on(host, "systemctl is-active rsyslog").stdout.strip() == "active"
    marker = f"provlab-journald-{secrets.token_hex(6)}"
    run_on(host, f"docker run --name logline {IMAGE} echo {marker}")
    journal = wait_for(
        lambda: run_on(host, "journalctl -o cat CONTAINER_NAME=logline", check=False).stdout,
        marker,
    )
    assert marker in journal
    received = wait_for(receiver.received, marker)
    assert marker in received, received[-2000:]


def test_forwarding_outlives_a_server_outage(
    fresh_hosts: LabSession, converged: dict, receiver: Receiver
) -> None:
    """Lines written while the central server is down arrive once it is back."""
    host = fresh_hosts.hosts[0]
    receiver.stop()
    time.sleep(1)
    # the first lines after the server went away show rsyslog the connection is closed
    run_on(host, "logger -t provlab-outage probe-1; sleep 1; logger -t provlab-outage probe-2")
    marker = f"provlab-queued-{secrets.token_hex(6)}"
    run_on(host, f"sleep 1; logger -t provlab-outage {marker}")
    time.sleep(2)
    assert marker not in receiver.received()
    back = Receiver(receiver.log, receiver.port)
    receiver.proc = back.proc  # the module fixture stops this one by its PID
    received = wait_for(receiver.received, marker, seconds=60)
    assert marker in received, received[-2000:]


def test_syslog_driver_line_lands_in_messages(fresh_hosts: LabSession, converged: dict) -> None:
    host = fresh_hosts.hosts[1]
    marker = f"provlab-syslog-{secrets.token_hex(6)}"
    run_on(host, f"docker run --rm {IMAGE} echo {marker}")
    messages = wait_for(
        lambda: run_on(host, f"grep -F {marker} /var/log/messages", check=False).stdout, marker
    )
    assert "provlab" in messages and marker in messages
    no_forward = run_on(host, "test -e /etc/rsyslog.d/60-provision-forward.conf", check=False)
    assert no_forward.returncode == 1


def _slice_cgroup(host) -> str:
    group = run_on(host, f"systemctl show --property=ControlGroup --value {SLICE}").stdout
    return "/sys/fs/cgroup" + group.strip()


def test_containers_sit_in_the_limited_slice(fresh_hosts: LabSession, converged: dict) -> None:
    host = fresh_hosts.hosts[0]
    shown = run_on(host, f"systemctl show --property=MemoryMax --value {SLICE}").stdout
    assert shown.strip() == str(256 * 1024 * 1024)
    run_on(host, f"docker run -d --name sleeper {IMAGE} sleep 600")
    pid = run_on(host, "docker inspect -f '{{.State.Pid}}' sleeper").stdout.strip()
    cgroup = run_on(host, f"cat /proc/{pid}/cgroup").stdout
    assert f"/docker.slice/{SLICE}/docker-" in cgroup, cgroup
    shm = run_on(host, "docker inspect -f '{{.HostConfig.ShmSize}}' sleeper").stdout.strip()
    assert shm == str(128 * 1024 * 1024)
    df = run_on(host, "docker exec sleeper df -k /dev/shm").stdout.split()
    assert "131072" in df, df


def test_memory_limit_is_enforced(fresh_hosts: LabSession, converged: dict) -> None:
    host = fresh_hosts.hosts[0]
    path = _slice_cgroup(host)
    controllers = run_on(host, f"cat {path}/../cgroup.controllers", check=False).stdout.split()
    if "memory" not in controllers:
        pytest.skip(
            "the machine mounts cgroup v1 controllers (hybrid hierarchy): the lab hosts' "
            f"unified cgroup tree has no memory controller (cgroup.controllers: "
            f"{' '.join(controllers) or 'empty'}), so no memory.max exists; docs/lab.md"
        )
    assert run_on(host, f"cat {path}/memory.max").stdout.strip() == str(256 * 1024 * 1024)
    before = run_on(host, f"cat {path}/memory.events").stdout
    fill = run_on(
        host,
        f"docker run --rm --tmpfs /big:size=512m {IMAGE} dd if=/dev/zero of=/big/f bs=1M count=400",
        check=False,
    )
    events = dict(
        line.split() for line in run_on(host, f"cat {path}/memory.events").stdout.splitlines()
    )
    old = dict(line.split() for line in before.splitlines())
    assert int(events["max"]) > int(old["max"]) or fill.returncode == 137, (fill, events)


def test_a_backup_restores_on_another_host(fresh_hosts: LabSession, converged: dict) -> None:
    source, target = fresh_hosts.hosts[0], fresh_hosts.hosts[1]
    marker = secrets.token_hex(8)
    run_on(source, f"docker run --name maker {IMAGE} sh -c 'echo {marker} > /marker'")
    run_on(source, "docker commit maker lab/backup-test:1 && docker rm maker")
    run_on(source, "docker create --name user-of-image lab/backup-test:1 cat /marker")
    run_on(source, "systemctl start provision-image-backup.service")
    listing = run_on(source, "ls /var/backups/docker-images").stdout.split()
    (archive,) = [name for name in listing if name.startswith("lab_backup-test_1-")]
    assert archive.endswith(".tar.gz") and not any(n.startswith(".") for n in listing)
    assert run_on(target, "docker image inspect lab/backup-test:1", check=False).returncode != 0
    ssh = ssh_command
    data = subprocess.run(
        [*ssh(source, lab_paths(), "root"), f"cat /var/backups/docker-images/{archive}"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    subprocess.run(
        [*ssh(target, lab_paths(), "root"), "cat > /root/restore.tar.gz"],
        input=data,
        check=True,
        timeout=120,
    )
    run_on(target, "docker load -i /root/restore.tar.gz")
    out = run_on(target, "docker run --rm lab/backup-test:1 cat /marker").stdout
    assert out.strip() == marker


def test_verify_passes(
    fresh_hosts: LabSession, converged: dict, inventory: Path, tmp_path: Path
) -> None:
    report = tmp_path / "verify.xml"
    result = provision(
        "verify", str(inventory), "-p", str(OPERATIONS), "-l", LIMIT, "--junit-xml", str(report)
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    outcome = {
        case.get("name", ""): {child.tag for child in case} & {"skipped", "failure", "error"}
        for case in ElementTree.parse(report).iter("testcase")
    }
    for host in ("rocky1", "rocky2"):  # ran and passed (not skipped)
        for test in ("test_container_line_arrives", "test_slice_unit", "test_forwarding"):
            found = [name for name in outcome if name.endswith(f"{test}[{host}]")]
            assert found and outcome[found[0]] == set(), (test, host, outcome)
