"""An Ansible-syntax role (ansible.builtin/posix modules, Ansible argument names) applied
on the lab through the real CLI: it converges, a second run changes nothing, and the
converged re-run is one connection and one remote command per host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]

ROLE_TASKS = """\
- name: base packages present
  ansible.builtin.dnf: {name: "dnf-plugins-core", state: installed}
- name: app directory
  ansible.builtin.file: {path: /etc/amtest, state: directory, mode: "0750"}
- name: app config
  ansible.builtin.copy:
    dest: /etc/amtest/app.conf
    content: |
      [main]
      name={{ app_name }}
    mode: "0640"
- name: seed of the edited file (once)
  ansible.builtin.command:
    cmd: cp /etc/amtest/app.conf /etc/amtest/edited.conf
    creates: /etc/amtest/edited.conf
- name: port line after [main]
  ansible.builtin.lineinfile:
    dest: /etc/amtest/edited.conf
    regex: '^port='
    line: port={{ app_port }}
    insertafter: '^\\[main\\]'
- name: mode replaced
  ansible.builtin.replace: {path: /etc/amtest/edited.conf, regexp: '^name=demo$', replace: name=new}
- name: extra hosts block
  ansible.builtin.blockinfile:
    path: /etc/amtest/hosts.extra
    create: true
    block: |
      10.0.0.1 one
      10.0.0.2 two
- name: marker file
  ansible.builtin.file: {path: /etc/amtest/marker, state: touch, mode: "0600"}
- name: link to the config
  ansible.builtin.file: {src: /etc/amtest/app.conf, dest: /usr/local/bin/amtest.conf, state: link}
- name: ip forwarding persisted
  ansible.posix.sysctl:
    name: net.ipv4.ip_forward
    value: 1
    sysctl_file: /etc/sysctl.d/90-amtest.conf
- name: a group
  ansible.builtin.group: {name: amtest, system: true}
- name: a user
  ansible.builtin.user:
    {name: amsvc, system: true, groups: amtest, create_home: false, shell: /sbin/nologin}
- name: a one-time command
  ansible.builtin.command:
    cmd: touch /etc/amtest/once
    creates: /etc/amtest/once
- name: sshd running
  ansible.builtin.systemd_service: {name: sshd, state: started, enabled: true}
- name: http allowed
  ansible.posix.firewalld: {service: http, permanent: true, immediate: true, state: enabled}
- name: the config files
  ansible.builtin.command: ls /etc/amtest
  register: amfiles
  changed_when: false
- name: listed
  ansible.builtin.lineinfile: {path: /etc/amtest/listing, line: "{{ item }}", create: true}
  loop: "{{ amfiles.stdout_lines | select('match', '^[a-z]+[.]conf$') | list }}"
- name: the variables are sane
  ansible.builtin.assert:
    that: ["app_port | int > 1024"]
    fail_msg: app_port must be above 1024
    quiet: true
"""


def provision(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def project(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ansible-role")
    derived_inventory(fresh_hosts.inventory, root / "inventory.yml")
    tasks = root / "roles" / "amtest" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text(ROLE_TASKS)
    (root / "site.yml").write_text(
        "- hosts: all\n  become: true\n  vars: {app_name: demo, app_port: 8080}\n"
        "  roles: [amtest]\n"
    )
    return root


def _hosts(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)["hosts"]


def test_the_role_lints_clean(project: Path) -> None:
    result = provision("lint", "--ansible", "roles/amtest", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "18 tasks: 18 run as they are" in result.stdout


def test_apply_converges_then_changes_nothing(fresh_hosts: LabSession, project: Path) -> None:
    plan = provision("plan", "inventory.yml", "-p", "site.yml", cwd=project)
    assert plan.returncode == 4, plan.stdout[-3000:] + plan.stderr[-3000:]
    first = provision("apply", "inventory.yml", "-p", "site.yml", "--format", "json", cwd=project)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-3000:]
    for name, host in _hosts(first).items():
        assert host["status"] == "changed", (name, host.get("error"))
        assert host["connections"] == 1
    host = fresh_hosts.hosts[0]
    assert run_on(host, "cat /etc/amtest/app.conf").stdout == "[main]\nname=demo\n"
    text = run_on(host, "cat /etc/amtest/edited.conf").stdout
    assert text == "[main]\nport=8080\nname=new\n", text
    assert run_on(host, "readlink /usr/local/bin/amtest.conf").stdout.strip() == (
        "/etc/amtest/app.conf"
    )
    assert "10.0.0.2 two" in run_on(host, "cat /etc/amtest/hosts.extra").stdout
    assert run_on(host, "stat -c %a /etc/amtest").stdout.strip() == "750"
    assert "amtest" in run_on(host, "id -nG amsvc").stdout.split()
    assert run_on(host, "firewall-cmd --permanent --query-service=http").returncode == 0
    # a loop over a registered read's lines (read after changes: expanded at apply)
    assert run_on(host, "cat /etc/amtest/listing").stdout == "app.conf\nedited.conf\n"
    for command in ("apply", "plan"):
        again = provision(
            command, "inventory.yml", "-p", "site.yml", "--format", "json", cwd=project
        )
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-3000:]
        for name, report in _hosts(again).items():
            assert report["counts"]["changed"] == 0, (command, name, report)
            assert (report["connections"], report["remote_commands"]) == (1, 1), (command, name)


SHARE_PLAYS = """\
- hosts: all
  become: true
  tasks:
    - name: machine id
      ansible.builtin.command: cat /etc/machine-id
      register: mid
      changed_when: false
    - name: leader
      ansible.builtin.set_fact: {leader: "{{ inventory_hostname }}"}
      run_once: true
- hosts: all
  become: true
  tasks:
    - name: the first host's id, on every host
      ansible.builtin.copy:
        dest: /etc/amshare-peer
        content: "{{ leader }} {{ hostvars[groups['all'][0]].mid.stdout }} {{ mid.stdout }}\\n"
        mode: "0644"
"""


def test_values_reach_later_plays_and_other_hosts(fresh_hosts: LabSession, project: Path) -> None:
    """A value read in play 1 (`register`, `run_once` + `set_fact`) reaches play 2 on the
    same host and on the others (`hostvars`); a converged re-run stays one connection per
    host and one remote command per host and play."""
    (project / "share.yml").write_text(SHARE_PLAYS)
    args = ("inventory.yml", "-p", "share.yml", "--format", "json")
    first = provision("apply", *args, cwd=project)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-3000:]
    by_name = {h.name: h for h in fresh_hosts.hosts}
    texts = {
        name: run_on(host, "cat /etc/amshare-peer").stdout.split()
        for name, host in by_name.items()
        if name in _hosts(first)
    }
    leaders = {leader for leader, _, _ in texts.values()}
    (leader,) = leaders
    leader_id = run_on(by_name[leader], "cat /etc/machine-id").stdout.strip()
    for name, (_, shared, own) in texts.items():
        assert shared == leader_id, name
        assert own == run_on(by_name[name], "cat /etc/machine-id").stdout.strip()
    again = provision("plan", *args, cwd=project)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-3000:]
    for name, report in _hosts(again).items():
        assert report["counts"]["changed"] == 0, (name, report)
        assert (report["connections"], report["remote_commands"]) == (1, 2), name
