"""Values shared between plays and hosts over real SSH (sshd on loopback; three inventory
hosts reach it, each with its own folder): a read-only command registered in play 1 on
the db host, read in play 2 by every host through `hostvars`, and a `run_once` result;
apply writes what the plan showed, and a converged re-run is one connection per host and
one remote command per host and play."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd
from tests.integration.test_shell_injection import provision

pytestmark = pytest.mark.integration

HOSTS = ("web1", "web2", "db1")
PLAYS = """\
- hosts: all
  tasks:
    - name: token
      ansible.builtin.command: cat {{ base }}/token
      register: token
      changed_when: false
    - name: leader
      ansible.builtin.set_fact:
        leader: "{{ inventory_hostname }}:{{ token.stdout }}"
      run_once: true
- hosts: all
  tasks:
    - name: the shared values, written
      ansible.builtin.copy:
        dest: "{{ base }}/shared"
        content: "{{ hostvars[groups['db'][0]].token.stdout }} {{ leader }} {{ token.stdout }}\\n"
"""


def _project(root: Path, sshd: Sshd) -> None:
    (root / "known_hosts").write_text(sshd.known_hosts_line())
    lines = ["all:", "  hosts:"]
    for host in HOSTS:
        base = root / host
        base.mkdir()
        (base / "token").write_text(f"secret-of-{host}\n")
        lines += [
            f"    {host}:",
            "      ansible_host: 127.0.0.1",
            f"      ansible_port: {sshd.port}",
            "      ansible_user: root",
            f"      ansible_ssh_private_key_file: {sshd.client_key}",
            "      provision_known_hosts: known_hosts",
            f"      base: {base}",
        ]
    lines += ["  children:", "    db:", "      hosts:", "        db1:"]
    (root / "inventory.yml").write_text("\n".join(lines) + "\n")
    (root / "site.yml").write_text(PLAYS)


def test_values_reach_later_plays_and_other_hosts_over_ssh(tmp_path: Path, sshd: Sshd) -> None:
    _project(tmp_path, sshd)
    args = ("inventory.yml", "-p", "site.yml", "--format", "json")
    plan = provision(tmp_path, "plan", *args)
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert not any((tmp_path / h / "shared").exists() for h in HOSTS)

    applied = provision(tmp_path, "apply", *args)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    for host in HOSTS:
        shared = (tmp_path / host / "shared").read_text()
        assert shared == f"secret-of-db1 web1:secret-of-web1 secret-of-{host}\n"

    again = provision(tmp_path, "apply", *args)
    assert again.returncode == 0, again.stdout + again.stderr
    reports = json.loads(again.stdout)["hosts"]
    for host in HOSTS:
        assert reports[host]["status"] == "ok"
        assert reports[host]["connections"] == 1
        assert reports[host]["remote_commands"] == 2  # one probe per play


def test_another_hosts_value_known_only_at_apply_is_refused_over_ssh(
    tmp_path: Path, sshd: Sshd
) -> None:
    _project(tmp_path, sshd)
    (tmp_path / "site.yml").write_text(
        "- hosts: all\n  tasks:\n"
        "    - name: stamp\n"
        "      ansible.builtin.command:\n"
        "        cmd: touch {{ base }}/stamp\n"
        "        creates: '{{ base }}/stamp'\n"
        "      register: stamp\n"
        "    - name: read db's stamp\n"
        "      ansible.builtin.debug: {msg: \"{{ hostvars['db1'].stamp.changed }}\"}\n"
    )
    plan = provision(tmp_path, "plan", "inventory.yml", "-p", "site.yml")
    out = plan.stdout + plan.stderr
    assert plan.returncode == 1, out
    assert "`stamp` of db1 is known only when apply runs the task that sets it" in out
    assert "site.yml:8" in out and "Traceback" not in out
    assert not any((tmp_path / h / "stamp").exists() for h in HOSTS)
