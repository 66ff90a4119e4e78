"""Injection through shell arguments over real SSH (sshd on loopback): plan and apply.

The value tries every way out of a word ($( ), backquotes, ;, quotes, a newline); the
guards run in the probe, so `plan` already executes them. Every attempt must leave the
marker folder empty (controller and host are the same machine here), and a template that
puts a value inside quotes must be refused before any connection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd
from tests.tools.provisioncli import provision

pytestmark = pytest.mark.integration

EVIL = (
    "a'b\\\"c; touch {{ markers }}/semicolon; $(touch {{ markers }}/dollar)"
    " `touch {{ markers }}/backtick`\\ntouch {{ markers }}/newline #"
)
TASKS = """\
- name: folder
  directory: {path: "{{ base }}", mode: "0755"}
- name: guard in shell form, value unquoted
  command:
    cmd: "printf '%s' {{ evil }} > {{ base }}/shell-made"
    unless: "test -e {{ base }}/shell-made && test -n {{ evil }}"
- name: guard in argv form
  command:
    argv: [sh, -c, 'printf "%s" "$1" > "$2"', sh, "{{ evil }}", "{{ base }}/argv-made"]
    only_if: [sh, -c, '! test -e "$1" && test -n "$2"', sh, "{{ base }}/argv-made", "{{ evil }}"]
- name: check in shell form
  assert: {command: "printf %s {{ evil }}", equals: "{{ evil }}", label: shell echo}
- name: check in argv form
  assert: {command: [printf, "%s", "{{ evil }}"], equals: "{{ evil }}", label: argv echo}
"""
QUOTED = """\
- name: the issue's example
  command:
    cmd: "true"
    unless: "grep -q '{{ evil }}' {{ base }}/f"
"""


def make_project(root: Path, sshd: Sshd, tasks: str) -> tuple[Path, Path, Path]:
    markers, base = root / "markers", root / "target"
    markers.mkdir(parents=True)
    (root / "known_hosts").write_text(sshd.known_hosts_line())
    (root / "inventory.yml").write_text(
        "all:\n  hosts:\n    target:\n"
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n      base: {base}\n"
        f'      markers: {markers}\n      evil: "{EVIL}"\n'
    )
    (root / "site.yml").write_text("- hosts: all\n  tasks:\n" + _indent(tasks))
    return markers, base, root / "site.yml"


def _indent(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.splitlines())


def test_a_quoted_value_is_refused_before_any_connection(tmp_path: Path, sshd: Sshd) -> None:
    markers, base, playbook = make_project(tmp_path, sshd, QUOTED)
    for command in ("plan", "apply"):
        result = provision(tmp_path, command, "inventory.yml", "-p", str(playbook))
        assert result.returncode == 2, result.stdout + result.stderr
        assert "command.unless: `{{ evil }}` lands inside single quotes" in result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    assert list(markers.iterdir()) == []
    assert not base.exists()


def test_injection_through_every_shell_argument_runs_nothing(tmp_path: Path, sshd: Sshd) -> None:
    markers, base, playbook = make_project(tmp_path, sshd, TASKS)
    plan = provision(tmp_path, "plan", "inventory.yml", "-p", str(playbook))
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert list(markers.iterdir()) == [], "plan ran part of a value"

    applied = provision(tmp_path, "apply", "inventory.yml", "-p", str(playbook), "--format", "json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert json.loads(applied.stdout)["hosts"]["target"]["status"] == "changed"
    assert list(markers.iterdir()) == [], "apply ran part of a value"
    literal = EVIL.replace("{{ markers }}", str(markers)).replace('\\"', '"').replace("\\n", "\n")
    assert (base / "shell-made").read_text() == literal
    assert (base / "argv-made").read_text() == literal

    again = provision(tmp_path, "plan", "inventory.yml", "-p", str(playbook))
    assert again.returncode == 0, again.stdout + again.stderr
    assert list(markers.iterdir()) == []
