"""An unexpected exception while working on one host is that host's failure: the other hosts
finish, every host gets its report, and a second Ctrl-C still returns the reports."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection
from tests.unit.execution.test_runner import INVENTORY, PLAYBOOK, FakeHost, setup  # noqa: F401

from provision.execution import runner
from provision.execution.reports import CHANGED, FAILED
from provision.execution.runner import RunOptions, run_all
from provision.project.compile import compile_run

ERRORS = [
    ValueError("You supplied the port via both shorthand and kwarg!"),
    UnicodeError("encoding with 'idna' codec failed"),
    KeyError("missing"),
    AssertionError("unexpected state"),
    RuntimeError("boom"),
    OSError(24, "Too many open files"),
    TypeError("unsupported operand"),
    RecursionError("maximum recursion depth exceeded"),
]


def _broken(hosts: dict[str, FakeHost], monkeypatch, fail_at: str, error: BaseException):
    """Make h1 raise `error` at `fail_at` (connect, probe or apply)."""
    real_connect = runner.connect

    def connect(config, options):
        conn = real_connect(config, options)
        if config.name != "h1":
            return conn
        if fail_at == "connect":
            raise error
        calls = {"n": 0}
        answer = conn.responder

        def responder(script, stdin):
            calls["n"] += 1
            if fail_at == "probe" or calls["n"] > 2:
                raise error
            return answer(script, stdin)

        conn.responder = responder
        return conn

    monkeypatch.setattr(runner, "connect", connect)


@pytest.mark.parametrize("fail_at", ["connect", "probe", "apply"])
@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_one_host_raising_fails_only_that_host(setup, monkeypatch, fail_at, error):  # noqa: F811
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    run = setup(hosts)
    _broken(hosts, monkeypatch, fail_at, error)
    reports, _, events = run(True)
    assert reports["h1"].status == FAILED
    first = reports["h1"].error.splitlines()[0]
    assert first == f"internal error: {type(error).__name__}: {error}"
    assert "Traceback" not in reports["h1"].error
    assert "PROVISION_DEBUG=1" in reports["h1"].error
    assert reports["h2"].status == CHANGED, reports["h2"].error
    assert hosts["h2"].files["/etc/provisioned"] == b""
    assert sorted(p.name for e, p in events if e == "host") == ["h1", "h2"]


def test_debug_shows_the_traceback(setup, monkeypatch):  # noqa: F811
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    run = setup(hosts)
    _broken(hosts, monkeypatch, "probe", ValueError("boom"))
    monkeypatch.setenv("PROVISION_DEBUG", "1")
    reports, _, _ = run(False)
    assert "Traceback (most recent call last)" in reports["h1"].error
    assert "ValueError: boom" in reports["h1"].error


@pytest.fixture
def project(tmp_path: Path, monkeypatch):
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    for _, host_plays in compiled.plays:
        for hp in host_plays:
            hosts[hp.host.name].learn(runner._facts_of(hp.tasks + hp.handlers))
    return compiled, hosts


def test_a_listener_error_fails_that_host_only(project, monkeypatch):
    compiled, hosts = project
    monkeypatch.setattr(runner, "connect", lambda c, o: FakeConnection(hosts[c.name]))

    def listener(event, payload):
        if event == "task" and payload[0] == "h1":
            raise UnicodeEncodeError("ascii", "\u00e9", 0, 1, "cannot show")

    reports = {r.name: r for r in run_all(compiled, RunOptions(apply=True), listener)}
    assert reports["h1"].status == FAILED
    assert "internal error: UnicodeEncodeError" in reports["h1"].error
    assert reports["h2"].status == CHANGED
    assert hosts["h2"].files["/etc/provisioned"] == b""


def test_stop_before_a_host_starts_reports_it_not_started(project, monkeypatch):
    compiled, hosts = project
    monkeypatch.setattr(runner, "connect", lambda c, o: FakeConnection(hosts[c.name]))
    options = RunOptions(apply=True)
    options.stop.set()
    reports = {r.name: r for r in run_all(compiled, options, lambda e, p: None)}
    for name in ("h1", "h2"):
        assert reports[name].status == FAILED
        assert reports[name].error == "interrupted: not started"
    assert hosts["h1"].ran == [] and hosts["h2"].ran == []


def test_second_ctrl_c_returns_every_report(project, monkeypatch):
    """KeyboardInterrupt while h1 hangs: h1 is 'stopped at once', h2 (queued) 'not started'."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    compiled, hosts = project
    release = threading.Event()
    entered = threading.Event()

    def hanging(script, stdin):
        entered.set()
        release.wait(120)
        return hosts["h1"](script, stdin)

    monkeypatch.setattr(
        runner,
        "connect",
        lambda c, o: FakeConnection(hanging if c.name == "h1" else hosts[c.name]),
    )
    options = RunOptions(apply=True, forks=1)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt() -> None:
        entered.wait(120)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt)
    timer.start()
    try:
        reports = {r.name: r for r in run_all(compiled, options, lambda e, p: None)}
    finally:
        release.set()
        timer.join()
        signal.signal(signal.SIGINT, previous)
    assert options.stop.is_set()
    assert reports["h1"].status == FAILED
    assert reports["h1"].error == "interrupted: stopped at once while it ran"
    assert reports["h2"].status == FAILED
    assert reports["h2"].error == "interrupted: not started"
    assert hosts["h2"].ran == []
