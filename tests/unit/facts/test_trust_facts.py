"""The trust facts' pure parts, from tables: OpenPGP fingerprints, the rpm key listing, and
which sysctl file sets a key at boot (sysctl_boot_cases/*.yml: file sets in → order and
effective assignments out)."""

from __future__ import annotations

import base64
import hashlib
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from provision.facts.base import FactError
from provision.facts.openpgp import (
    KeyFileError,
    grouped,
    normalise_fingerprint,
    primary_fingerprints,
    valid_fingerprint,
)
from provision.facts.rpm_keys import FETCH_FAILED, FETCHED_MARK, KEY_MARK, RpmKeysFact, short_id
from provision.facts.sysctl_boot import (
    MARK,
    BootFile,
    SysctlBoot,
    SysctlBootFact,
    dotted,
    effective,
    parse_listing,
    read_order,
)

HERE = Path(__file__).parent
KEYS = HERE / "openpgp"
BOOT_CASES = sorted((HERE / "sysctl_boot_cases").glob("*.yml"))
ED = "EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"
RSA = "725F391E1066955489D49DA4C97848CDE1D33E7D"
LAB = "FB93DD323340E2138B02E8EB6374A1577B58CADC"
DOCKER = "060A61C51B558A7F742B77AAC52FEB6B621E9F35"

# --- OpenPGP: fingerprints as gpg --with-colons --show-keys prints them ----------------

KEY_FILES = [
    ("ed25519.asc", [ED]),
    ("rsa-with-subkey.asc", [RSA]),  # the subkey is not a primary key
    ("rsa-with-subkey.gpg", [RSA]),  # binary, not armored
    ("two-keys.asc", [ED, RSA]),
    ("lab-docker.asc", [LAB]),  # the lab's docker-ce key as the lab image serves it
]


@pytest.mark.parametrize(("name", "expected"), KEY_FILES, ids=[k for k, _ in KEY_FILES])
def test_fingerprints_of_key_files(name: str, expected: list[str]) -> None:
    assert primary_fingerprints((KEYS / name).read_bytes()) == expected


def _armored(name: str) -> str:
    return (KEYS / name).read_text()


def _packet(tag: int, body: bytes) -> bytes:
    return bytes([0xC0 | tag, len(body)]) + body


BAD_KEY_FILES = [
    ("empty", b"", "no public key packet"),
    ("html", b"<html>login</html>", "not an OpenPGP packet"),
    ("no end", _armored("ed25519.asc").split("-----END")[0].encode(), "no END line"),
    (
        "checksum",
        _armored("ed25519.asc").replace("mDMEaw2w", "mDMEaw2x").encode(),
        "checksum does not match",
    ),
    (
        "bad base64",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
        "not valid base64",
    ),
    ("private block", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n", "PRIVATE key block"),
    ("secret key packet", _packet(5, b"\x04" + b"\0" * 20), "secret key"),
    ("version 3", _packet(6, b"\x03" + b"\0" * 20), "version 3 public key"),
    ("truncated packet", bytes([0xC6, 50]) + b"\x04" * 10, "ends inside a packet"),
    ("truncated header", bytes([0xC6]), "ends inside a packet header"),
    ("partial length", bytes([0xC6, 230]) + b"\x04" * 10, "partial packet lengths"),
    ("too large", b"\x99" * (1024 * 1024 + 1), "larger than"),
]


@pytest.mark.parametrize(
    ("data", "message"), [(d, m) for _, d, m in BAD_KEY_FILES], ids=[i for i, _, _ in BAD_KEY_FILES]
)
def test_bad_key_files(data: bytes, message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        primary_fingerprints(data)


def test_v4_fingerprint_formula_old_format_header() -> None:
    body = b"\x04" + bytes(range(40))
    data = bytes([0x99, 0, len(body)]) + body  # old format, tag 6, two-octet length
    expected = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    assert primary_fingerprints(data) == [expected]


def test_v6_fingerprint_formula() -> None:
    body = b"\x06" + bytes(range(60))
    expected = hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    assert primary_fingerprints(_packet(6, body)) == [expected]


NORMALISE = [
    ("060A 61C5 1B55 8A7F 742B  77AA C52F EB6B 621E 9F35", DOCKER, True),
    ("060a61c51b558a7f742b77aac52feb6b621e9f35", DOCKER, True),
    ("06:0A:61:C5:1B:55:8A:7F:74:2B:77:AA:C5:2F:EB:6B:62:1E:9F:35", DOCKER, True),
    ("0x060A61C51B558A7F742B77AAC52FEB6B621E9F35", DOCKER, True),
    ("621E9F35", "621E9F35", False),
    ("C52FEB6B621E9F35", "C52FEB6B621E9F35", False),
    ("060A61C51B558A7F742B77AAC52FEB6B621E9F3G", "060A61C51B558A7F742B77AAC52FEB6B621E9F3G", False),
    ("", "", False),
]


@pytest.mark.parametrize(("raw", "normal", "valid"), NORMALISE)
def test_normalise_fingerprint(raw: str, normal: str, valid: bool) -> None:
    assert normalise_fingerprint(raw) == normal
    assert valid_fingerprint(normal) is valid


def test_grouped_and_short_id() -> None:
    assert grouped(DOCKER) == "060A 61C5 1B55 8A7F 742B 77AA C52F EB6B 621E 9F35"
    assert short_id(DOCKER) == "621e9f35"  # rpm's gpg-pubkey-621e9f35-...


# --- the rpm key listing, as rpm -qa --qf prints it --------------------------------------


def _listing(*keys: tuple[str, str]) -> bytes:
    return "".join(f"{KEY_MARK}{name}\n{_armored(file)}\n" for name, file in keys).encode()


def test_rpm_keys_listing_no_fetch() -> None:
    fact = RpmKeysFact(ED, "https://example.com/gpg")
    out = _listing(
        ("gpg-pubkey-d916b83a-6b0db0ba", "ed25519.asc"), ("gpg-pubkey-x-y", "two-keys.asc")
    )
    keys = fact.parse(0, out, b"")
    assert [k.name for k in keys.installed] == ["gpg-pubkey-d916b83a-6b0db0ba", "gpg-pubkey-x-y"]
    assert keys.installed[1].fingerprints == (ED, RSA)
    assert keys.with_fingerprint(RSA) == (keys.installed[1],)
    assert keys.fetched is None and keys.fetch_error is None


def test_rpm_keys_listing_with_fetched_file() -> None:
    fact = RpmKeysFact(ED, "https://example.com/gpg")
    data = (KEYS / "ed25519.asc").read_bytes()
    out = b"" + FETCHED_MARK.encode() + b"\n" + base64.b64encode(data)
    keys = fact.parse(0, out, b"")
    assert keys.installed == () and keys.fetched == data


def test_rpm_keys_unreadable_installed_key_has_no_fingerprint() -> None:
    keys = RpmKeysFact(ED, "/k").parse(0, f"{KEY_MARK}gpg-pubkey-a-b\ngarbage\n".encode(), b"")
    assert keys.installed[0].fingerprints == ()


@pytest.mark.parametrize(
    ("rc", "stdout", "stderr", "outcome"),
    [
        (FETCH_FAILED, b"", b"curl exit 22 fetching https://example.com/gpg\n", "curl exit 22"),
        (127, b"", b"", FactError),
        (3, b"", b"rpmdb open failed", FactError),
        (0, FETCHED_MARK.encode() + b"\n!!notbase64", b"", FactError),
    ],
    ids=["fetch failed", "no rpm", "rpm failed", "garbled key data"],
)
def test_rpm_keys_errors(rc: int, stdout: bytes, stderr: bytes, outcome: object) -> None:
    fact = RpmKeysFact(ED, "https://example.com/gpg")
    if outcome is FactError:
        with pytest.raises(FactError):
            fact.parse(rc, stdout, stderr)
    else:
        assert str(outcome) in str(fact.parse(rc, stdout, stderr).fetch_error)


EVIL = "https://example.com/gpg'; touch /tmp/pwned; echo '"


@pytest.mark.parametrize(
    "fact",
    [
        RpmKeysFact(ED, EVIL),
        RpmKeysFact(ED, "/k'; touch /tmp/pwned; echo '"),
        RpmKeysFact(ED, "https://example.com/gpg", proxy=EVIL),
        RpmKeysFact(ED, "https://example.com/gpg", also_read="/d'; touch /tmp/pwned; echo '"),
    ],
    ids=["url", "path", "proxy", "dest"],
)
def test_rpm_keys_command_quotes_values(fact: RpmKeysFact) -> None:
    assert "'\"'\"'" in fact.command()
    shlex.split(fact.command())  # well-formed shell words


def test_rpm_keys_command_runs_in_sh(tmp_path: Path) -> None:
    """The command on a host without the pinned key: a local key file is read and parsed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "rpm").write_text("#!/bin/sh\nexit 0\n")  # an empty rpm database
    (bin_dir / "rpm").chmod(0o755)
    key = tmp_path / "key.asc"
    key.write_bytes((KEYS / "ed25519.asc").read_bytes())
    fact = RpmKeysFact(ED, str(key))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    proc = subprocess.run(["sh", "-c", fact.command()], capture_output=True, env=env)
    keys = fact.parse(proc.returncode, proc.stdout, proc.stderr)
    assert keys.fetched == key.read_bytes()
    missing = RpmKeysFact(ED, str(tmp_path / "nope"))
    proc = subprocess.run(["sh", "-c", missing.command()], capture_output=True, env=env)
    assert "no such file" in str(
        missing.parse(proc.returncode, proc.stdout, proc.stderr).fetch_error
    )


# --- sysctl files read at boot ------------------------------------------------------------


def _boot(case: dict) -> SysctlBoot:
    return SysctlBoot(tuple(BootFile(p, r, c) for p, r, c in case["files"]))


@pytest.mark.parametrize("path", BOOT_CASES, ids=[p.stem for p in BOOT_CASES])
def test_boot_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    order = read_order(_boot(case))
    assert [f.path for f in order] == case["order"]
    for key, wanted in case["expect"].items():
        got = effective(order, key)
        if wanted is None:
            assert got is None, (key, got)
        else:
            assert got is not None, key
            assert [got.value, got.path, got.line] == wanted, key


@pytest.mark.parametrize(
    ("key", "normal"),
    [
        ("net.ipv4.ip_forward", "net.ipv4.ip_forward"),
        ("net/ipv4/ip_forward", "net.ipv4.ip_forward"),
        ("net.ipv4.conf.enp3s0/200.forwarding", "net.ipv4.conf.enp3s0/200.forwarding"),
        ("net/ipv4/conf/enp3s0.200/forwarding", "net.ipv4.conf.enp3s0/200.forwarding"),
        ("kernel", "kernel"),
        ("  vm.swappiness ", "vm.swappiness"),
    ],
)
def test_dotted(key: str, normal: str) -> None:
    assert dotted(key) == normal


def _header(path: str, realpath: str, stat: str) -> str:
    b = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    return f"{MARK}{b(path)} {b(realpath)} {stat}\n"


def test_listing_parse() -> None:
    out = (
        _header("/etc/sysctl.d/99-sysctl.conf", "/etc/sysctl.conf", "644|root|root")
        + base64.b64encode(b"net.ipv4.ip_forward = 0\n").decode()
        + "\n"
        + _header("/etc/sysctl.d/50-x.conf", "/dev/null", "666|root|root")
        + "\n"
        + _header("/etc/sysctl.d/60-dangling.conf", "/nowhere", "-")
        + "\n"
        + _header("/etc/sysctl.d/70-empty.conf", "/etc/sysctl.d/70-empty.conf", "600|root|adm")
        + "\n"
    )
    boot = parse_listing(out)
    assert [(f.path, f.realpath, f.content) for f in boot.files] == [
        ("/etc/sysctl.d/99-sysctl.conf", "/etc/sysctl.conf", "net.ipv4.ip_forward = 0\n"),
        ("/etc/sysctl.d/50-x.conf", "/dev/null", ""),
        ("/etc/sysctl.d/60-dangling.conf", "/nowhere", None),
        ("/etc/sysctl.d/70-empty.conf", "/etc/sysctl.d/70-empty.conf", ""),
    ]
    assert boot.files[3].mode == 0o600 and boot.files[3].group == "adm"
    assert boot.files[1].masked


@pytest.mark.parametrize(
    "out",
    [
        "garbage\n",
        f"{MARK}only-two fields\n\n",
        f"{MARK}!!! !!! 644|root|root\n\n",
        _header("/a.conf", "/a.conf", "rw|root|root") + "\n",
    ],
    ids=["no marker", "two fields", "bad base64", "bad stat"],
)
def test_listing_garbled(out: str) -> None:
    with pytest.raises(FactError):
        parse_listing(out)


def test_listing_captured_from_debian_12() -> None:
    captured = (HERE / "captured" / "sysctl-boot-debian12.txt").read_bytes()
    boot = SysctlBootFact().parse(0, captured, b"")
    order = [f.path for f in read_order(boot)]
    assert order[-1] == "/etc/sysctl.d/99-sysctl.conf"  # the link to /etc/sysctl.conf
    assert "/etc/sysctl.conf" not in order  # read once, as 99-sysctl.conf
    assert not any(p.startswith("/lib/") for p in order)  # /lib is /usr/lib: same names


def test_listing_command_in_sh_reads_odd_names(tmp_path: Path) -> None:
    """The command's own output parses, whatever the host lists (here: this machine)."""
    fact = SysctlBootFact()
    proc = subprocess.run(["sh", "-c", fact.command()], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    boot = fact.parse(proc.returncode, proc.stdout, proc.stderr)
    assert all(f.path.endswith(".conf") for f in boot.files)
