"""A loop over a registered read-only command's lines, over real SSH (sshd on loopback).

The host's lines try every way out of a word and a template ($( ), backquotes, ;, quotes,
template text); each is an item used as written: `plan` shows the items with their real
values, apply writes them as text, nothing they name runs (the marker folder stays empty),
and a converged re-run is one connection and one remote command. A line that starts with
`-` fails the host at plan, before any change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd
from tests.tools.provisioncli import provision

pytestmark = pytest.mark.integration

LINES = [
    "plain",
    "a'b\"c",
    "$(touch {markers}/dollar)",
    "`touch {markers}/backtick`",
    "x; touch {markers}/semicolon",
    "{{{{ lookup('pipe', 'touch {markers}/template') }}}}",
    "{{{{ 7 * 6 }}}}",
]
TASKS = """\
- name: list
  ansible.builtin.command: cat {base}/list.txt
  register: out
  changed_when: false
- name: line
  ansible.builtin.lineinfile:
    path: {base}/lines
    line: "{{{{ item }}}}"
    create: true
  loop: "{{{{ out.stdout_lines }}}}"
  loop_control:
    label: "{{{{ item }}}}"
"""


def make_project(root: Path, sshd: Sshd, lines: list[str]) -> tuple[Path, Path]:
    markers, base = root / "markers", root / "target"
    markers.mkdir(parents=True)
    base.mkdir()
    text = "".join(line.format(markers=markers) + "\n" for line in lines)
    (base / "list.txt").write_text(text)
    (root / "known_hosts").write_text(sshd.known_hosts_line())
    (root / "inventory.yml").write_text(
        "all:\n  hosts:\n    target:\n"
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n"
    )
    tasks = TASKS.format(base=base)
    (root / "site.yml").write_text(
        "- hosts: all\n  tasks:\n" + "".join("    " + t + "\n" for t in tasks.splitlines())
    )
    return markers, base


def test_host_lines_are_items_used_as_written(tmp_path: Path, sshd: Sshd) -> None:
    markers, base = make_project(tmp_path, sshd, LINES)
    expected = [line.format(markers=markers) for line in LINES]
    plan = provision(tmp_path, "plan", "inventory.yml", "-p", "site.yml", "--format", "json")
    assert plan.returncode == 4, plan.stdout + plan.stderr
    names = [t["name"] for t in json.loads(plan.stdout)["hosts"]["target"]["tasks"]]
    assert names == ["list"] + [f"line ({line})" for line in expected]
    assert list(markers.iterdir()) == [], "plan ran part of a line"

    applied = provision(tmp_path, "apply", "inventory.yml", "-p", "site.yml")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert list(markers.iterdir()) == [], "apply ran part of a line"
    assert (base / "lines").read_text().splitlines() == expected

    again = provision(tmp_path, "apply", "inventory.yml", "-p", "site.yml", "--format", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    host = json.loads(again.stdout)["hosts"]["target"]
    assert host["status"] == "ok"
    assert (host["connections"], host["remote_commands"]) == (1, 1)


def test_a_line_read_as_an_option_fails_the_host_before_any_change(
    tmp_path: Path, sshd: Sshd
) -> None:
    markers, base = make_project(tmp_path, sshd, ["plain", "-rf"])
    for command in ("plan", "apply"):
        result = provision(tmp_path, command, "inventory.yml", "-p", "site.yml")
        assert result.returncode != 0 and result.returncode != 2, result.stdout + result.stderr
        assert "starts with `-`" in result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    assert not (base / "lines").exists()
