"""Connection values, one table per value class: what is accepted (and as what), what is
refused (and with which words)."""

from __future__ import annotations

import base64
import os
import socket
import struct
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.connvalues import (
    ConnValueError,
    JumpHost,
    check_host,
    check_key_file,
    check_port,
    check_proxy_command,
    check_user,
    parse_jump,
    parse_known_hosts,
    read_known_hosts,
)

BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]

# ---- hosts ------------------------------------------------------------------------------

GOOD_HOSTS = [
    ("127.0.0.1", "127.0.0.1"),
    ("10.200.0.11", "10.200.0.11"),
    ("255.255.255.255", "255.255.255.255"),
    ("localhost", "localhost"),
    ("web01", "web01"),
    ("web-01.example.com", "web-01.example.com"),
    ("web-01.example.com.", "web-01.example.com."),
    ("_srv.internal", "_srv.internal"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("a" * 63 + ".example", "a" * 63 + ".example"),
    (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61),
    ("1e100.net", "1e100.net"),
    ("::1", "::1"),
    ("[::1]", "::1"),
    ("2001:db8::10", "2001:db8::10"),
    ("[2001:db8::10]", "2001:db8::10"),
    ("fe80::1%eth0", "fe80::1%eth0"),
    ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
]

BAD_HOSTS = [
    ("", "is empty"),
    ("host:2222", "holds a port"),
    ("127.0.0.1:2222", "holds a port"),
    ("host:", "holds a port"),
    ("user@host", "holds a user name"),
    ("root@127.0.0.1", "holds a user name"),
    ("@host", "holds a user name"),
    ("a" * 64 + ".example", "label of 64 characters"),
    ("a" * 64, "label of 64 characters"),
    (".".join(["a" * 63] * 4), "longer than 253"),
    ("a b", "space at position 2"),
    (" host", "space at position 1"),
    ("host ", "space"),
    ("a\tb", "tab"),
    ("\u00a0host", "whitespace"),
    ("host\x00", "control character"),
    ("host\x1b[31m", "control character"),
    ("ho\u202est", "control character"),  # right-to-left override
    ("ho\u200bst", "control character"),  # zero-width space
    ("-oProxyCommand=touch /tmp/x", "space"),
    ("-oProxyCommand=x", "starts with '-'"),
    ("-host", "starts with '-'"),
    ("host-.example", "bad label"),
    ("-", "starts with '-'"),
    ("bücher.example", "non-ASCII"),
    ("хост", "non-ASCII"),
    ("１２７.0.0.1", "non-ASCII"),
    ("a..b", "empty label"),
    (".host", "empty label"),
    ("host..", "empty label"),
    ("ho/st", "bad label"),
    ("ho*st", "bad label"),
    ("../etc", "empty label"),
    ("$(id)", "bad label"),
    ("`id`", "bad label"),
    ("h;id", "bad label"),
    ("h'q", "bad label"),
    ('h"q', "bad label"),
    ("256.1.1.1", "not a valid IPv4"),
    ("127.1", "not a valid IPv4"),
    ("010.0.0.1", "not a valid IPv4"),
    ("1.2.3.4.5", "not a valid IPv4"),
    ("0x7f.0.0.1", "not a valid IPv4"),
    ("12345", "not a valid IPv4"),
    ("[::1", "never closes"),
    ("[::1]:22", "holds a port"),
    ("[127.0.0.1]", "not a valid IPv6"),
    ("[host]", "not a valid IPv6"),
    ("::g", "not a valid IPv6"),
    ("1:2:3", "not a valid IPv6"),
    ("fe80::1%", "bad IPv6 zone"),
    ("fe80::1%eth 0", "space"),
    ("fe80::1%e/t", "bad IPv6 zone"),
] + [(f"ho{b}st", "line break") for b in BREAKS]


@pytest.mark.parametrize(("value", "expected"), GOOD_HOSTS)
def test_good_hosts(value: str, expected: str) -> None:
    assert check_host(value) == expected


@pytest.mark.parametrize(("value", "words"), BAD_HOSTS)
def test_bad_hosts(value: str, words: str) -> None:
    with pytest.raises(ConnValueError) as caught:
        check_host(value)
    assert words in caught.value.message


@pytest.mark.parametrize(("value", "hint"), [("web:2222", "ansible_port"), ("me@web", "me")])
def test_bad_host_hints_say_where_the_part_goes(value: str, hint: str) -> None:
    with pytest.raises(ConnValueError) as caught:
        check_host(value)
    assert hint in caught.value.hint


def test_huge_host_message_is_cut() -> None:
    with pytest.raises(ConnValueError) as caught:
        check_host("a" * 100_000)
    assert len(caught.value.message) < 200
    assert "100000 characters" in caught.value.message


@pytest.mark.parametrize("value", [22, None, ["h"], {"h": 1}])
def test_host_not_a_string(value: object) -> None:
    with pytest.raises(ConnValueError):
        check_host(value)  # type: ignore[arg-type]


# ---- ports ------------------------------------------------------------------------------

GOOD_PORTS = [(1, 1), (22, 22), (2222, 2222), (65535, 65535), ("22", 22), ("65535", 65535)]
BAD_PORTS = [
    0,
    65536,
    65537,
    -1,
    -22,
    10**20,
    "0",
    "65536",
    "65537",
    "-1",
    "22a",
    "a22",
    "ssh",
    "",
    " 22",
    "22 ",
    "22\n",
    "2 2",
    "0x16",
    "+22",
    "22.0",
    "２２",
    "1" * 1000,
    22.5,
    22.0,
    float("nan"),
    float("inf"),
    True,
    False,
    None,
    [22],
    {"port": 22},
]


@pytest.mark.parametrize(("value", "expected"), GOOD_PORTS)
def test_good_ports(value: object, expected: int) -> None:
    assert check_port(value) == expected
    assert type(check_port(value)) is int


@pytest.mark.parametrize("value", BAD_PORTS, ids=repr)
def test_bad_ports(value: object) -> None:
    with pytest.raises(ConnValueError) as caught:
        check_port(value)
    assert "port number 1-65535" in caught.value.message
    assert len(caught.value.message) < 200


# ---- users ------------------------------------------------------------------------------

GOOD_USERS = ["root", "vagrant", "deploy_1", "a.b", "svc-web", "user@example.com", "DOM\\u"]
BAD_USERS = [
    ("", "is empty"),
    ("a b", "space"),
    ("a\tb", "tab"),
    ("-oProxyCommand=x", "starts with '-'"),
    ("-l", "starts with '-'"),
    ("a:b", "contains ':'"),
    ("x" * 257, "longer than 256"),
    ("ro\x00ot", "control character"),
    ("ro\u202eot", "control character"),
] + [(f"ro{b}ot", "line break") for b in BREAKS]


@pytest.mark.parametrize("value", GOOD_USERS)
def test_good_users(value: str) -> None:
    assert check_user(value) == value


@pytest.mark.parametrize(("value", "words"), BAD_USERS)
def test_bad_users(value: str, words: str) -> None:
    with pytest.raises(ConnValueError) as caught:
        check_user(value)
    assert words in caught.value.message


# ---- jump hosts -------------------------------------------------------------------------

GOOD_JUMPS = [
    ("bastion", (JumpHost("bastion"),)),
    ("ops@bastion", (JumpHost("bastion", 22, "ops"),)),
    ("ops@bastion:2222", (JumpHost("bastion", 2222, "ops"),)),
    ("root@127.0.0.1:65535", (JumpHost("127.0.0.1", 65535, "root"),)),
    ("a,b:2200", (JumpHost("a"), JumpHost("b", 2200))),
    ("u1@a:1,u2@b:2,c", (JumpHost("a", 1, "u1"), JumpHost("b", 2, "u2"), JumpHost("c"))),
    ("ssh://ops@bastion:2222", (JumpHost("bastion", 2222, "ops"),)),
    ("[::1]:2222", (JumpHost("::1", 2222),)),
    ("ops@[2001:db8::1]", (JumpHost("2001:db8::1", 22, "ops"),)),
    ("2001:db8::1", (JumpHost("2001:db8::1"),)),
    ("me@corp@bastion", (JumpHost("bastion", 22, "me@corp"),)),
    ("none", ()),
    ("NONE", ()),
]

BAD_JUMPS = [
    ("a:99999", "port of jump host 'a:99999' must be a number 1-65535"),
    ("a:65536", "must be a number 1-65535"),
    ("a:65537", "must be a number 1-65535"),
    ("a:0", "must be a number 1-65535"),
    ("a:-1", "must be a number 1-65535"),
    ("a:x", "must be a number 1-65535"),
    ("a:22.5", "must be a number 1-65535"),
    ("a,b:x", "port of jump host 2 'b:x'"),
    ("a:", "without a port"),
    ("[::1]:", "without a port"),
    ("[::1]x", "expected [IPv6]:port"),
    ("[::1", "expected [IPv6]:port"),
    ("-oProxyCommand=touch /tmp/p", "space"),
    ("-oProxyCommand=id", "starts with '-'"),
    ("a,-oProxyCommand=id", "jump host 2 '-oProxyCommand=id' starts with '-'"),
    ("", "empty"),
    ("a,,b", "jump host 2 is empty"),
    ("a,", "jump host 2 is empty"),
    (",a", "jump host 1 is empty"),
    ("@bastion", "user of jump host"),
    ("-u@bastion", "starts with '-'"),
    ("ops@", "host of jump host"),
    ("ops@a b", "space"),
    ("ops@a\tb", "tab"),
    ("a" * 64, "label of 64"),
    ("bücher", "non-ASCII"),
    ("a:b:c", "not a valid IPv6"),
    (",".join(["h"] * 17), "at most 16"),
] + [(f"a{b}b", "line break") for b in BREAKS]


@pytest.mark.parametrize(("value", "expected"), GOOD_JUMPS)
def test_good_jumps(value: str, expected: tuple[JumpHost, ...]) -> None:
    assert parse_jump(value) == expected


@pytest.mark.parametrize(("value", "words"), BAD_JUMPS)
def test_bad_jumps(value: str, words: str) -> None:
    with pytest.raises(ConnValueError) as caught:
        parse_jump(value)
    assert words in caught.value.message


def test_jump_spec_round_trips() -> None:
    for value, hops in GOOD_JUMPS:
        assert parse_jump(",".join(h.spec() for h in hops) or "none") == hops, value


# ---- proxy commands ---------------------------------------------------------------------

GOOD_PROXIES = ["ssh -W %h:%p bastion", "nc %h %p", "ssh -q -i '/a b/key' jump nc %h %p"]
BAD_PROXIES = [("", "is empty"), ("  ", "is empty"), ("ssh 'unclosed", "cannot be split")] + [
    (f"nc %h %p{b}ProxyCommand evil", "control character or line break") for b in BREAKS
]


@pytest.mark.parametrize("value", GOOD_PROXIES)
def test_good_proxy_commands(value: str) -> None:
    assert check_proxy_command(value) == value


@pytest.mark.parametrize(("value", "words"), BAD_PROXIES)
def test_bad_proxy_commands(value: str, words: str) -> None:
    with pytest.raises(ConnValueError) as caught:
        check_proxy_command(value)
    assert words in caught.value.message


# ---- key files --------------------------------------------------------------------------

PRIVATE = (
    b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    b"-----END OPENSSH PRIVATE KEY-----\n"
)


def test_a_private_key_file_is_accepted(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_bytes(PRIVATE)
    check_key_file(str(key))
    link = tmp_path / "link"
    link.symlink_to(key)
    check_key_file(str(link))


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is a directory"),
        (_fifo, "not a regular file"),
        (_socket, "not a regular file"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_bytes(b"\n\n  \n"), "is empty"),
        (lambda p: p.write_bytes(b"ssh-ed25519 AAAAC3Nz me@host\n"), "public key"),
        (lambda p: p.write_bytes(b"ecdsa-sha2-nistp256 AAAA me\n"), "public key"),
        (lambda p: p.write_bytes(PRIVATE + b"x" * (1 << 20)), "too large"),
        (lambda p: p.symlink_to(p.parent / "missing"), "does not exist"),
        (lambda p: p.symlink_to("/dev/null"), "not a regular file"),
    ],
)
def test_bad_key_files(tmp_path: Path, make, words: str) -> None:
    key = tmp_path / "key"
    make(key)
    with pytest.raises(ConnValueError) as caught:
        check_key_file(str(key))
    assert words in caught.value.message
    assert str(key) in caught.value.message


def test_key_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConnValueError, match="cannot be read"):
        check_key_file(str(tmp_path / "f" / "key"))


def test_unreadable_key_file_is_refused(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    key = tmp_path / "key"
    key.write_bytes(PRIVATE)
    key.chmod(0)
    with pytest.raises(ConnValueError, match="cannot be read"):
        check_key_file(str(key))


# ---- known_hosts ------------------------------------------------------------------------


def blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(struct.pack(">I", len(f)) + f for f in fields)).decode()


ED = blob(b"ssh-ed25519", b"k" * 32)
RSA = blob(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"n" * 256)
ECDSA = blob(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" + b"p" * 64)
CERT = blob(b"ssh-ed25519-cert-v01@openssh.com", b"nonce", b"k" * 32) + "AAAA"
SALT = base64.b64encode(b"s" * 20).decode()
HASH = base64.b64encode(b"h" * 20).decode()

GOOD_KNOWN_HOSTS = [
    ("", 0),
    ("# a comment\n\n   \n", 0),
    (f"host ssh-ed25519 {ED}\n", 1),
    (f"host ssh-ed25519 {ED}", 1),
    (f"host ssh-ed25519 {ED} a comment with words\n", 1),
    (f"host,10.0.0.1,[h]:2222 ssh-ed25519 {ED}\r\n", 1),
    (f"  host\tssh-rsa\t{RSA}\n", 1),
    (f"host ecdsa-sha2-nistp256 {ECDSA}\n", 1),
    (f"|1|{SALT}|{HASH} ssh-ed25519 {ED}\n", 1),
    (f"@cert-authority *.example ssh-ed25519 {ED}\n", 1),
    (f"@revoked * ssh-ed25519 {ED}\n", 1),
    (f"*.example,!bad.example ssh-ed25519 {ED}\n", 1),
    (f"host ssh-ed25519-cert-v01@openssh.com {CERT}\n", 1),
    (f"a ssh-ed25519 {ED}\n# c\nb ssh-rsa {RSA}\n", 2),
]

BAD_KNOWN_HOSTS = [
    ("host\n", 1, "1 field(s)"),
    ("host ssh-ed25519\n", 1, "2 field(s)"),
    (f"# ok\nhost ssh-ed25519 {ED[:-8]}\n", 2, "truncated or corrupt"),
    (f"host ssh-ed25519 {ED[:-4]}\n", 1, "truncated or corrupt"),
    (f"host ssh-ed25519 {ED}AAAA\n", 1, "truncated or corrupt"),
    (f"host ssh-ed25519 {ED}!\n", 1, "not valid base64"),
    (f"host ssh-rsa {ED}\n", 1, "is for 'ssh-ed25519', but the line says ssh-rsa"),
    (f"host ssh-ed25519 {RSA[:40]}==\n", 1, "is for 'ssh-rsa'"),
    ("host ssh-ed25519 AAAA\n", 1, "truncated or corrupt"),
    (f"host ssh-ed25519 {base64.b64encode(b'junk').decode()}\n", 1, "truncated"),
    (f"host ss$h {ED}\n", 1, "not a key type"),
    (f"@cert host ssh-ed25519 {ED}\n", 1, "unknown marker"),
    (f"@revoked ssh-ed25519 {ED}\n", 1, "2 field(s)"),
    (f"a,,b ssh-ed25519 {ED}\n", 1, "empty entry"),
    (f",a ssh-ed25519 {ED}\n", 1, "empty entry"),
    (f"|1|{SALT} ssh-ed25519 {ED}\n", 1, "is not |1|SALT|HASH"),
    (f"|1|{SALT}|xx ssh-ed25519 {ED}\n", 1, "is corrupt"),
    (f"|2|{SALT}|{HASH} ssh-ed25519 {ED}\n", 1, "is not |1|SALT|HASH"),
    (f"host ssh-ed25519 {ED} \x1b[31m\n", 1, "control character"),
    (f"host\x00 ssh-ed25519 {ED}\n", 1, "control character"),
    (f"a ssh-ed25519 {ED}\nb ssh-ed25519 {ED}\x0b\n", 2, "control character"),
    (f"host ssh-ed25519 {ED} \u0085\n", 1, "control character"),
    ("h ssh-ed25519 " + "A" * (70 << 10) + "\n", 1, "longer than"),
]


@pytest.mark.parametrize(("text", "count"), GOOD_KNOWN_HOSTS)
def test_good_known_hosts(text: str, count: int) -> None:
    assert len(parse_known_hosts(text.encode(), "kh")) == count


@pytest.mark.parametrize(("text", "line", "words"), BAD_KNOWN_HOSTS)
def test_bad_known_hosts_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_known_hosts(text.encode(), "/x/known_hosts")
    assert str(caught.value.location) == f"/x/known_hosts:{line}"
    assert words in caught.value.message, caught.value.message
    assert "expected:" in caught.value.hint


def test_known_hosts_not_utf8() -> None:
    with pytest.raises(InputError) as caught:
        parse_known_hosts(f"a ssh-ed25519 {ED}\nh\xe9 ssh-ed25519 {ED}\n".encode("latin-1"), "kh")
    assert str(caught.value.location) == "kh:2"


def test_known_hosts_files(tmp_path: Path) -> None:
    assert read_known_hosts(tmp_path / "missing") == []
    good = tmp_path / "good"
    good.write_text(f"a ssh-ed25519 {ED}\n")
    assert [e.patterns for e in read_known_hosts(good)] == [("a",)]
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    for name in ("dir", "fifo"):
        with pytest.raises(InputError, match="not a regular file"):
            read_known_hosts(tmp_path / name)
    big = tmp_path / "big"
    with open(big, "wb") as handle:
        handle.truncate((16 << 20) + 1)
    with pytest.raises(InputError, match="larger than"):
        read_known_hosts(big)


def test_known_hosts_parsed_keys_load_into_paramiko(tmp_path: Path) -> None:
    """Every line our parser accepts that paramiko knows becomes a usable key."""
    import paramiko

    from provision.execution.ssh import load_known_hosts

    key = paramiko.Ed25519Key.from_private_key_file(_keygen(tmp_path))
    path = tmp_path / "kh"
    path.write_text(
        f"@cert-authority * ssh-ed25519 {ED}\n"
        f"[127.0.0.1]:2222,other {key.get_name()} {key.get_base64()}\n"
        f"unknown sk-ssh-ed25519@openssh.com {blob(b'sk-ssh-ed25519@openssh.com', b'k', b'a')}\n"
    )
    keys = paramiko.HostKeys()
    load_known_hosts(keys, path, "h")
    assert keys.lookup("[127.0.0.1]:2222")["ssh-ed25519"] == key
    assert keys.lookup("other") is not None
    assert keys.lookup("*") is None


def _keygen(tmp_path: Path) -> str:
    import subprocess

    path = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)
