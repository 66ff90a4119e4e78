"""Disruption shown before it happens: what each change interrupts (from the Docker engine's
facts), a restart handler that runs as a reload when every key that changed is one dockerd
reloads, and `--max-disruption` refusing a host before anything on it changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection
from tests.unit.execution.test_runner import FakeHost

from provision.execution import runner
from provision.execution.reports import CHANGED, FAILED, OK, PENDING
from provision.execution.runner import RunOptions, run_all
from provision.facts.kinds import FileState
from provision.planning.disruption import refusal
from provision.planning.model import Disruption, worst
from provision.project.compile import compile_run
from provision.tasks.wholefile import reload_suffices

RELOAD_KEYS = ["live-restore", "registry-mirrors", "debug", "labels"]
PLAYBOOK = """\
- hosts: all
  vars:
    daemon: {}
  tasks:
    - name: daemon.json
      copy:
        content: "{{ daemon | tojson }}"
        dest: /etc/docker/daemon.json
        reload_keys: [live-restore, registry-mirrors, debug, labels]
      notify: restart docker
    - name: docker running
      service: {name: docker, state: started, enabled: true}
  handlers:
    - name: restart docker
      service: {name: docker, state: restarted}
"""
INVENTORY = "all:\n  hosts:\n    h1: {ansible_connection: local}\n"
OLD = {"log-driver": "json-file"}


def docker_host(containers: int = 2, live_restore: bool = False) -> FakeHost:
    host = FakeHost()
    host.services["docker.service"] = ["loaded", "active", "enabled"]
    host.files["/etc/docker/daemon.json"] = json.dumps(OLD).encode()
    host.engine = (0, f"{containers} {str(live_restore).lower()}\n".encode(), b"")
    return host


@pytest.fixture
def apply_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def make(host: FakeHost, daemon: dict, apply: bool = True, limit: str | None = None):
        (tmp_path / "inventory.yml").write_text(INVENTORY)
        (tmp_path / "site.yml").write_text(PLAYBOOK)
        (tmp_path / "vars.json").write_text(json.dumps({"daemon": daemon}))
        from provision.project.compile import parse_extra_vars

        extra = parse_extra_vars([f"@{tmp_path / 'vars.json'}"])
        compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml", extra)
        for _, host_plays in compiled.plays:
            for hp in host_plays:
                host.learn(runner._facts_of(hp.tasks + hp.handlers))
        monkeypatch.setattr(runner, "connect", lambda config, options: FakeConnection(host))
        options = RunOptions(apply=apply, max_disruption=limit)
        (report,) = run_all(compiled, options, lambda e, p: None)
        return report

    return make


def by_name(report) -> dict:
    return {t.name: t for t in report.tasks}


@pytest.mark.parametrize(
    ("daemon", "level", "summary"),
    [
        ({**OLD, "live-restore": True}, "reload", "keys changed: live-restore; a reload applies"),
        ({**OLD, "debug": True, "labels": ["a=b"]}, "reload", "keys changed: debug, labels;"),
        ({"log-driver": "local"}, "restart", "a restart applies them (log-driver needs it)"),
        ({}, "restart", "a restart applies them (log-driver is removed)"),
        ({**OLD, "live-restore": True, "data-root": "/x"}, "restart", "(data-root needs it)"),
    ],
)
def test_plan_says_reload_or_restart_per_changed_key(apply_with, daemon, level, summary):
    report = apply_with(docker_host(), daemon, apply=False)
    tasks = by_name(report)
    assert tasks["daemon.json"].status == PENDING
    assert any(summary in line for line in tasks["daemon.json"].summary), tasks["daemon.json"]
    handler = tasks["restart docker"]
    assert handler.handler and handler.status == PENDING
    assert handler.summary == [f"service docker.service: {level}"]
    # the file change inherits its handler's disruption; the host has the worst
    assert tasks["daemon.json"].disruption.level == level
    assert report.disruption == handler.disruption
    assert report.disruption.unit == "docker.service"


@pytest.mark.parametrize(
    ("containers", "live_restore", "daemon", "detail"),
    [
        (
            2,
            False,
            {"log-driver": "local"},
            "2 containers running: they stop (live-restore is off)",
        ),
        (1, True, {"log-driver": "local"}, "1 container running: live-restore keeps them running"),
        (0, False, {"log-driver": "local"}, "no container running"),
        (3, False, {**OLD, "live-restore": True}, "3 containers running: a reload keeps them"),
    ],
)
def test_containers_and_live_restore_come_from_the_probe(
    apply_with, containers, live_restore, daemon, detail
):
    report = apply_with(docker_host(containers, live_restore), daemon, apply=False)
    assert report.disruption.detail == detail
    assert detail in report.disruption.describe()


def test_apply_reloads_instead_of_restarting(apply_with):
    host = docker_host()
    report = apply_with(host, {**OLD, "live-restore": True})
    assert report.status == CHANGED, report.error
    assert "systemctl reload-or-restart -- docker.service" in host.ran
    assert not [c for c in host.ran if c.startswith("systemctl restart")]


def test_apply_restarts_when_a_key_needs_it(apply_with):
    host = docker_host()
    report = apply_with(host, {"log-driver": "local"})
    assert report.status == CHANGED, report.error
    assert "systemctl restart -- docker.service" in host.ran


@pytest.mark.parametrize(
    ("limit", "daemon", "refused"),
    [
        ("none", {**OLD, "live-restore": True}, True),
        ("reload", {**OLD, "live-restore": True}, False),
        ("reload", {"log-driver": "local"}, True),
        ("restart", {"log-driver": "local"}, False),
        ("reboot", {"log-driver": "local"}, False),
        ("none", OLD, False),  # nothing to change: nothing disrupted
    ],
)
def test_max_disruption_refuses_before_any_change(apply_with, limit, daemon, refused):
    host = docker_host()
    report = apply_with(host, daemon, limit=limit)
    if refused:
        assert report.status == FAILED
        assert report.error.startswith("refused: its plan needs ")
        assert f"more than --max-disruption {limit}; nothing on it was changed" in report.error
        assert host.ran == []  # probed only
        assert host.files["/etc/docker/daemon.json"] == json.dumps(OLD).encode()
    else:
        assert report.status in (OK, CHANGED), report.error


def test_plan_is_never_refused(apply_with):
    report = apply_with(docker_host(), {"log-driver": "local"}, apply=False, limit="none")
    assert report.status == OK and report.pending == 2
    assert report.disruption.level == "restart"


def test_fresh_host_restart_is_skipped_so_nothing_is_disrupted(apply_with):
    host = FakeHost()  # docker installed but stopped, no daemon.json
    report = apply_with(host, {"log-driver": "local"}, apply=False)
    tasks = by_name(report)
    assert tasks["restart docker"].status == OK  # started after the change: no restart
    assert report.disruption == Disruption()
    assert tasks["daemon.json"].disruption == Disruption()


# ---- the pieces -----------------------------------------------------------------------


def state(content: object | None) -> FileState:
    if content is None:
        return FileState(False)
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return FileState(True, content=raw)


@pytest.mark.parametrize(
    ("before", "after", "suffices", "note"),
    [
        (None, {"debug": True}, False, ""),  # a new file: the engine may not even run
        (b"not json", {"debug": True}, False, ""),
        ({"debug": True}, b"[1, 2]", False, ""),
        ({"debug": True}, b"{broken", False, ""),
        ({"a": 1}, {"a": 1}, True, ""),  # same keys and values (formatting only)
        ({}, {"debug": True}, True, "keys changed: debug; a reload applies them"),
        ({"debug": False}, {"debug": True}, True, "keys changed: debug; a reload applies them"),
        (
            {"registry-mirrors": ["a"]},
            {"registry-mirrors": ["a", "b"]},
            True,
            "keys changed: registry-mirrors; a reload applies them",
        ),
        ({"debug": True}, {}, False, "(debug is removed)"),
        ({"x": 1}, {"x": 2}, False, "(x needs it)"),
        ({"x": 1}, {"x": 1, "debug": True, "y": 0}, False, "(y needs it)"),
        ({"x": 1}, {"x": 1, "labels": [], "live-restore": True}, True, "labels, live-restore;"),
        ({}, {f"k{i}": i for i in range(12)}, False, "and 4 more"),
        ({"debug": 1}, {"debug": True}, True, "keys changed: debug"),  # 1 is not true
        ({"x": 1}, {"x": True}, False, "(x needs it)"),
        ({"x": {"a": 1, "b": 2}}, {"x": {"b": 2, "a": 1}}, True, ""),  # key order only
    ],
)
def test_reload_suffices(before, after, suffices, note):
    content = after if isinstance(after, bytes) else json.dumps(after).encode()
    found, line = reload_suffices(state(before), content, RELOAD_KEYS)
    assert found is suffices
    assert note in line


@pytest.mark.parametrize(
    ("levels", "expect"),
    [
        ([], "none"),
        (["none", "reload"], "reload"),
        (["restart", "reload", "none"], "restart"),
        (["reload", "reboot", "restart"], "reboot"),
    ],
)
def test_worst(levels: list[str], expect: str) -> None:
    assert worst(*[Disruption(level) for level in levels]).level == expect


@pytest.mark.parametrize(
    ("level", "allowed", "refused"),
    [
        ("none", "none", False),
        ("reload", "none", True),
        ("reload", "reload", False),
        ("restart", "reload", True),
        ("reboot", "restart", True),
        ("reboot", "reboot", False),
        ("restart", None, False),
    ],
)
def test_refusal(level: str, allowed: str | None, refused: bool) -> None:
    assert (refusal(Disruption(level, "x.service"), allowed) is not None) is refused


def test_unknown_level_is_a_bug_caught_at_once() -> None:
    with pytest.raises(ValueError):
        Disruption("explode")
