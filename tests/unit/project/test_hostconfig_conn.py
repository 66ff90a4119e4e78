"""host_config: every connection value checked, errors at the variable's file:line;
ansible_ssh_common_args parsed into checked jump hops or a ProxyCommand."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.errors import InputError, Location
from provision.project import hostconfig
from provision.project.connvalues import JumpHost
from provision.project.hostconfig import host_config, parse_ssh_args
from provision.project.templating import Variables

WHERE = Location("inventory.yml", 4)

GOOD_ARGS = [
    ("-J bastion", ("bastion", None)),
    ("-Jbastion", ("bastion", None)),
    ("-J ops@bastion:2222", ("ops@bastion:2222", None)),
    ("-o ProxyJump=a,b:2200", ("a,b:2200", None)),
    ("-oProxyJump=a", ("a", None)),
    ("-o 'ProxyJump a'", ("a", None)),
    ("-o ProxyCommand='nc %h %p'", (None, "nc %h %p")),
    ("-o StrictHostKeyChecking=no -J a", ("a", None)),
    ("-J none -o ProxyCommand='nc %h %p'", ("none", "nc %h %p")),
]

BAD_ARGS = [
    ("-J", "needs a jump host"),
    ("-J a:99999", "must be a number 1-65535"),
    ("-J a:65537", "must be a number 1-65535"),
    ("-J a,b:x", "jump host 2 'b:x'"),
    ("-J -oProxyCommand=id", "starts with '-'"),
    ("-o ProxyJump=", "is empty"),
    ("-o ProxyJump=a:0", "must be a number 1-65535"),
    ("-J a -o ProxyCommand='nc %h %p'", "both ProxyJump and ProxyCommand"),
    ("-o ProxyCommand=", "ProxyCommand in ansible_ssh_common_args is empty"),
    ('-o "ProxyCommand=nc %h %p\nLocalCommand x"', "line break"),
    ("-o Compression=yes", "unsupported ssh option 'Compression'"),
    ("-p 22", "unsupported ssh argument '-p'"),
    ("'unclosed", "cannot be parsed"),
    ("-o", "unsupported ssh argument '-o'"),
]


@pytest.mark.parametrize(("args", "expected"), GOOD_ARGS)
def test_good_ssh_args(args: str, expected: tuple) -> None:
    assert parse_ssh_args(args, WHERE) == expected


@pytest.mark.parametrize(("args", "words"), BAD_ARGS)
def test_bad_ssh_args(args: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_ssh_args(args, WHERE)
    assert words in str(caught.value)
    assert caught.value.location == WHERE


def config(tmp_path: Path, check_files: bool = True, name: str = "h1", **values: object):
    origins = {k: Location("inventory.yml", 10 + i) for i, k in enumerate(values)}
    return host_config(name, Variables(dict(values), origins), tmp_path, False, WHERE, check_files)


def test_values_become_the_connection(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")
    made = config(
        tmp_path,
        ansible_host="[2001:db8::5]",
        ansible_port="2222",
        ansible_user="ops",
        ansible_ssh_private_key_file="id",
        ansible_ssh_common_args="-J u@a:1,b",
    )
    assert (made.address, made.port, made.user, made.key_file) == (
        "2001:db8::5",
        2222,
        "ops",
        str(key),
    )
    assert made.jump_hosts == (JumpHost("a", 1, "u"), JumpHost("b"))


@pytest.mark.parametrize(
    ("values", "words", "line"),
    [
        ({"ansible_host": "h:2222"}, "ansible_host of host 'h1' holds a port", 10),
        ({"ansible_port": 1, "ansible_host": "u@h"}, "holds a user name", 11),
        ({"ansible_port": True}, "port number 1-65535", 10),
        ({"ansible_port": 22.0}, "port number 1-65535", 10),
        ({"ansible_user": "a b"}, "ansible_user of host 'h1' contains a space", 10),
        ({"ansible_ssh_user": "-x"}, "ansible_ssh_user of host 'h1' starts with '-'", 10),
        ({"ansible_ssh_private_key_file": "nope"}, "does not exist", 10),
        ({"ansible_private_key_file": "."}, "is a directory", 10),
        ({"ansible_ssh_private_key_file": "a\x00b"}, "NUL", 10),
    ],
)
def test_bad_values_name_their_line(tmp_path: Path, values: dict, words: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        config(tmp_path, **values)
    assert words in str(caught.value)
    assert caught.value.location == Location("inventory.yml", line)


def test_a_host_name_used_as_address_is_checked(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        config(tmp_path, name="web 01")
    assert "has no ansible_host, so its name is the address" in str(caught.value)
    assert caught.value.location == WHERE


def test_local_hosts_skip_address_user_and_file_checks(tmp_path: Path) -> None:
    made = config(
        tmp_path,
        name="not an address",
        ansible_connection="local",
        ansible_host="x:1",
        ansible_user="a b",
        ansible_ssh_private_key_file="missing",
        provision_known_hosts="kh",
    )
    (tmp_path / "kh").write_text("corrupt\n")
    assert made.connection == "local"
    config(tmp_path, ansible_connection="local", provision_known_hosts="kh")


def test_files_checked_only_when_asked(tmp_path: Path) -> None:
    config(tmp_path, check_files=False, ansible_ssh_private_key_file="missing")
    with pytest.raises(InputError, match="does not exist"):
        config(tmp_path, ansible_ssh_private_key_file="missing")


def test_corrupt_known_hosts_names_file_and_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(hostconfig.Path, "home", lambda: tmp_path / "home")
    (tmp_path / "kh").write_text("# first\nh ssh-ed25519 AAAA!\n")
    with pytest.raises(InputError) as caught:
        config(tmp_path, provision_known_hosts="kh")
    assert caught.value.location == Location(str(tmp_path / "kh"), 2)
    (tmp_path / "kh").write_text("# fixed\n")
    config(tmp_path, provision_known_hosts="kh")


def test_corrupt_user_known_hosts_is_refused_too(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "known_hosts").write_text("only-one-field\n")
    monkeypatch.setattr(hostconfig.Path, "home", lambda: home)
    with pytest.raises(InputError) as caught:
        config(tmp_path)
    assert str(caught.value.location) == f"{home}/.ssh/known_hosts:1"
