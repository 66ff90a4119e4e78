"""Ansible module calls → this tool's task type and params: a table of accepted calls,
then a table of refused ones (unknown argument, unsupported argument, wrong type,
values with quotes, line breaks, a leading `-`, `../`)."""

from __future__ import annotations

from typing import Any

import pytest

from provision.ansible.modules import MODULES, canonical, module_of
from provision.errors import InputError
from provision.project.compile import compile_run
from provision.tasks.base import task_types

# (module key, arguments, play vars, target task type, expected params (subset))
ACCEPTED: list[tuple[str, Any, dict, str, dict]] = [
    # dnf / yum / package
    (
        "ansible.builtin.dnf",
        {"name": "a,b", "state": "installed"},
        {},
        "package",
        {"name": ["a", "b"], "state": "present"},
    ),
    (
        "dnf",
        {"name": ["a", "b,c"], "state": "removed"},
        {},
        "package",
        {"name": ["a", "b", "c"], "state": "absent"},
    ),
    (
        "ansible.builtin.dnf",
        {"name": "*", "state": "latest"},
        {},
        "package",
        {"name": ["*"], "state": "latest"},
    ),
    (
        "ansible.builtin.dnf",
        {"name": "{{ pkgs }}", "state": "present"},
        {"pkgs": "x, y"},
        "package",
        {"name": ["x", "y"]},
    ),
    (
        "ansible.builtin.dnf",
        {"name": "{{ pkgs }}"},
        {"pkgs": ["x", "y"]},
        "package",
        {"name": ["x", "y"], "state": "present"},
    ),
    ("ansible.builtin.dnf", {"pkg": "git", "update_cache": True}, {}, "package", {"name": ["git"]}),
    (
        "ansible.builtin.dnf",
        {"name": "htop", "enablerepo": "epel, crb", "disablerepo": ["a,b", "c"]},
        {},
        "package",
        {"enablerepo": ["epel", "crb"], "disablerepo": ["a", "b", "c"]},
    ),
    (
        "ansible.builtin.yum",
        {"name": "htop", "enablerepo": "{{ repos }}"},
        {"repos": "epel,crb"},
        "package",
        {"enablerepo": ["epel", "crb"], "disablerepo": []},
    ),
    (
        "dnf",
        {"name": "htop", "enablerepo": "{{ repos }}"},
        {"repos": ["epel"]},
        "package",
        {"enablerepo": ["epel"]},
    ),
    (
        "ansible.legacy.yum",
        {"name": "git", "state": "latest"},
        {},
        "package",
        {"name": ["git"], "state": "latest"},
    ),
    (
        "ansible.builtin.package",
        {"name": "git", "state": "installed"},
        {},
        "package",
        {"state": "present"},
    ),
    ("package", {"name": "git", "state": "installed"}, {}, "package", {"state": "present"}),
    (
        "ansible.builtin.dnf",
        {"name": "*", "state": "latest", "security": True},
        {},
        "package",
        {"security": True},
    ),
    # lineinfile
    (
        "ansible.builtin.lineinfile",
        {"path": "/etc/dnf/dnf.conf", "regexp": r"^\s*proxy\s*=", "line": "proxy={{ p }}"},
        {"p": "http://10.0.0.1:3128"},
        "line",
        {"path": "/etc/dnf/dnf.conf", "line": "proxy=http://10.0.0.1:3128", "create": False},
    ),
    (
        "lineinfile",
        {"dest": "/etc/x", "regex": "^a=", "line": "a=1", "create": "yes", "mode": "0600"},
        {},
        "line",
        {"path": "/etc/x", "regexp": "^a=", "create": True, "mode": 0o600},
    ),
    (
        "ansible.builtin.lineinfile",
        {"name": "/etc/x", "regexp": "^b", "state": "absent"},
        {},
        "line",
        {"state": "absent", "line": None},
    ),
    (
        "ansible.builtin.lineinfile",
        {"path": "/etc/x", "line": "z", "insertbefore": "BOF"},
        {},
        "line",
        {"insertbefore": "BOF"},
    ),
    (
        "ansible.builtin.lineinfile",
        {
            "path": "/etc/x",
            "value": "z",
            "insertafter": "^a",
            "backrefs": False,
            "firstmatch": False,
        },
        {},
        "line",
        {"line": "z", "insertafter": "^a"},
    ),
    # blockinfile, replace
    (
        "ansible.builtin.blockinfile",
        {"dest": "/etc/x", "content": "a\nb\n", "marker": "## {mark}"},
        {},
        "blockinfile",
        {"path": "/etc/x", "block": "a\nb"},
    ),
    (
        "blockinfile",
        {"path": "/etc/x", "block": "a", "insertafter": "EOF", "create": True},
        {},
        "blockinfile",
        {"create": True},
    ),
    (
        "ansible.builtin.replace",
        {
            "path": "/etc/r",
            "regexp": "^gpgkey=(?!file://{{ k }}$).*$",
            "replace": "gpgkey=file://{{ k }}",
        },
        {"k": "/etc/pki/k"},
        "replace",
        {"regexp": r"^gpgkey=(?!file:///etc/pki/k$).*$", "replace": "gpgkey=file:///etc/pki/k"},
    ),
    (
        "replace",
        {"dest": "/etc/r", "regexp": "a", "after": "x", "before": "y"},
        {},
        "replace",
        {"path": "/etc/r", "replace": ""},
    ),
    # copy, template, file
    (
        "ansible.builtin.copy",
        {"dest": "/etc/d.json", "content": "{{ d | to_json }}\n", "mode": "0644"},
        {"d": {"a": 1}},
        "copy",
        {"content": '{"a": 1}\n', "mode": 0o644},
    ),
    (
        "ansible.builtin.template",
        {"src": "motd.j2", "dest": "/etc/motd", "mode": "0644", "force": True},
        {"who": "x"},
        "template",
        {"src": "motd.j2", "mode": 0o644},
    ),
    (
        "template",
        {"src": "motd.j2", "dest": "/etc/motd", "newline_sequence": "\n"},
        {"who": "x"},
        "template",
        {"dest": "/etc/motd"},
    ),
    (
        "ansible.builtin.copy",
        {
            "dest": "/etc/x",
            "content": "x",
            "force": True,
            "backup": True,
            "owner": "root",
            "group": "wheel",
        },
        {},
        "copy",
        {"backup": True, "group": "wheel"},
    ),
    (
        "ansible.builtin.file",
        {"path": "/etc/docker", "state": "directory", "mode": "0750"},
        {},
        "file",
        {"state": "directory", "mode": 0o750, "owner": None},
    ),
    (
        "ansible.builtin.file",
        {"dest": "/tmp/old", "state": "absent"},
        {},
        "directory",
        {"state": "absent"},
    ),
    ("file", {"path": "/etc/x", "state": "directory"}, {}, "file", {"state": "directory"}),
    (
        "ansible.builtin.file",
        {"path": "/etc/x", "mode": "0600"},
        {},
        "file",
        {"state": "file", "mode": 0o600},
    ),
    ("ansible.builtin.file", {"path": "/etc/x", "state": "touch"}, {}, "file", {"state": "touch"}),
    (
        "ansible.builtin.file",
        {"path": "/usr/bin/dc", "src": "/opt/dc", "state": "link"},
        {},
        "file",
        {"state": "link", "src": "/opt/dc"},
    ),
    # get_url
    (
        "ansible.builtin.get_url",
        {
            "url": "{{ u }}",
            "dest": "/etc/k",
            "mode": "0644",
            "use_proxy": True,
            "owner": "root",
            "group": "root",
        },
        {"u": "https://x/gpg"},
        "get_url",
        {"url": "https://x/gpg", "use_proxy": True},
    ),
    (
        "get_url",
        {
            "url": "https://x/f",
            "dest": "/opt/f",
            "checksum": "sha256:" + "a" * 64,
            "timeout": 30,
            "force": False,
            "validate_certs": True,
        },
        {},
        "get_url",
        {"timeout": 30},
    ),
    # command, shell
    (
        "ansible.builtin.command",
        "systemctl is-active firewalld",
        {},
        "shell",
        {"cmd": "systemctl is-active firewalld"},
    ),
    (
        "command",
        "docker info --format '{% raw %}{{.Driver}}{% endraw %}'",
        {},
        "shell",
        {"cmd": "docker info --format '{{.Driver}}'"},
    ),
    (
        "ansible.builtin.command",
        {"cmd": "dnf config-manager --add-repo {{ u }}", "creates": "/etc/yum.repos.d/d.repo"},
        {"u": "https://x/d.repo"},
        "shell",
        {
            "cmd": "dnf config-manager --add-repo https://x/d.repo",
            "creates": "/etc/yum.repos.d/d.repo",
        },
    ),
    (
        "ansible.builtin.command",
        {"cmd": "touch {{ f }}"},
        {"f": "a b; rm -rf /"},
        "shell",
        {"cmd": "touch 'a b; rm -rf /'"},
    ),
    (
        "ansible.builtin.command",
        {"argv": "{{ ['rpm', '-q'] + pk }}"},
        {"pk": ["x y", "-z"]},
        "shell",
        {"cmd": "rpm -q 'x y' -z"},
    ),
    (
        "ansible.builtin.command",
        {"cmd": "ls", "chdir": "/srv", "removes": "/srv/x"},
        {},
        "shell",
        {"chdir": "/srv", "removes": "/srv/x"},
    ),
    (
        "ansible.builtin.shell",
        "echo {{ v }} | tee /tmp/x",
        {"v": "it's"},
        "shell",
        {"cmd": "echo 'it'\"'\"'s' | tee /tmp/x"},
    ),
    (
        "shell",
        {"cmd": "set -o pipefail; a | b", "executable": "/bin/bash"},
        {},
        "shell",
        {"cmd": "set -o pipefail; a | b"},
    ),
    (
        "ansible.builtin.command",
        "/usr/bin/make install creates=/usr/local/bin/x chdir=/srv",
        {},
        "shell",
        {"cmd": "/usr/bin/make install", "creates": "/usr/local/bin/x", "chdir": "/srv"},
    ),
    (
        "ansible.builtin.shell",
        "cat <<EOF > /tmp/x\n  indented\nEOF\n",
        {},
        "shell",
        {"cmd": "cat <<EOF > /tmp/x\n  indented\nEOF\n"},
    ),
    (
        "ansible.builtin.lineinfile",
        "path=/etc/x regexp=^a= line='a = 1' create=yes",
        {},
        "line",
        {"path": "/etc/x", "line": "a = 1", "create": True},
    ),
    (
        "ansible.builtin.systemd_service",
        "name=sshd state=started enabled=yes",
        {},
        "service",
        {"name": "sshd", "enabled": True},
    ),
    # assert, fail
    (
        "ansible.builtin.assert",
        {"that": ["x == 1"], "fail_msg": "no", "quiet": True},
        {"x": 1},
        "assert",
        {"msg": "no"},
    ),
    (
        "assert",
        {"that": "x == 1", "msg": "m", "success_msg": "ok"},
        {"x": 1},
        "assert",
        {"msg": "m"},
    ),
    ("ansible.builtin.fail", {"msg": "stop"}, {}, "fail", {"msg": "stop"}),
    # sysctl
    (
        "ansible.posix.sysctl",
        {
            "name": "net.ipv4.ip_forward",
            "value": 1,
            "sysctl_file": "/etc/sysctl.d/99-x.conf",
            "reload": True,
        },
        {},
        "sysctl",
        {"value": "1", "file": "/etc/sysctl.d/99-x.conf"},
    ),
    (
        "sysctl",
        {"key": "vm.swappiness", "val": "10", "sysctl_set": True},
        {},
        "sysctl",
        {"name": "vm.swappiness", "file": "/etc/sysctl.conf"},
    ),
    (
        "ansible.legacy.sysctl",
        {"name": "net.ipv4.ip_forward", "value": True},
        {},
        "sysctl",
        {"value": "1"},
    ),
    # service / systemd
    (
        "ansible.builtin.systemd_service",
        {"name": "docker", "state": "restarted", "daemon_reload": True},
        {},
        "service",
        {"state": "restarted", "daemon_reload": True},
    ),
    (
        "ansible.builtin.systemd",
        {
            "unit": "docker",
            "enabled": "yes",
            "daemon-reload": "no",
            "scope": "system",
            "no_block": False,
        },
        {},
        "service",
        {"enabled": True},
    ),
    (
        "ansible.builtin.service",
        {"name": "sshd", "state": "started", "use": "auto"},
        {},
        "service",
        {"name": "sshd", "state": "started"},
    ),
    # user, group
    (
        "ansible.builtin.user",
        {"name": "deploy", "groups": "wheel,docker", "append": True, "shell": "/bin/bash"},
        {},
        "user",
        {"groups": ["wheel", "docker"], "append": True},
    ),
    (
        "user",
        {"name": "svc", "system": True, "createhome": False, "groups": "docker"},
        {},
        "user",
        {"create_home": False, "append": False},
    ),
    ("ansible.builtin.group", {"name": "docker", "system": True}, {}, "group", {"system": True}),
    (
        "ansible.builtin.group",
        {"name": "g", "gid": 1500, "state": "present"},
        {},
        "group",
        {"gid": 1500},
    ),
    # yum_repository, rpm_key
    (
        "ansible.builtin.yum_repository",
        {
            "name": "epel",
            "description": "EPEL",
            "baseurl": "https://m/epel/9/",
            "gpgkey": "file:///k",
            "gpgcheck": True,
        },
        {},
        "repo",
        {"id": "epel", "file": None, "gpgcheck": True},
    ),
    (
        "yum_repository",
        {
            "name": "x",
            "description": "X",
            "baseurl": ["https://m/x"],
            "file": "extra",
            "reposdir": "/etc/yum.repos.d",
            "enabled": False,
        },
        {},
        "repo",
        {"file": "/etc/yum.repos.d/extra.repo", "baseurl": "https://m/x", "enabled": False},
    ),
    (
        "ansible.builtin.rpm_key",
        {
            "key": "/etc/pki/k",
            "fingerprint": "060A 61C5 1B55 8A7F 742B 77AA C52F EB6B 621E 9F35",
            "state": "present",
        },
        {},
        "rpm_key",
        {"key": "/etc/pki/k"},
    ),
    (
        "rpm_key",
        {
            "key": "https://x/k",
            "fingerprint": ["060A61C51B558A7F742B77AAC52FEB6B621E9F35"],
            "validate_certs": True,
        },
        {},
        "rpm_key",
        {"key": "https://x/k"},
    ),
    # mount, lvg, lvol, filesystem, firewalld
    (
        "ansible.posix.mount",
        {
            "path": "/data",
            "src": "/dev/vg/data",
            "fstype": "xfs",
            "state": "mounted",
            "opts": "noatime",
        },
        {},
        "mount",
        {"by_uuid": False, "opts": "noatime"},
    ),
    (
        "mount",
        {"name": "/data", "src": "/dev/vdb1", "fstype": "xfs", "state": "present", "boot": True},
        {},
        "mount",
        {"path": "/data", "state": "present"},
    ),
    (
        "community.general.lvg",
        {"vg": "vg0", "pvs": "/dev/vdb", "pesize": "4m"},
        {},
        "lvm_vg",
        {"pvs": ["/dev/vdb"]},
    ),
    (
        "lvg",
        {"vg": "vg0", "pvs": ["/dev/vdb", "/dev/vdc"]},
        {},
        "lvm_vg",
        {"pvs": ["/dev/vdb", "/dev/vdc"]},
    ),
    (
        "community.general.lvol",
        {"vg": "vg0", "lv": "data", "size": "20g"},
        {},
        "lvm_lv",
        {"size": "20g"},
    ),
    (
        "lvol",
        {"vg": "vg0", "lv": "data", "size": "80%VG", "shrink": False, "active": True},
        {},
        "lvm_lv",
        {"size": "80%VG"},
    ),
    (
        "community.general.filesystem",
        {"dev": "/dev/vg0/data", "fstype": "xfs"},
        {},
        "filesystem",
        {"fstype": "xfs"},
    ),
    (
        "filesystem",
        {"device": "/dev/vdb", "type": "ext4", "resizefs": True},
        {},
        "filesystem",
        {"dev": "/dev/vdb", "resizefs": True},
    ),
    (
        "ansible.posix.firewalld",
        {"service": "http", "permanent": True, "immediate": True, "state": "enabled"},
        {},
        "firewalld",
        {"permanent": True, "immediate": True},
    ),
    (
        "firewalld",
        {"port": "8080/tcp", "zone": "public", "state": "disabled"},
        {},
        "firewalld",
        {"zone": "public"},
    ),
    # community.docker (more cases: test_docker_modules.py)
    (
        "community.docker.docker_compose_v2",
        {"project_src": "/srv/app", "files": ["compose.yaml"], "state": "present"},
        {},
        "compose",
        {"project_src": "/srv/app", "files": ["compose.yaml"]},
    ),
    (
        "community.docker.docker_stack",
        {"name": "demo", "compose": [{"services": {"web": {"image": "x"}}}]},
        {},
        "stack",
        {"name": "demo"},
    ),
]


def _target(task: Any) -> str:
    for cls in type(task).__mro__:
        if "type_name" in cls.__dict__ and cls.__dict__["type_name"] in task_types():
            if task_types()[cls.__dict__["type_name"]] is cls:
                return cls.__dict__["type_name"]
    return task.type_name


@pytest.mark.parametrize(
    ("key", "args", "play_vars", "target", "expected"),
    ACCEPTED,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(ACCEPTED)],
)
def test_accepted(compile_one, key, args, play_vars, target, expected):
    compiled = compile_one({"name": "t", key: args}, play_vars)
    assert compiled.task is not None, compiled.skip_reason
    assert _target(compiled.task) == target
    params = vars(compiled.task.params)
    for name, value in expected.items():
        assert params[name] == value, (name, params[name])


# (module key, arguments, play vars, words the error holds)
REFUSED: list[tuple[str, Any, dict, list[str]]] = [
    # unknown argument: names the module, the argument and the accepted ones
    (
        "ansible.builtin.dnf",
        {"name": "x", "nme": "y"},
        {},
        [
            "`nme` is not an argument of ansible.builtin.dnf",
            "arguments of ansible.builtin.dnf: name (or pkg)",
        ],
    ),
    (
        "ansible.builtin.lineinfile",
        {"path": "/x", "line": "a", "sectoin": "m"},
        {},
        ["`sectoin` is not an argument"],
    ),
    (
        "ansible.posix.sysctl",
        {"name": "a.b", "value": "1", "file": "/x"},
        {},
        ["`file` is not an argument of ansible.posix.sysctl"],
    ),
    (
        "ansible.builtin.systemd_service",
        {"name": "d", "restart": True},
        {},
        ["`restart` is not an argument"],
    ),
    (
        "ansible.builtin.get_url",
        {"url": "https://x", "dest": "/x", "sha256sum": "a"},
        {},
        ["`sha256sum` is not an argument"],
    ),
    # supported by Ansible, not here: names it and what to write instead
    (
        "ansible.builtin.dnf",
        {"name": "x", "exclude": "kernel*"},
        {},
        ["argument `exclude` of ansible.builtin.dnf is not supported", "excludepkgs"],
    ),
    ("ansible.builtin.dnf", {"name": "x", "disable_gpg_check": True}, {}, ["rpm_key"]),
    (
        "ansible.builtin.lineinfile",
        {"path": "/x", "line": r"\2", "regexp": "(a)", "backrefs": True},
        {},
        ["refers to group 2, but `regexp` has 1"],
    ),
    (
        "ansible.builtin.lineinfile",
        {"path": "/x", "line": "a", "validate": "visudo -cf %s"},
        {},
        ["argument `validate`"],
    ),
    (
        "ansible.builtin.copy",
        {"dest": "/x", "src": "/etc/y", "remote_src": True},
        {},
        ["`remote_src`", "creates"],
    ),
    (
        "ansible.builtin.copy",
        {"dest": "/x", "content": "a", "force": False},
        {},
        ["`force: False` is not supported"],
    ),
    (
        "ansible.builtin.file",
        {"path": "/x", "state": "file", "recurse": True},
        {},
        ["`recurse: true` goes with `state: directory`"],
    ),
    (
        "ansible.builtin.file",
        {"path": "/x", "state": "hard"},
        {},
        ["`state: hard` needs `src`"],
    ),
    (
        "ansible.builtin.file",
        {"path": "/x", "state": "{{ s }}"},
        {"s": "directory"},
        ["`state` must be written as it is"],
    ),
    (
        "ansible.posix.sysctl",
        {"name": "a.b", "value": "1", "reload": False},
        {},
        ["`reload: False` is not supported", "live value"],
    ),
    ("ansible.builtin.systemd_service", {"name": "d", "masked": True}, {}, ["`masked`"]),
    (
        "ansible.builtin.systemd",
        {"name": "d", "scope": "user"},
        {},
        ["`scope: 'user'` is not supported"],
    ),
    ("ansible.builtin.user", {"name": "u", "password": "x"}, {}, ["`password`"]),
    (
        "ansible.builtin.get_url",
        {"url": "https://x", "dest": "/x", "force": True},
        {},
        ["`force: True` is not supported", "checksum"],
    ),
    ("ansible.builtin.rpm_key", {"key": "https://x/k"}, {}, ["full fingerprint", "fingerprint:"]),
    (
        "ansible.builtin.rpm_key",
        {"key": "https://x/k", "fingerprint": ["a", "b"]},
        {},
        ["exactly one `fingerprint`"],
    ),
    (
        "ansible.builtin.yum_repository",
        {"name": "x", "baseurl": "https://m", "mirrorlist": "https://m/l"},
        {},
        ["`mirrorlist`"],
    ),
    ("ansible.builtin.yum_repository", {"name": "x", "baseurl": ["a", "b"]}, {}, ["several URLs"]),
    (
        "ansible.builtin.yum_repository",
        {"name": "x", "baseurl": "https://m", "file": "../evil"},
        {},
        ["`file` must be a file name without `/`"],
    ),
    ("ansible.builtin.command", "ls | grep x", {}, ["shell syntax", "ansible.builtin.shell"]),
    ("ansible.builtin.command", "echo $HOME", {}, ["shell syntax", "'$'"]),
    ("ansible.builtin.command", 'echo "$(id)"', {}, ["inside double quotes"]),
    ("ansible.builtin.command", "rm -rf /tmp/*", {}, ["shell syntax", "'*'"]),
    ("ansible.builtin.command", "a 'unclosed", {}, ["an unclosed quote"]),
    ("ansible.builtin.shell", {"cmd": "x", "executable": "/bin/zsh"}, {}, ["`executable:"]),
    (
        "ansible.builtin.shell",
        {"argv": ["ls"]},
        {},
        ["`argv` is not an argument of ansible.builtin.shell"],
    ),
    (
        "ansible.builtin.mount",
        {"path": "/d", "src": "/dev/x", "fstype": "xfs"},
        {},
        ["Ansible module `ansible.builtin.mount` is not supported"],
    ),
    (
        "community.general.lvol",
        {"vg": "v", "lv": "l", "size": "1g", "shrink": True},
        {},
        ["never shrinks"],
    ),
    (
        "community.general.filesystem",
        {"dev": "/dev/x", "fstype": "xfs", "force": True},
        {},
        ["`force: True`"],
    ),
    (
        "ansible.posix.firewalld",
        {"rich_rule": "rule", "state": "enabled"},
        {},
        ["`rich_rule`", "services and ports only"],
    ),
    (
        "community.docker.docker_container",
        {"name": "x"},
        {},
        [
            "Ansible module `community.docker.docker_container` is not supported",
            "supported modules:",
        ],
    ),
    ("ansible.builtin.unarchive", {"src": "x", "dest": "/y"}, {}, ["instead: ", "get_url"]),
    ("ansible.builtin.apt", {"name": "x"}, {}, ["ansible.builtin.dnf"]),
    # wrong type
    ("ansible.builtin.lineinfile", "path=/etc/x line", {}, ["`line` is not a `key=value`"]),
    ("ansible.builtin.dnf", "name=git colour=blue", {}, ["`colour=blue` is not a `key=value`"]),
    ("ansible.builtin.dnf", ["git"], {}, ["arguments must be a mapping, found a list"]),
    ("ansible.builtin.dnf", 5, {}, ["arguments must be a mapping, found a number"]),
    (
        "ansible.builtin.lineinfile",
        {"path": "/x", "line": "a", "create": "maybe"},
        {},
        ["`create` must be true or false"],
    ),
    ("ansible.builtin.group", {"name": "g", "gid": "many"}, {}, ["`gid` must be a whole number"]),
    ("ansible.builtin.copy", {"dest": "etc/x", "content": "a"}, {}, ["absolute path"]),
    ("ansible.builtin.dnf", {"name": "x", "state": "installd"}, {}, ["must be one of"]),
    (
        "ansible.builtin.lineinfile",
        {"path": "/x", "dest": "/y", "line": "a"},
        {},
        ["are the same argument; give it once"],
    ),
    # values with quotes, line breaks, a leading `-`, `../`
    ("ansible.builtin.dnf", {"name": "-y"}, {}, ["invalid package name '-y'"]),
    ("ansible.builtin.dnf", {"name": "{{ p }}"}, {"p": "git'; reboot"}, ["invalid package name"]),
    ("ansible.builtin.dnf", {"name": "a\nb"}, {}, ["invalid package name"]),
    (
        "ansible.builtin.lineinfile",
        {"path": "/etc/x", "line": "{{ v }}"},
        {"v": "a\nb"},
        ["one line"],
    ),
    ("ansible.builtin.lineinfile", {"path": "/etc/x", "line": "a\u2028b"}, {}, ["one line"]),
    ("ansible.builtin.lineinfile", {"path": "/etc/x", "line": "a\x85b"}, {}, ["one line"]),
    (
        "ansible.builtin.lineinfile",
        {"path": "/etc/dnf/dnf.conf", "line": "[main]"},
        {},
        ["section"],
    ),
    ("ansible.builtin.user", {"name": "-o"}, {}, ["starts with '-'"]),
    ("ansible.builtin.user", {"name": "a'b"}, {}, ["invalid account name"]),
    ("ansible.builtin.group", {"name": "../x"}, {}, ["invalid"]),
    (
        "ansible.builtin.systemd_service",
        {"name": "docker\nx", "state": "started"},
        {},
        ["whitespace or a control character"],
    ),
    (
        "ansible.builtin.systemd_service",
        {"name": "--all", "state": "started"},
        {},
        ["starts with '-'"],
    ),
    ("ansible.builtin.copy", {"dest": "/x", "src": "../../../etc/shadow"}, {}, ["src"]),
    (
        "ansible.builtin.copy",
        {"dest": "/x", "content": "a", "owner": "-R"},
        {},
        ["starts with '-'"],
    ),
    (
        "ansible.builtin.file",
        {"path": "/x", "state": "link", "src": "-rf"},
        {},
        ["not starting with '-'"],
    ),
    (
        "ansible.builtin.get_url",
        {"url": "{{ u }}", "dest": "/x"},
        {"u": "https://x/ -o /y"},
        ["without spaces"],
    ),
    (
        "ansible.builtin.get_url",
        {"url": "file:///etc/shadow", "dest": "/x"},
        {},
        ["http:// or https://"],
    ),
    ("ansible.posix.sysctl", {"name": "-a", "value": "1"}, {}, ["-"]),
    ("ansible.posix.sysctl", {"name": "a.b", "value": "1\nkernel.x=1"}, {}, ["line break"]),
    (
        "ansible.builtin.yum_repository",
        {"name": "x", "baseurl": "https://m\ngpgcheck=0"},
        {},
        ["line"],
    ),
    ("ansible.builtin.shell", "echo '{{ v }}'", {"v": "x"}, ["inside single quotes"]),
    ("ansible.builtin.command", {"argv": ["ls", "a\x00b"]}, {}, ["NUL"]),
    (
        "ansible.builtin.blockinfile",
        {"path": "/x", "block": "a\x1b[2Jb"},
        {},
        ["control character"],
    ),
    ("ansible.builtin.replace", {"path": "/x", "regexp": "(a+)+b"}, {}, ["exponential"]),
    ("ansible.posix.firewalld", {"port": "80/tcp;x", "state": "enabled"}, {}, ["invalid port"]),
    ("community.general.lvg", {"vg": "v", "pvs": "../dev/sda"}, {}, ["/dev/"]),
]


@pytest.mark.parametrize(
    ("key", "args", "play_vars", "words"),
    REFUSED,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(REFUSED)],
)
def test_refused(compile_one, key, args, play_vars, words):
    with pytest.raises(InputError) as excinfo:
        compile_one({"name": "t", key: args}, play_vars)
    text = str(excinfo.value)
    assert "site.yml:" in text, text  # names the file and line
    for word in words:
        assert word in text, (word, text)
    assert "Traceback" not in text


def test_every_module_has_accepted_cases():
    covered = {canonical(c[0]) for c in ACCEPTED}
    assert set(MODULES) <= covered, set(MODULES) - covered


@pytest.mark.parametrize(
    ("key", "short"),
    [
        ("ansible.builtin.dnf", "dnf"),
        ("ansible.legacy.dnf", "dnf"),
        ("dnf", "dnf"),
        ("ansible.posix.sysctl", "sysctl"),
        ("ansible.legacy.sysctl", "sysctl"),
        ("ansible.builtin.sysctl", None),
        ("community.general.lvg", "lvg"),
        ("ansible.builtin.lvg", None),
        ("ansible.builtin.debug", "debug"),
        ("ansible.builtin.set_fact", "set_fact"),
        ("community.general.dnf", None),
        ("my.collection.dnf", None),
        ("line", None),
    ],
)
def test_canonical(key, short):
    assert canonical(key) == short


def test_module_of_names_only_translated_modules():
    assert module_of("ansible.builtin.debug") is None
    module = module_of("ansible.builtin.lineinfile")
    assert module is not None and module.target == "line"


def test_native_short_name_stays_native(compile_one):
    """A task valid in this tool's own dialect keeps its meaning."""
    compiled = compile_one({"command": {"cmd": "x", "unless": "true"}})
    assert compiled.task.type_name == "command"
    compiled = compile_one({"copy": {"dest": "/x", "content": "a", "format": "raw"}})
    assert compiled.task.type_name == "copy"


def test_native_command_without_guard_is_still_refused(compile_one):
    with pytest.raises(InputError, match="a command needs a guard"):
        compile_one({"command": {"cmd": "reboot"}})


@pytest.mark.parametrize(
    ("args", "line", "words"),
    [
        ("      dest: /etc/x\n      line: a\n      create: maybe\n", 9, "`create`"),
        ("      dest: /etc/x\n      line: a\n      backrefs: true\n", 9, "`backrefs"),
        ("      dest: /etc/x\n      nme: a\n", 8, "`nme`"),
        ('      dest: /etc/x\n      line: "{{ v }}"\n', 8, "one line"),
    ],
)
def test_an_argument_error_names_that_arguments_line(tmp_path, args, line, words):
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    h1: {ansible_connection: local}\n")
    (tmp_path / "site.yml").write_text(
        '- hosts: all\n  vars:\n    v: "a\\nb"\n  tasks:\n    - name: t\n'
        "      ansible.builtin.lineinfile:\n" + args.replace("      ", "        ")
    )
    with pytest.raises(InputError) as excinfo:
        compile_run(tmp_path / "inventory.yml", tmp_path / "site.yml")
    assert f"site.yml:{line}:" in str(excinfo.value), str(excinfo.value)
    assert words in str(excinfo.value)
