"""Attacks on the read-only command allowlist (facts/readonly.py): a registered command
that `plan` runs in the probe must not be able to write, run another program or change
the system. Each case is a command written to look like a read; every one must be left
for apply (not proven read-only). The reads below them must stay proven."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.tools.roleproject import probe_scripts

from provision.facts.readonly import (
    command_reads_only,
    environment_reads_only,
)

# (shell?, text): each writes, runs another program, or changes the system
ATTACKS: dict[str, tuple[bool, str]] = {
    # -- shell parsing -------------------------------------------------------------------
    "comment-eats-next-line": (True, "cat /etc/hosts\n# note\nrm -rf /tmp/x"),
    "comment-mid-word": (True, "cat /etc/hosts#x\nrm -rf /tmp/x"),
    "comment-after-semicolon": (True, "cat a;#x\ntouch /tmp/x"),
    "pipe-stderr-to-tee": (True, "cat /etc/hosts |& tee /tmp/x"),
    "read-write-redirect-creates": (True, "cat <> /tmp/new"),
    "double-semicolon": (True, "cat a ;; touch /tmp/x"),
    "redirect-to-file": (True, "cat a > /tmp/x"),
    "redirect-fd-to-file": (True, "cat a 3> /tmp/x"),
    "redirect-both-to-file": (True, "cat a >& /tmp/x"),
    "clobber-to-file": (True, "cat a >| /tmp/x"),
    "background": (True, "cat a & touch /tmp/x"),
    "glob-to-find-option": (True, "find /tmp *"),
    "glob-question-to-option": (True, "find /tmp -???ete"),
    "glob-bracket-to-option": (True, "find /tmp -[d]elete"),
    "glob-program": (True, "/usr/bin/* /etc/hosts"),
    "glob-to-systemctl-verb": (True, "systemctl re*rt sshd"),
    "variable-as-option": (True, "systemctl $X sshd"),
    "tee": (True, "cat a | tee /tmp/x"),
    "xargs": (True, "echo /tmp/x | xargs rm"),
    "env-runs-program": (True, "env touch /tmp/x"),
    "sed-in-place": (True, "sed -i s/a/b/ /etc/hosts"),
    "awk-system": (True, "awk 'BEGIN{system(\"touch /tmp/x\")}'"),
    "sort-output": (True, "sort -o /tmp/x /etc/hosts"),
    "exec": (True, "exec touch /tmp/x"),
    "eval": (True, "eval 'touch /tmp/x'"),
    "source": (True, ". /tmp/x.sh"),
    "crlf-line": (True, "cat a\r\ntouch /tmp/x"),
    # -- command (no shell) --------------------------------------------------------------
    "find-exec": (False, "find / -name x -exec touch /tmp/y ;"),
    "find-execdir": (False, "find / -execdir rm {} +"),
    "find-ok": (False, "find / -ok rm {} ;"),
    "find-delete": (False, "find /tmp -delete"),
    "find-fprint": (False, "find / -fprint /tmp/x"),
    "find-fls": (False, "find / -fls /tmp/x"),
    "find-templated": (False, "find {{ where }}"),
    "rpm-eval-shell": (False, "rpm -q --eval '%(touch /tmp/x)'"),
    "rpm-E": (False, "rpm -q -E '%{lua:os.execute(\"touch /tmp/x\")}'"),
    "rpm-define": (False, "rpm -q --define 'x %(touch /tmp/x)' bash"),
    "rpm-macro-in-qf": (False, "rpm -q --qf '%(touch /tmp/x)' bash"),
    "rpm-lua-in-qf": (False, "rpm -q --qf '%{lua:os.exit()}' bash"),
    "rpm-load-in-qf": (False, "rpm -q --qf '%{NAME:load}' bash"),
    "rpm-pipe": (False, "rpm -qa --pipe 'sh -c id'"),
    "rpm-specfile": (False, "rpm -q --specfile /tmp/x.spec"),
    "rpm-macros-file": (False, "rpm -q --macros /tmp/m bash"),
    "rpm-rcfile": (False, "rpm -q --rcfile /tmp/rc bash"),
    "rpm-root": (False, "rpm -q --root /tmp/r bash"),
    "rpm-verify-runs-scripts": (False, "rpm -V bash"),
    "rpm-erase-cluster": (False, "rpm -qe bash"),
    "rpm-import": (False, "rpm -q --import /tmp/k"),
    "rpm-setperms": (False, "rpm -q --setperms bash"),
    "systemctl-option-value-looks-like-verb": (False, "systemctl -p show restart sshd"),
    "systemctl-property-long": (False, "systemctl --property status stop sshd"),
    "systemctl-start": (False, "systemctl start sshd"),
    "systemctl-enable": (False, "systemctl enable sshd"),
    "systemctl-daemon-reload": (False, "systemctl daemon-reload"),
    "systemctl-kill": (False, "systemctl kill sshd"),
    "systemctl-set-property": (False, "systemctl set-property sshd CPUQuota=1%"),
    "systemctl-remote-host": (False, "systemctl -H root@x status"),
    "systemctl-root": (False, "systemctl --root=/tmp status"),
    "systemctl-edit": (False, "systemctl edit sshd"),
    "sysctl-system-abbreviated": (False, "sysctl --sys"),
    "sysctl-load-abbreviated": (False, "sysctl --lo"),
    "sysctl-p-in-cluster": (False, "sysctl -ep"),
    "sysctl-system": (False, "sysctl --system"),
    "sysctl-write-cluster": (False, "sysctl -qw kernel.x=1"),
    "sysctl-assign": (False, "sysctl kernel.x=1"),
    "sysctl-load-file": (False, "sysctl -p/tmp/x.conf"),
    "date-operand-sets-clock": (False, "date 010100002026"),
    "date-set-cluster": (False, "date -us 12:00"),
    "date-set-abbreviated": (False, "date --se=12:00"),
    "date-set": (False, "date --set=12:00"),
    "journalctl-rotate-abbreviated": (False, "journalctl --rot"),
    "journalctl-flush-abbreviated": (False, "journalctl --fl"),
    "journalctl-cursor-file-writes": (False, "journalctl -n 1 --cursor-file=/tmp/x"),
    "journalctl-vacuum": (False, "journalctl --vacuum-size=1"),
    "journalctl-relinquish": (False, "journalctl --relinquish-var"),
    "journalctl-setup-keys": (False, "journalctl --setup-keys"),
    "journalctl-update-catalog": (False, "journalctl --update-catalog"),
    "hostname-from-file": (False, "hostname --file=/etc/x"),
    "hostname-F-cluster": (False, "hostname -F/etc/x"),
    "hostname-set": (False, "hostname web1"),
    "hostnamectl-set-after-host-option": (False, "hostnamectl -H status set-hostname x"),
    "hostnamectl-set": (False, "hostnamectl set-hostname x"),
    "hostnamectl-hostname-set": (False, "hostnamectl hostname x"),
    "timedatectl-set": (False, "timedatectl set-time 12:00"),
    "timedatectl-status-then-set": (False, "timedatectl status set-ntp false"),
    "localectl-set": (False, "localectl set-locale LANG=C"),
    "ip-batch": (False, "ip -batch /tmp/cmds"),
    "ip-batch-abbreviated": (False, "ip -b /tmp/cmds"),
    "ip-force-batch": (False, "ip -force -batch -"),
    "ip-netns-exec": (False, "ip netns exec x touch /tmp/y"),
    "ip-addr-add": (False, "ip addr add 10.0.0.1/24 dev eth0"),
    "ip-link-set": (False, "ip link set eth0 down"),
    "ip-route-flush": (False, "ip route flush all"),
    "ip-netns-value-shifts": (False, "ip -n show link del x"),
    "dnf-config-file": (False, "dnf -c /tmp/dnf.conf list"),
    "dnf-setopt-pluginpath": (False, "dnf --setopt=pluginpath=/tmp list"),
    "dnf-setopt-abbreviated": (False, "dnf --setop=pluginpath=/tmp list"),
    "dnf-installroot": (False, "dnf --installroot=/tmp list"),
    "dnf-install": (False, "dnf install x"),
    "dnf-option-value-looks-like-verb": (False, "dnf --repo list install x"),
    "dnf-makecache": (False, "dnf makecache"),
    "yum-y-update": (False, "yum -y update"),
    "docker-remote-daemon": (False, "docker -H tcp://x:2375 ps"),
    "docker-config": (False, "docker --config /tmp/c ps"),
    "podman-runtime": (False, "podman --runtime /tmp/evil ps"),
    "podman-sync-runs-runtime": (False, "podman ps --sync"),
    "docker-run": (False, "docker run x"),
    "docker-exec": (False, "docker exec x touch /y"),
    "docker-rm": (False, "docker container rm x"),
    "docker-system-prune": (False, "docker system prune -f"),
    "firewall-add": (False, "firewall-cmd --add-port=1/tcp"),
    "firewall-reload": (False, "firewall-cmd --reload"),
    "firewall-set-default": (False, "firewall-cmd --set-default-zone=x"),
    "firewall-zone-separate-value": (False, "firewall-cmd --zone public --list-all"),
    "lvs-config": (False, "lvs --config 'global {}'"),
    "lvs-config-abbreviated": (False, "lvs --conf x"),
    "lvs-profile": (False, "lvs --commandprofile x"),
    "lvs-templated": (False, "lvs {{ vg }}"),
    "lvchange": (False, "lvchange -an vg/lv"),
    "program-in-tmp": (False, "/tmp/cat /etc/hosts"),
    "program-dotdot": (False, "/usr/bin/../../tmp/cat /etc/hosts"),
    "templated-program": (False, "{{ x }} /etc/hosts"),
    "env": (False, "env LD_PRELOAD=/tmp/x.so cat /etc/hosts"),
    "tee-command": (False, "tee /tmp/x"),
    "xargs-command": (False, "xargs rm"),
    "nice": (False, "nice touch /tmp/x"),
    "timeout": (False, "timeout 1 touch /tmp/x"),
    "sudo": (False, "sudo cat /etc/shadow"),
    "runuser": (False, "runuser -u x -- touch /tmp/y"),
    "bash-c": (False, "bash -c 'touch /tmp/x'"),
    "sh-c": (False, "/bin/sh -c 'touch /tmp/x'"),
    "python": (False, 'python3 -c \'open("/tmp/x","w")\''),
    "curl-output": (False, "curl -o /tmp/x http://127.0.0.1/"),
    "cp": (False, "cp /etc/hosts /tmp/x"),
    "ln": (False, "ln -s /etc/hosts /tmp/x"),
    "mktemp": (False, "mktemp"),
    "truncate": (False, "truncate -s0 /etc/hosts"),
    "dd": (False, "dd if=/dev/zero of=/tmp/x count=1"),
    "install": (False, "install -d /tmp/x"),
    "chmod": (False, "chmod 777 /etc/hosts"),
    "modprobe": (False, "modprobe dummy"),
    "pkill": (False, "pkill sshd"),
    "kill": (False, "kill 1"),
    "setenforce": (False, "setenforce 0"),
    "update-crypto-policies": (False, "update-crypto-policies --show"),
    "git": (False, "git -C /x log"),
}

READS: dict[str, tuple[bool, str]] = {
    "cat": (False, "cat /etc/os-release"),
    "systemctl-is-active": (False, "systemctl is-active firewalld"),
    "systemctl-show-property": (False, "systemctl show -p ActiveState --value sshd"),
    "systemctl-property-attached": (False, "systemctl show --property=ActiveState sshd"),
    "systemctl-status-no-pager": (False, "systemctl --no-pager -l status sshd"),
    "rpm-q": (False, "rpm -q bash"),
    "rpm-qa-qf": (False, "rpm -qa --qf '%{NAME}-%{VERSION}\\n'"),
    "rpm-qf-format": (False, "rpm -q --qf '%-20{NAME} %{INSTALLTIME:date}\\n' bash"),
    "rpm-qf-file": (False, "rpm -qf /etc/hosts"),
    "rpm-qi": (False, "rpm -qi bash"),
    "sysctl-n": (False, "sysctl -n net.ipv4.ip_forward"),
    "sysctl-a": (False, "sysctl -a"),
    "date-format": (False, "date +%s"),
    "date-utc-iso": (False, "date -u -Iseconds"),
    "date-d": (False, "date -d @0 +%F"),
    "journalctl": (False, "journalctl -u sshd -n 20 --no-pager"),
    "journalctl-cluster": (False, "journalctl -xeu sshd"),
    "journalctl-boot": (False, "journalctl -b -p err --no-pager"),
    "journalctl-n-attached": (False, "journalctl -n20 -o json"),
    "hostname": (False, "hostname"),
    "hostname-f": (False, "hostname -f"),
    "hostnamectl": (False, "hostnamectl"),
    "hostnamectl-status": (False, "hostnamectl status"),
    "timedatectl-show-value": (False, "timedatectl show -p NTP --value"),
    "ip-a": (False, "ip a"),
    "ip-brief-addr-show": (False, "ip -br addr show dev eth0"),
    "ip-route-get": (False, "ip -4 route get 1.1.1.1"),
    "ip-json-link": (False, "ip -j link"),
    "dnf-list-installed": (False, "dnf list --installed bash"),
    "dnf-repoquery": (False, "dnf -q repoquery --whatprovides /usr/bin/docker"),
    "dnf-enablerepo": (False, "dnf --enablerepo=crb list available"),
    "yum-repolist": (False, "yum repolist"),
    "docker-info-format": (False, "docker info --format '{% raw %}{{.Driver}}{% endraw %}'"),
    "docker-ps-a": (False, "docker ps -a -q"),
    "podman-network-ls": (False, "podman network ls"),
    "firewall-list": (False, "firewall-cmd --zone=public --list-services"),
    "firewall-state": (False, "firewall-cmd --state"),
    "lvs": (False, "lvs --noheadings -o lv_name vg0"),
    "find-name": (False, "find /etc -name '*.conf' -type f"),
    "grep-templated": (False, "grep {{ word }} /etc/hosts"),
    "shell-pipe": (True, "grep -c x /etc/passwd | wc -l"),
    "shell-test-and": (True, "[ -f /etc/x ] && echo yes || echo no"),
    "shell-glob-cat": (True, "cat /etc/yum.repos.d/*.repo"),
    "shell-ls-glob": (True, "ls /etc/*.conf"),
    "shell-quoted-glob-find": (True, "find /etc -name '*.repo'"),
    "shell-escaped-glob-find": (True, "find /etc -name \\*.repo"),
    "shell-comment-line": (True, "# the release\ncat /etc/os-release"),
    "shell-trailing-comment": (True, "cat /etc/os-release # the release"),
    "shell-hash-in-word": (True, "grep a#b /etc/hosts"),
    "shell-hash-in-quotes": (True, "grep '#x; touch /tmp/y' /etc/hosts"),
    "shell-devnull": (True, "getenforce 2>/dev/null || echo Disabled"),
    "shell-exit-status": (True, "systemctl is-active sshd; echo $?"),
}


@pytest.mark.parametrize(("shell", "text"), ATTACKS.values(), ids=ATTACKS.keys())
def test_an_attack_is_not_proven_read_only(shell: bool, text: str) -> None:
    assert not command_reads_only(text, shell=shell)
    if not shell:  # the same words as a shell script are no safer
        assert not command_reads_only(text, shell=True)


@pytest.mark.parametrize(("shell", "text"), READS.values(), ids=READS.keys())
def test_a_read_stays_proven_read_only(shell: bool, text: str) -> None:
    assert command_reads_only(text, shell=shell)


ENVIRONMENTS = {
    "PATH": ({"PATH": "/tmp/evil"}, False),
    "LD_PRELOAD": ({"LD_PRELOAD": "/tmp/x.so"}, False),
    "LD_LIBRARY_PATH": ({"LD_LIBRARY_PATH": "/tmp"}, False),
    "BASH_ENV": ({"BASH_ENV": "/tmp/x.sh"}, False),
    "ENV": ({"ENV": "/tmp/x.sh"}, False),
    "PAGER": ({"SYSTEMD_PAGER": "sh -c id"}, False),
    "GCONV_PATH": ({"GCONV_PATH": "/tmp"}, False),
    "LOCPATH": ({"LOCPATH": "/tmp"}, False),
    "SHELLOPTS": ({"SHELLOPTS": "xtrace"}, False),
    "PS4": ({"PS4": "$(id)"}, False),
    "IFS": ({"IFS": "/"}, False),
    "lower-lang": ({"lang": "C"}, False),
    "LC_ALL-and-PATH": ({"LC_ALL": "C", "PATH": "/tmp"}, False),
    "none": ({}, True),
    "LC_ALL": ({"LC_ALL": "C"}, True),
    "LANG-TZ": ({"LANG": "C.UTF-8", "TZ": "UTC"}, True),
    "COLUMNS": ({"COLUMNS": "200", "SYSTEMD_COLORS": "0"}, True),
}


@pytest.mark.parametrize(("environment", "safe"), ENVIRONMENTS.values(), ids=ENVIRONMENTS.keys())
def test_environment_names(environment: dict[str, str], safe: bool) -> None:
    assert environment_reads_only(environment) is safe


@pytest.mark.parametrize(
    ("where", "safe"),
    [
        ("  environment: {PATH: /tmp/evil}\n", False),
        ("  environment: {LD_PRELOAD: /tmp/x.so}\n", False),
        ("  environment: {LC_ALL: C}\n", True),
        ("", True),
    ],
)
def test_a_task_environment_keeps_a_read_out_of_plan(
    tmp_path: Path, where: str, safe: bool
) -> None:
    tasks = "- command: cat /etc/hostname\n  register: r\n  changed_when: false\n" + where
    assert len(probe_scripts(tmp_path, tasks)) == (1 if safe else 0)


def test_a_block_environment_reaches_the_read(tmp_path: Path) -> None:
    tasks = (
        "- block:\n    - command: cat /etc/hostname\n      register: r\n"
        "      changed_when: false\n  environment: {PATH: /tmp/evil}\n"
    )
    assert probe_scripts(tmp_path, tasks) == []
