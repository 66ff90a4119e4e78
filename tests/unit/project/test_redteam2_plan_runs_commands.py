"""Red team 2: `provision plan` says "nothing on any host is touched", but a registered
`command`/`shell` with `changed_when: false` was run in the probe (during `plan`), on the
host or, with `delegate_to: localhost`, on the controller. `changed_when: false` only says
how to *report* the result; Ansible's check mode skips such a command unless it also has
`check_mode: false`, and many roles put `changed_when: false` on commands that write
(`certbot renew`, `systemctl daemon-reload`, a token generator).

Fixed as Ansible does it: a registered command runs during `plan` only with `check_mode:
false`, or when its words prove it only reads (facts/readonly.py's allowlist); any other
runs at apply, at its place, and what reads its result is decided at apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.tools.roleproject import probe_scripts

from provision.errors import InputError

WRITES = {
    "shell-host": "- shell: 'touch /etc/provision-plan-wrote'\n  register: r\n"
    "  changed_when: false\n",
    "command-host": "- command: 'systemctl daemon-reload'\n  register: r\n  changed_when: false\n",
    "shell-controller": "- shell: 'touch /tmp/provision-plan-wrote'\n  register: r\n"
    "  changed_when: false\n  delegate_to: localhost\n",
}


def test_check_mode_false_is_read_in_the_probe(tmp_path: Path) -> None:
    tasks = "- command: 'cat /etc/hostname'\n  register: r\n  check_mode: false\n"
    assert probe_scripts(tmp_path, tasks) == ["cat /etc/hostname"]


@pytest.mark.parametrize("tasks", WRITES.values(), ids=WRITES.keys())
def test_changed_when_false_alone_does_not_run_during_plan(tmp_path: Path, tasks: str) -> None:
    if "delegate_to" in tasks:
        # not proven read-only: a controller step that may write is refused outright
        with pytest.raises(InputError, match="delegate_to: localhost"):
            probe_scripts(tmp_path, tasks)
        return
    assert probe_scripts(tmp_path, tasks) == []


PROVEN = {
    "cat": ("command", "cat /etc/os-release"),
    "systemctl": ("command", "systemctl is-active firewalld"),
    "rpm-query": ("command", "rpm -q --qf '%{VERSION}' docker-ce"),
    "sysctl-read": ("command", "sysctl -n net.ipv4.ip_forward"),
    "docker-info": ("command", "docker info --format '{% raw %}{{.Driver}}{% endraw %}'"),
    "pipe": ("shell", "grep -c x /etc/passwd | wc -l"),
    "devnull": ("shell", "getenforce 2>/dev/null || echo Disabled"),
    "templated-arg": ("shell", "test {{ flag }} = True"),
    "env-var": ("shell", "echo ${HOME:-none}"),
    "firewall-list": ("command", "firewall-cmd --zone=public --list-services"),
    "block-scalar": ("shell", "cat /etc/hostname\n"),
}


@pytest.mark.parametrize(("module", "text"), PROVEN.values(), ids=PROVEN.keys())
def test_proven_read_only_commands_are_read_in_the_probe(
    tmp_path: Path, module: str, text: str
) -> None:
    tasks = f"- {module}: {json.dumps(text)}\n  register: r\n  changed_when: false\n"
    tasks += "  vars: {flag: true}\n"
    assert len(probe_scripts(tmp_path, tasks)) == 1


NOT_PROVEN = {
    "touch": ("command", "touch /etc/x"),
    "redirect": ("shell", "cat /etc/a > /etc/b"),
    "append": ("shell", "echo x >> /etc/b"),
    "substitution": ("shell", "echo $(rm -rf /tmp/x)"),
    "backticks": ("shell", "echo `id`"),
    "subshell": ("shell", "(cat a)"),
    "background": ("shell", "cat a &"),
    "assignment": ("shell", "X=1 cat a"),
    "line-break": ("shell", "cat a\nrm -rf /tmp/x"),
    "heredoc": ("shell", "cat <<EOF"),
    "sysctl-write": ("command", "sysctl -w net.ipv4.ip_forward=1"),
    "sysctl-assign": ("command", "sysctl net.ipv4.ip_forward=1"),
    "rpm-erase": ("command", "rpm -q -e docker-ce"),
    "rpm-import": ("command", "rpm --import /tmp/k"),
    "systemctl-restart": ("command", "systemctl restart docker"),
    "daemon-reload": ("command", "systemctl daemon-reload"),
    "dnf-install": ("command", "dnf -y install x"),
    "docker-run": ("command", "docker run --rm x"),
    "find-delete": ("command", "find /tmp -delete"),
    "date-set": ("command", "date -s 12:00"),
    "hostname-set": ("command", "hostname web1"),
    "ip-add": ("command", "ip addr add 10.0.0.1/24 dev eth0"),
    "awk": ("command", "awk '{print > \"/etc/x\"}' /etc/a"),
    "sed-inplace": ("command", "sed -i s/a/b/ /etc/a"),
    "templated-program": ("command", "{{ tool }} status"),
    "templated-rpm-arg": ("command", "rpm -q {{ flag }}"),
    "other-folder": ("command", "/tmp/cat /etc/a"),
    "env-program": ("shell", "$TOOL status"),
    "unknown": ("command", "certbot renew"),
}


@pytest.mark.parametrize(("module", "text"), NOT_PROVEN.values(), ids=NOT_PROVEN.keys())
def test_unproven_commands_run_at_apply_not_in_plan(tmp_path: Path, module: str, text: str) -> None:
    tasks = (
        f"- {module}: {json.dumps(text)}\n  register: r\n  changed_when: false\n"
        "  vars: {tool: cat, flag: x}\n"
    )
    assert probe_scripts(tmp_path, tasks) == []
    # Ansible's own mark says it: `check_mode: false` reads it in the probe
    assert len(probe_scripts(tmp_path / "marked", tasks + "  check_mode: false\n")) == 1
