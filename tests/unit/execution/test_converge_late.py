"""The convergence check after apply decides a `when:` over a registered read-only result
again, over the fresh probe's answer (as the second run would): the docker-host shape
`read X; fix X when X is wrong` converges, while a task that still changes is reported."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection
from tests.unit.project.test_ansible_keywords import by_name, run

from provision.execution import runner
from provision.execution.connection import Result
from provision.execution.reports import CHANGED, FAILED, OK, SKIPPED


@pytest.fixture
def hosts(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeConnection]:
    connections: dict[str, FakeConnection] = {}

    def respond(script: str, stdin: bytes | None) -> Result:
        proc = subprocess.run(["bash", "-c", script], input=stdin, capture_output=True)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def connect(config, options):  # noqa: ANN001, ANN202 - runner.connect's signature
        connections[config.name] = FakeConnection(respond)
        return connections[config.name]

    monkeypatch.setattr(runner, "connect", connect)
    return connections


def _fix_when_wrong(tmp_path: Path, fix: str) -> str:
    value = tmp_path / "value"
    return (
        f"- name: read\n  command: cat {value}\n  register: live\n  changed_when: false\n"
        f"- name: fix\n  ansible.builtin.shell: {fix}\n  when: live.stdout != '1'\n"
    )


@pytest.mark.parametrize("first_change", [False, True])
def test_a_fix_guarded_by_a_read_converges(tmp_path: Path, hosts, first_change: bool) -> None:
    (tmp_path / "value").write_text("0\n")
    text = _fix_when_wrong(tmp_path, f"echo 1 > {tmp_path / 'value'}")
    if first_change:  # a change before the read: the read and the `when` wait for apply
        text = f"- copy: {{content: x, dest: {tmp_path / 'x'}}}\n" + text
    first = run(tmp_path, text, apply=True)
    assert first.status == CHANGED, first.error
    assert by_name(first)["fix"].status == CHANGED
    assert (tmp_path / "value").read_text() == "1\n"
    again = run(tmp_path, text, apply=True)
    assert again.status == OK, again.error
    assert by_name(again)["fix"].status == SKIPPED
    assert again.count(CHANGED) == 0


def test_a_fix_that_does_not_fix_is_not_converged(tmp_path: Path, hosts) -> None:
    (tmp_path / "value").write_text("0\n")
    first = run(tmp_path, _fix_when_wrong(tmp_path, "echo 0"), apply=True)
    assert first.status == FAILED
    assert "did not converge" in first.error and "fix: run: echo 0" in first.error


def test_an_unguarded_command_is_still_reported(tmp_path: Path, hosts) -> None:
    first = run(tmp_path, "- name: always\n  ansible.builtin.shell: 'true'\n", apply=True)
    assert first.status == FAILED and "always: run: true" in first.error
