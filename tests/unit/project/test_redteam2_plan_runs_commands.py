"""Red team 2: `provision plan` says "nothing on any host is touched", but a registered
`command`/`shell` with `changed_when: false` is run in the probe (during `plan`), on the
host or, with `delegate_to: localhost`, on the controller. `changed_when: false` only says
how to *report* the result; Ansible's check mode skips such a command unless it also has
`check_mode: false`, and many roles put `changed_when: false` on commands that write
(`certbot renew`, `systemctl daemon-reload`, a token generator).

docs/ansible-keywords.md documents this as a choice ("the mark is taken at its word").
Changing it (only `check_mode: false` puts a command in the probe, as Ansible does) moves
every `changed_when: false` read in roles/ and the course to decided-at-apply: too large
for this branch, so the test is a strict xfail that records the gap."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.facts.readonly import ReadCommandFact
from provision.project.compile import compile_run

WRITES = {
    "shell-host": "- shell: 'touch /etc/provision-plan-wrote'\n  register: r\n"
    "  changed_when: false\n",
    "command-host": "- command: 'systemctl daemon-reload'\n  register: r\n  changed_when: false\n",
    "shell-controller": "- shell: 'touch /tmp/provision-plan-wrote'\n  register: r\n"
    "  changed_when: false\n  delegate_to: localhost\n",
}


def probe_commands(tmp_path: Path, tasks: str) -> list[str]:
    (tmp_path / "roles/r/tasks").mkdir(parents=True)
    (tmp_path / "roles/r/tasks/main.yml").write_text(tasks)
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    h1:\n")
    (tmp_path / "site.yml").write_text("- hosts: all\n  roles: [r]\n")
    compiled = compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    found = []
    for compiled_task in compiled.plays[0][1][0].tasks:
        task = compiled_task.task
        facts = task.facts() if hasattr(task, "facts") else []
        found += [f.script for f in facts if isinstance(f, ReadCommandFact)]
    return found


def test_check_mode_false_is_read_in_the_probe(tmp_path: Path) -> None:
    tasks = "- command: 'cat /etc/hostname'\n  register: r\n  check_mode: false\n"
    assert probe_commands(tmp_path, tasks) == ["cat /etc/hostname"]


@pytest.mark.xfail(
    strict=True,
    reason="design: changed_when: false alone puts a command in plan's probe (see module doc)",
)
@pytest.mark.parametrize("tasks", WRITES.values(), ids=WRITES.keys())
def test_changed_when_false_alone_does_not_run_during_plan(tmp_path: Path, tasks: str) -> None:
    assert probe_commands(tmp_path, tasks) == []
