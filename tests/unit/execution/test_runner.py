"""Probe → plan → apply → handlers → re-probe, on a fake connection that simulates a host.

What these check is execution: round trips, what runs on the host, failures and their
isolation. The decisions (handlers, restart skipping, deferral, convergence) are tested
from tables in tests/unit/planning/cases."""

from __future__ import annotations

import base64
import re
import shlex
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection
from tests.unit.tasks.trust_facts import sysctl_boot_output

from provision.execution import runner
from provision.execution.connection import Result
from provision.execution.reports import CHANGED, FAILED, OK, PENDING
from provision.execution.runner import RunOptions, run_all
from provision.facts.base import Fact
from provision.facts.docker import DockerEngineFact
from provision.facts.kinds import (
    CommandFact,
    FileFact,
    PackagesFact,
    ServiceFact,
    SysctlFact,
)
from provision.facts.sysctl_boot import SysctlBootFact
from provision.project.compile import compile_run

JOB = re.compile(r'\( (.*?)\n\) </dev/null >"\$d/(\d+)\.o"', re.DOTALL)
MARKER = re.compile(r"@@provision-[0-9a-f]{16}")

PLAYBOOK = """\
- hosts: all
  tasks:
    - name: forwarding
      sysctl: {name: net.ipv4.ip_forward, value: "1", file: /etc/sysctl.d/99-docker.conf}
      notify: restart docker
    - name: daemon.json
      copy: {content: "{}\\n", dest: /etc/docker/daemon.json}
      notify: [restart docker, reload other]
    - name: docker running
      service: {name: docker, state: started, enabled: true}
    - name: marker
      command: {cmd: "touch /etc/provisioned", creates: /etc/provisioned}
  handlers:
    - name: reload other
      service: {name: other, state: reloaded}
    - name: restart docker
      service: {name: docker, state: restarted}
"""

INVENTORY = """\
all:
  hosts:
    h1: {ansible_connection: local}
    h2: {ansible_connection: local}
"""


class FakeHost:
    """A host's state; answers probe scripts in the marker protocol and runs commands."""

    def __init__(self, converged: bool = False) -> None:
        self.files: dict[str, bytes] = {}
        self.sysctls = {"net.ipv4.ip_forward": "0"}
        self.services = {
            "docker.service": ["loaded", "inactive", "disabled"],
            "other.service": ["loaded", "active", "enabled"],
        }
        self.packages: dict[str, list[str]] = {}
        self.commands: dict[str, tuple[int, str]] = {}
        self.fail_on: list[str] = []
        self.ignore: list[str] = []  # commands that "succeed" but change nothing
        self.ran: list[str] = []
        self.probes = 0
        self.facts: dict[str, Fact] = {}
        self.engine: tuple[int, bytes, bytes] = (127, b"", b"")  # `docker info` (rolling)
        if converged:
            self.sysctls["net.ipv4.ip_forward"] = "1"
            self.files["/etc/sysctl.d/99-docker.conf"] = b"net.ipv4.ip_forward = 1\n"
            self.files["/etc/docker/daemon.json"] = b"{}\n"
            self.files["/etc/provisioned"] = b""
            self.services["docker.service"] = ["loaded", "active", "enabled"]

    def learn(self, facts: list[Fact]) -> None:
        self.facts.update({f.command(): f for f in facts})

    # --- the probe -------------------------------------------------------------------
    def answer(self, fact: Fact) -> tuple[int, bytes, bytes]:
        if isinstance(fact, FileFact):
            content = self.files.get(fact.path)
            if content is None:
                return 0, b"ABSENT\n", b""
            head = f"regular file|644|root|root|{len(content)}\n".encode()
            return 0, head + base64.b64encode(content), b""
        if isinstance(fact, SysctlFact):
            value = self.sysctls.get(fact.key)
            if value is None:
                return 255, b"", b"sysctl: cannot stat /proc/sys/x: No such file or directory\n"
            return 0, f"{value}\n".encode(), b""
        if isinstance(fact, ServiceFact):
            load, active, enabled = self.services.get(fact.unit, ["not-found", "inactive", ""])
            text = f"LoadState={load}\nActiveState={active}\nUnitFileState={enabled}\n"
            return 0, text.encode(), b""
        if isinstance(fact, PackagesFact):
            lines = [f"{n}\t{v}\n" for n, vs in self.packages.items() for v in vs]
            return 0, "".join(lines).encode(), b""
        if isinstance(fact, CommandFact):
            rc, out = self.commands.get(fact.script, (1, ""))
            return rc, out.encode(), b""
        if isinstance(fact, SysctlBootFact):
            return 0, sysctl_boot_output(self.files), b""
        if isinstance(fact, DockerEngineFact):
            return self.engine
        raise AssertionError(fact)

    def probe(self, script: str) -> Result:
        self.probes += 1
        marker = MARKER.search(script).group(0)
        output = b""
        jobs = sorted((int(index), command) for command, index in JOB.findall(script))
        assert [i for i, _ in jobs] == list(range(len(jobs)))
        for index, command in jobs:
            rc, out, err = self.answer(self.facts[command])
            output += f"{marker} {index} {rc} {len(out)} {len(err)}\n".encode() + out + err
        return Result(0, output, b"")

    # --- commands --------------------------------------------------------------------
    def __call__(self, script: str, stdin: bytes | None) -> Result:
        if MARKER.search(script):
            return self.probe(script)
        self.ran.append(script)
        if any(part in script for part in self.fail_on):
            return Result(1, b"", b"boom: it failed\nsecond line\n")
        if any(part in script for part in self.ignore):
            return Result(0, b"", b"")
        if 'cat > "$t"' in script:
            path = shlex.split(re.search(r'mv -f -- "\$t" ([^;]+);', script).group(1))[0]
            self.files[path] = stdin or b""
        elif match := re.fullmatch(r"sysctl -q -w (\S+)=(\S+)", script):
            self.sysctls[match.group(1)] = match.group(2)
        elif match := re.fullmatch(r"systemctl (enable --quiet|start|restart) -- (\S+)", script):
            unit = self.services[match.group(2)]
            unit[2 if "enable" in match.group(1) else 1] = (
                "enabled" if "enable" in match.group(1) else "active"
            )
        elif match := re.fullmatch(r"touch (\S+)", script):
            self.files[match.group(1)] = b""
        return Result(0, b"", b"")


@pytest.fixture
def setup(tmp_path: Path, monkeypatch):
    """compile(playbook) and hosts → run(apply) with each host on its FakeHost."""
    (tmp_path / "inventory.yml").write_text(INVENTORY)

    def make(hosts: dict[str, FakeHost], playbook: str = PLAYBOOK):
        (tmp_path / "site.yml").write_text(playbook)
        compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
        connections: dict[str, FakeConnection] = {}
        for _, host_plays in compiled.plays:
            for hp in host_plays:
                hosts[hp.host.name].learn(runner._facts_of(hp.tasks + hp.handlers))

        def connect(config, options):
            connections[config.name] = FakeConnection(hosts[config.name])
            return connections[config.name]

        monkeypatch.setattr(runner, "connect", connect)
        events: list[tuple[str, object]] = []

        def run(apply: bool):
            reports = run_all(compiled, RunOptions(apply=apply), lambda e, p: events.append((e, p)))
            return {r.name: r for r in reports}, connections, events

        return run

    return make


def test_converged_host_costs_one_connection_and_at_most_two_commands(setup):
    hosts = {"h1": FakeHost(converged=True), "h2": FakeHost(converged=True)}
    run = setup(hosts)
    for apply in (False, True):
        reports, connections, _ = run(apply)
        for name in hosts:
            report = reports[name]
            assert report.status == OK, report.error
            assert report.connections == 1
            assert report.commands_run <= 2
            assert connections[name].commands_run == report.commands_run
            assert [t.status for t in report.tasks] == [OK] * 4
    assert hosts["h1"].ran == []


def test_plan_touches_nothing_and_shows_pending_changes(setup):
    hosts = {"h1": FakeHost(), "h2": FakeHost(converged=True)}
    run = setup(hosts)
    reports, connections, _ = run(False)
    assert connections["h1"].commands_run == 1  # the probe only
    assert hosts["h1"].ran == []
    statuses = [(t.name, t.status, t.handler) for t in reports["h1"].tasks]
    assert statuses == [
        ("forwarding", PENDING, False),
        ("daemon.json", PENDING, False),
        ("docker running", PENDING, False),
        ("marker", PENDING, False),
        ("reload other", PENDING, True),
        ("restart docker", OK, True),  # docker is started after daemon.json: no restart
    ]
    assert reports["h1"].pending == 5 and reports["h2"].pending == 0


def test_apply_runs_probe_commands_handlers_then_reprobe(setup):
    hosts = {"h1": FakeHost(), "h2": FakeHost(converged=True)}
    run = setup(hosts)
    reports, connections, _ = run(True)
    h1 = reports["h1"]
    assert h1.status == CHANGED, h1.error
    history = [script for script, _, _ in connections["h1"].history]
    assert MARKER.search(history[0]) and MARKER.search(history[-1])  # probe ... re-probe
    assert hosts["h1"].ran == [
        "sysctl -q -w net.ipv4.ip_forward=1",
        hosts["h1"].ran[1],  # the atomic write of the sysctl.d file
        hosts["h1"].ran[2],  # the atomic write of daemon.json
        "systemctl enable --quiet -- docker.service",
        "systemctl start -- docker.service",
        "touch /etc/provisioned",
        "systemctl reload-or-restart -- other.service",
        # no restart of docker: it was started after daemon.json changed
    ]
    assert "/etc/sysctl.d/99-docker.conf" in hosts["h1"].ran[1]
    assert "/etc/docker/daemon.json" in hosts["h1"].ran[2]
    # probe + ONE batch of the 6 task commands + one live re-plan for the handler that runs
    # + the handler's command + the re-probe
    assert h1.commands_run == 1 + 1 + 1 + 1 + 1
    assert connections["h1"].batches[0][:6] == hosts["h1"].ran[:6]
    assert h1.connections == 1
    assert hosts["h1"].files["/etc/docker/daemon.json"] == b"{}\n"
    assert reports["h2"].status == OK and hosts["h2"].ran == []
    # a second apply finds the host converged
    reports, _, _ = run(True)
    assert reports["h1"].status == OK and reports["h1"].commands_run == 1


def test_failing_command_fails_that_host_only(setup):
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    hosts["h1"].fail_on = ["sysctl -q -w"]
    reports, _, events = setup(hosts)(True)
    h1 = reports["h1"]
    assert h1.status == FAILED
    assert "sysctl -q -w net.ipv4.ip_forward=1" in h1.error and "exit code 1" in h1.error
    assert [t.status for t in h1.tasks] == [FAILED]
    assert h1.tasks[0].output == ["boom: it failed", "second line"]
    assert hosts["h1"].ran == ["sysctl -q -w net.ipv4.ip_forward=1"]  # nothing after it
    assert hosts["h1"].probes == 1  # no re-probe for a failed host
    assert reports["h2"].status == CHANGED
    assert [e for e, _ in events].count("host") == 2


def test_probe_failure_fails_the_host(setup, monkeypatch):
    hosts = {"h1": FakeHost(), "h2": FakeHost(converged=True)}
    original = hosts["h1"].probe
    hosts["h1"].probe = lambda script: Result(97, b"", b"mktemp: no space left\n")
    reports, _, _ = setup(hosts)(False)
    assert reports["h1"].status == FAILED
    assert "the probe failed (exit 97)" in reports["h1"].error
    assert "no space left" in reports["h1"].error
    hosts["h1"].probe = original
