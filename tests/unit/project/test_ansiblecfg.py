"""ansible.cfg: found in Ansible's order, read in its INI dialect, every value checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.ansiblecfg import find_config, load_config, parse_ssh_words


def cfg(tmp_path: Path, text: str, name: str = "ansible.cfg") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_search_order(tmp_path: Path) -> None:
    cwd, home, env_dir = tmp_path / "cwd", tmp_path / "home", tmp_path / "env"
    for d in (cwd, home, env_dir):
        d.mkdir()
    os.chmod(cwd, 0o755)
    assert find_config({}, cwd, home)[0] in (None, Path("/etc/ansible/ansible.cfg"))
    cfg(home, "", ".ansible.cfg")
    assert find_config({}, cwd, home)[0] == home / ".ansible.cfg"
    cfg(cwd, "")
    assert find_config({}, cwd, home)[0] == cwd / "ansible.cfg"
    cfg(env_dir, "")
    assert find_config({"ANSIBLE_CONFIG": str(env_dir)}, cwd, home)[0] == env_dir / "ansible.cfg"
    named = cfg(env_dir, "", "mine.cfg")
    assert find_config({"ANSIBLE_CONFIG": str(named)}, cwd, home)[0] == named


def test_world_writable_cwd_is_ignored_with_a_warning(tmp_path: Path) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    cfg(cwd, "[defaults]\nforks = 7\n")
    os.chmod(cwd, 0o777)
    found, warnings = find_config({}, cwd, home)
    assert found != cwd / "ansible.cfg"
    assert any("world-writable" in w for w in warnings)
    os.chmod(cwd, 0o755)


def test_settings_read_with_ansible_dialect(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "id"
    path = cfg(
        tmp_path,
        "# comment\n; comment\n[defaults]\ninventory = hosts.ini, ../other\n"
        "remote_user = deploy ; inline comment\nremote_port = 2222\n"
        "private_key_file = keys/id\nhost_key_checking = False\nforks = 20\n"
        "roles_path = roles:/opt/roles\nvault_password_file = ~/.vault_pass\ntimeout = 30\n"
        "unknown_key = %(not)s interpolated\n"
        "[ssh_connection]\nssh_args = -C -o ControlMaster=auto -o ControlPersist=60s"
        " -o ProxyJump=bastion.example.com\n"
        "[privilege_escalation]\nbecome = True\nbecome_user = app\nbecome_method = sudo\n",
    )
    config = load_config(path, environ={})
    assert config.inventory == (tmp_path / "hosts.ini", tmp_path / "../other")
    assert config.remote_user == "deploy"
    assert config.remote_port == 2222
    assert config.private_key_file == str(key)
    assert config.host_key_checking is False
    assert config.forks == 20 and config.timeout == 30
    assert config.roles_path == (tmp_path / "roles", Path("/opt/roles"))
    assert config.vault_password_file == Path("~/.vault_pass").expanduser()
    assert config.ssh.jump == "bastion.example.com"
    assert config.become is True and config.become_user == "app"
    assert str(config.where("forks")) == f"{path}:9"
    assert any("ControlMaster" in w.lower() or "controlmaster" in w for w in config.warnings)


def test_vault_identity_list(tmp_path: Path) -> None:
    path = cfg(tmp_path, "[defaults]\nvault_identity_list = dev@~/.dev, prod@prompt\n")
    assert load_config(path, environ={}).vault_identity_list == ("dev@~/.dev", "prod@prompt")


def test_environment_beats_the_file(tmp_path: Path) -> None:
    path = cfg(tmp_path, "[defaults]\nforks = 20\nremote_user = a\n")
    config = load_config(path, environ={"ANSIBLE_FORKS": "9"}, cwd=tmp_path)
    assert config.forks == 9 and config.remote_user == "a"
    assert str(config.where("forks")) == "$ANSIBLE_FORKS"


BAD = [
    ("not-ini", "forks = 3\n", 1, "no section header"),
    ("duplicate", "[defaults]\nforks = 1\nforks = 2\n", 3, "already exists"),
    ("forks-word", "[defaults]\nforks = many\n", 2, "whole number"),
    ("forks-zero", "[defaults]\nforks = 0\n", 2, "1-500"),
    ("bool", "[defaults]\nhost_key_checking = maybe\n", 2, "true or false"),
    ("user-dash", "[defaults]\nremote_user = -oProxyCommand=x\n", 2, "'-'"),
    ("user-space", "[defaults]\nremote_user = a b\n", 2, "space"),
    ("port", "[defaults]\nremote_port = 70000\n", 2, "1-65535"),
    ("key-dash", "[defaults]\nprivate_key_file = -i\n", 2, "starts with '-'"),
    ("method", "[privilege_escalation]\nbecome_method = doas\n", 2, "not supported"),
    ("ssh-forward", "[ssh_connection]\nssh_args = -L 80:x:80\n", 2, "cannot be honoured"),
    ("ssh-remote-cmd", "[ssh_connection]\nssh_args = -o RemoteCommand=id\n", 2, "cannot be"),
    ("ssh-jump-dash", "[ssh_connection]\nssh_args = -J -oProxyCommand=x\n", 2, "'-'"),
    ("ssh-both", "[ssh_connection]\nssh_args = -J a -o ProxyCommand=nc\n", 2, "both"),
    ("ssh-quote", "[ssh_connection]\nssh_args = -o 'ProxyCommand=nc\n", 2, "split"),
    ("ssh-user-newline", "[ssh_connection]\nssh_args = -o User=a\\x85b\n", 2, None),
]


@pytest.mark.parametrize(("text", "line", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_values_name_file_and_line(
    tmp_path: Path, text: str, line: int, words: str | None
) -> None:
    path = cfg(tmp_path, text.replace("\\x85", "\x85"))
    with pytest.raises(InputError) as caught:
        load_config(path, environ={})
    if words:
        assert words in str(caught.value)
    assert caught.value.location is not None
    assert caught.value.location.file == str(path)
    assert caught.value.location.line == line


@pytest.mark.parametrize(
    ("words", "field", "value"),
    [
        ("-J a,b:2200", "jump", "a,b:2200"),
        ("-oProxyJump=a", "jump", "a"),
        ("-o ProxyCommand='nc %h %p'", "proxy_command", "nc %h %p"),
        ("-l deploy", "user", "deploy"),
        ("-o User=deploy", "user", "deploy"),
        ("-p 2200", "port", 2200),
        ("-o 'Port 2200'", "port", 2200),
        ("-o ConnectTimeout=5", "connect_timeout", 5.0),
        ("-o StrictHostKeyChecking=no", "accept_new_host_keys", True),
        ("-o StrictHostKeyChecking=yes", "accept_new_host_keys", False),
        ("-C -q -o ServerAliveInterval=30", "ignored", ("-C", "-q", "-o serveraliveinterval")),
    ],
)
def test_ssh_words(words: str, field: str, value: object) -> None:
    assert getattr(parse_ssh_words(words, None), field) == value
