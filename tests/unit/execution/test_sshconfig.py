"""ssh_config: paramiko's matching, our Include and refusals, values checked as inventory
values are, and the precedence of every source of a connection value."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError
from provision.execution.sshconfig import SshConfig, expand_includes, load_ssh_config
from provision.project.ansiblecfg import AnsibleConfig, SshArgs
from provision.project.hostconfig import ControllerSettings, host_config
from provision.project.templating import Variables


def config(tmp_path: Path, text: str) -> SshConfig:
    path = tmp_path / "config"
    path.write_text(text)
    loaded = load_ssh_config(path, required=True)
    assert loaded is not None
    return loaded


def test_host_patterns_first_value_wins(tmp_path: Path) -> None:
    found = config(
        tmp_path,
        "Host web-* !web-9\n  User deploy\n  Port 2200\nHost web-1\n  User other\n"
        "Host *\n  User fallback\n  IdentityFile ~/.ssh/id_x\n",
    )
    assert found.lookup("web-1").user == "deploy"
    assert found.lookup("web-1").port == "2200"
    assert found.lookup("web-9").user == "fallback"
    assert found.lookup("db").identity_files[0].endswith(".ssh/id_x")


def test_include_keeps_the_enclosing_block(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "inc").write_text("Host other\n  User inc\n")
    main = tmp_path / "config"
    main.write_text("Host web\n  Include inc\n  Port 2200\n")
    text = expand_includes(main)
    found = SshConfig(main, text)
    assert found.lookup("web").port == "2200"
    assert found.lookup("other").user == "inc"
    assert found.lookup("other").port is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('Match exec "true"\n  User x\n', 1, "Match exec"),
        ("Host a\n  CanonicalizeHostname yes\n", 2, "CanonicalizeHostname"),
        ("Host a\n  User x\x1b\n", 2, "control character"),
        ("Host a\n  User x\u2028y\n", 2, "control character"),
        ("Host a\n  HostName x\x85y\n", 2, "control character"),
    ],
)
def test_refused_with_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        config(tmp_path, text)
    assert words in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == line


def settings(tmp_path: Path, text: str, **cfg: object) -> ControllerSettings:
    return ControllerSettings(config=AnsibleConfig(**cfg), ssh_config=config(tmp_path, text))


def host(name: str, variables: dict, s: ControllerSettings):  # noqa: ANN201
    return host_config(name, Variables(variables), Path("/inv"), None, None, settings=s)


def test_alias_resolves_hostname_user_port_key_and_hops(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        "Host web\n  HostName 192.0.2.5\n  User deploy\n  Port 2201\n  IdentityFile /k/web\n"
        "  ProxyJump hop1,admin@hop2:2222\n"
        "Host hop1\n  HostName 192.0.2.1\n  User jump\n  Port 2022\n  IdentityFile /k/hop\n"
        "Host hop2\n  HostName 192.0.2.2\n  User ignored\n  Port 9999\n",
    )
    found = host("web", {}, s)
    assert (found.address, found.user, found.port, found.alias) == (
        "192.0.2.5",
        "deploy",
        2201,
        "web",
    )
    assert found.identity_files == ("/k/web",)
    one, two = found.jump_hosts
    assert (one.host, one.user, one.port, one.name) == ("192.0.2.1", "jump", 2022, "hop1")
    assert one.identity_files == ("/k/hop",)
    assert (two.host, two.user, two.port) == ("192.0.2.2", "admin", 2222)


def test_precedence_vars_then_command_line_then_cfg_then_ssh_config(tmp_path: Path) -> None:
    text = "Host web\n  User from_ssh\n  Port 2201\n  ProxyJump ssh-hop\n"
    s = settings(tmp_path, text)
    assert host("web", {}, s).user == "from_ssh"
    s = settings(tmp_path, text, remote_user="from_cfg", remote_port=2300)
    found = host("web", {}, s)
    assert (found.user, found.port) == ("from_cfg", 2300)
    found = host("web", {"ansible_user": "from_var", "ansible_port": 2400}, s)
    assert (found.user, found.port) == ("from_var", 2400)
    s = settings(tmp_path, text, ssh=SshArgs(jump="cfg-hop"))
    assert host("web", {}, s).jump == "cfg-hop"
    s = ControllerSettings(
        config=AnsibleConfig(ssh=SshArgs(jump="cfg-hop")),
        ssh_config=config(tmp_path, text),
        jump="cli-hop",
    )
    assert host("web", {}, s).jump == "cli-hop"
    found = host("web", {"ansible_ssh_common_args": "-J var-hop"}, s)
    assert found.jump == "var-hop"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Host web\n  HostName -oProxyCommand=x\n", "HostName of 'web' in ssh config"),
        ("Host web\n  HostName $(id)\n", "HostName"),
        ("Host web\n  User -x\n", "User of 'web'"),
        ("Host web\n  Port 0\n", "Port of 'web'"),
        ("Host web\n  ProxyJump -oProxyCommand=x\n", "ProxyJump of 'web'"),
        ("Host web\n  ProxyJump hop\nHost hop\n  HostName a;b\n", "HostName of 'hop'"),
    ],
)
def test_ssh_config_values_checked_like_inventory_values(
    tmp_path: Path, text: str, words: str
) -> None:
    s = settings(tmp_path, text)
    with pytest.raises(InputError) as caught:
        host("web", {}, s)
    assert words in str(caught.value)
    assert caught.value.location is not None
    assert caught.value.location.file == str(tmp_path / "config")


def test_become_user_and_method(tmp_path: Path) -> None:
    s = settings(tmp_path, "", become=True, become_user="app")
    found = host("web", {}, s)
    assert found.become and found.become_user == "app"
    assert host("web", {"ansible_become_user": "db"}, s).become_user == "db"
    with pytest.raises(InputError, match="sudo or su only"):
        host("web", {"ansible_become_method": "doas"}, s)
    with pytest.raises(InputError, match="becomes app with su, which needs app's password"):
        host("web", {"ansible_become_method": "su", "ansible_user": "deploy"}, s)
    with pytest.raises(InputError, match="ansible_become_user"):
        host("web", {"ansible_become_user": "-rf"}, s)


@pytest.mark.parametrize(
    ("login", "target", "expected"),
    [
        ("deploy", "root", "sudo -n -- sh -s"),
        ("deploy", "app", "sudo -n -u app -- sh -s"),
        ("root", "app", "sudo -n -u app -- sh -s"),
        ("root", "root", "sh -s"),
        ("app", "app", "sh -s"),
        ("deploy", "a'b", "sudo -n -u 'a'\"'\"'b' -- sh -s"),
    ],
)
def test_become_user_is_sudo_u(login: str, target: str, expected: str) -> None:
    from provision.execution.connection import Become

    assert Become(login, target=target).wrap("id", None, True)[0] == expected


def test_vvvv_auth_description_never_holds_a_secret() -> None:
    from provision.execution.ssh import SSHConnection

    config = host("web", {"ansible_password": "s3cr3t-pw", "ansible_host": "192.0.2.9"}, None)
    text = SSHConnection(config)._describe_auth({"password": "s3cr3t-pw", "look_for_keys": True})
    assert "s3cr3t-pw" not in text and "a password (not shown)" in text
