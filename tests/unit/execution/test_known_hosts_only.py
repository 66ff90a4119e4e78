"""`provision_known_hosts_only`: a host checked against its own known_hosts file alone.

The user's ~/.ssh/known_hosts is not read for such a host; an old key in it for the host's
address is mentioned once as a hint (with the `ssh-keygen -R` line) and never rewritten.
Without the variable, nothing changes: both files are read, the user's first.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import paramiko
import pytest

from provision.errors import InputError
from provision.execution import ssh
from provision.project.hostconfig import HostConfig, host_config
from provision.project.templating import Variables

ADDRESS = "10.200.0.11"


def new_key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def line(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


def config(own: Path | None, only: bool = True, port: int = 22) -> HostConfig:
    return HostConfig(
        name="rocky1",
        address=ADDRESS,
        port=port,
        user="rocky",
        connection="ssh",
        key_file=None,
        password=None,
        become=False,
        become_password=None,
        known_hosts=str(own) if own else None,
        jump=None,
        proxy_command=None,
        known_hosts_only=only,
    )


def own_keys(text: str, tmp_path: Path) -> paramiko.HostKeys:
    path = tmp_path / "own_known_hosts"
    path.write_text(text)
    return paramiko.HostKeys(str(path))


LAB_KEY = new_key()
OLD_KEY = new_key()
OTHER_TYPE_KEY = paramiko.RSAKey.generate(1024)
HASHED = paramiko.HostKeys.hash_host(ADDRESS)


# (case, own file, user file or None for no file, port, hint expected)
CASES: list[tuple[str, str, str | None, int, bool]] = [
    ("no user file", line(ADDRESS, LAB_KEY), None, 22, False),
    ("empty user file", line(ADDRESS, LAB_KEY), "", 22, False),
    ("same key", line(ADDRESS, LAB_KEY), line(ADDRESS, LAB_KEY), 22, False),
    ("old key", line(ADDRESS, LAB_KEY), line(ADDRESS, OLD_KEY), 22, True),
    ("old key, name list", line(f"{ADDRESS},rocky1", LAB_KEY), line(ADDRESS, OLD_KEY), 22, True),
    ("old key, hashed", line(ADDRESS, LAB_KEY), line(HASHED, OLD_KEY), 22, True),
    ("old key, CRLF", line(ADDRESS, LAB_KEY),
     line(ADDRESS, OLD_KEY).replace("\n", "\r\n"), 22, True),
    ("old key among others", line(ADDRESS, LAB_KEY),
     line("10.200.0.12", LAB_KEY) + "# comment\n\n" + line(ADDRESS, OLD_KEY), 22, True),
    ("old key of another address", line(ADDRESS, LAB_KEY), line("10.200.0.12", OLD_KEY), 22, False),
    ("address prefix only", line(ADDRESS, LAB_KEY), line("10.200.0.111", OLD_KEY), 22, False),
    ("key type the own file lacks", line(ADDRESS, LAB_KEY),
     line(ADDRESS, OTHER_TYPE_KEY), 22, False),
    ("host not in own file", line("10.200.0.12", LAB_KEY), line(ADDRESS, OLD_KEY), 22, False),
    ("old key, port 2222", line(f"[{ADDRESS}]:2222", LAB_KEY),
     line(f"[{ADDRESS}]:2222", OLD_KEY), 2222, True),
    ("port 22 entry, port 2222 host", line(f"[{ADDRESS}]:2222", LAB_KEY),
     line(ADDRESS, OLD_KEY), 2222, False),
    ("garbled user file", line(ADDRESS, LAB_KEY), "\x00\xff garbage\n" * 50, 22, False),
    # a file paramiko cannot read is not read for this host at all: no hint, no error
    ("bad base64 in user file", line(ADDRESS, LAB_KEY),
     f"{ADDRESS} ecdsa-sha2-nistp256 !!!notbase64\n" + line(ADDRESS, OLD_KEY), 22, False),
    ("huge user file", line(ADDRESS, LAB_KEY),
     line("10.9.9.9", OLD_KEY) * 20000 + line(ADDRESS, OLD_KEY), 22, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("own", "user", "port", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_stale_entry_hint(
    own: str, user: str | None, port: int, expected: bool, tmp_path: Path
) -> None:
    user_file = tmp_path / "home" / ".ssh" / "known_hosts"
    if user is not None:
        user_file.parent.mkdir(parents=True)
        user_file.write_bytes(user.encode("utf-8", "surrogateescape"))
    before = user_file.read_bytes() if user is not None else None
    text = ssh.stale_entry_hint(
        config(tmp_path / "own", port=port), user_file, own_keys(own, tmp_path)
    )
    if not expected:
        assert text is None
    else:
        assert text is not None
        name = ADDRESS if port == 22 else f"'[{ADDRESS}]:{port}'"
        assert text.endswith(f"ssh-keygen -f {user_file} -R {name}")
        assert "rocky1" in text and str(user_file) in text and "ignored" in text
        assert "provision_known_hosts_only" in text and str(tmp_path / "own") in text
        assert "\n" not in text
    if before is not None:
        assert user_file.read_bytes() == before, "the user's known_hosts was changed"


def test_hint_names_the_plain_ssh_keygen_line_for_the_users_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_file = tmp_path / "known_hosts"
    user_file.write_text(line(ADDRESS, OLD_KEY))
    monkeypatch.setattr(ssh, "_default_user_known_hosts", lambda: user_file)
    text = ssh.stale_entry_hint(
        config(tmp_path / "own"), user_file, own_keys(line(ADDRESS, LAB_KEY), tmp_path)
    )
    assert text is not None and text.endswith(f"-R {ADDRESS}")
    assert text.split(": ")[-1] == f"ssh-keygen -R {ADDRESS}"


# ------------------------------------------------------------------ loading the files


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    user_file = home / ".ssh" / "known_hosts"
    user_file.write_text(line(ADDRESS, OLD_KEY))
    own = tmp_path / "lab_known_hosts"
    own.write_text(line(f"{ADDRESS},rocky1", LAB_KEY))
    monkeypatch.setenv("HOME", str(home))
    hints: list[str] = []
    monkeypatch.setattr(ssh, "hint", hints.append)
    monkeypatch.setattr(ssh, "_hinted", set())
    return {"user": user_file, "own": own, "hints": hints}


def setup_keys(cfg: HostConfig, target: bool = True) -> paramiko.HostKeys:
    conn = SimpleNamespace(client=paramiko.SSHClient())
    ssh.SSHConnection(cfg)._client_setup(conn, target=target)
    return conn.client.get_host_keys()


def test_only_the_own_file_is_read_and_the_hint_comes_once(files: dict[str, Any]) -> None:
    before = files["user"].read_bytes()
    cfg = config(files["own"])
    for _ in range(3):
        keys = setup_keys(cfg)
        found = keys.lookup(ADDRESS)
        assert found is not None and found[LAB_KEY.get_name()] == LAB_KEY
        assert [e.key for e in keys._entries] == [LAB_KEY]
    assert len(files["hints"]) == 1, files["hints"]
    assert f"-R {ADDRESS}" in files["hints"][0]
    assert files["user"].read_bytes() == before


def test_without_the_variable_both_files_are_read_the_users_first(files: dict[str, Any]) -> None:
    # today's behaviour, kept for real hosts: the old key wins, so the connection is refused
    keys = setup_keys(config(files["own"], only=False))
    found = keys.lookup(ADDRESS)
    assert found is not None and found[OLD_KEY.get_name()] == OLD_KEY
    assert files["hints"] == []


def test_a_jump_host_is_checked_as_before(files: dict[str, Any]) -> None:
    keys = setup_keys(config(files["own"]), target=False)
    assert keys.lookup(ADDRESS)[OLD_KEY.get_name()] == OLD_KEY  # type: ignore[index]
    assert files["hints"] == []


def test_an_unknown_key_is_recorded_in_the_own_file_only(files: dict[str, Any]) -> None:
    files["own"].write_text("")
    before = files["user"].read_bytes()
    conn = SimpleNamespace(client=paramiko.SSHClient())
    ssh.SSHConnection(config(files["own"]), accept_new_host_keys=True)._client_setup(conn)
    policy = conn.client._policy
    policy.missing_host_key(conn.client, ADDRESS, LAB_KEY)
    assert files["own"].read_text() == line(ADDRESS, LAB_KEY)
    assert files["user"].read_bytes() == before


# ------------------------------------------------------------------ the inventory variable

TRUTHY = [True, "true", "True", "yes", "on", "1", " yes "]
FALSY = [False, "false", "no", "off", "0"]
BAD = ["maybe", "", "tru", "yes please", "-1", "2", "true\n1", "\u2028", 2, 1.5, [True], {"a": 1}]


def parse(values: dict[str, Any], tmp_path: Path) -> HostConfig:
    return host_config(
        "rocky1", Variables({"ansible_host": ADDRESS, **values}), tmp_path, False, None
    )


@pytest.mark.parametrize("value", TRUTHY)
def test_variable_true(value: Any, tmp_path: Path) -> None:
    cfg = parse(
        {"provision_known_hosts": ".lab/known_hosts", "provision_known_hosts_only": value}, tmp_path
    )
    assert cfg.known_hosts_only is True
    assert cfg.known_hosts == str(tmp_path / ".lab" / "known_hosts")


@pytest.mark.parametrize("value", FALSY)
def test_variable_false(value: Any, tmp_path: Path) -> None:
    cfg = parse({"provision_known_hosts_only": value}, tmp_path)
    assert cfg.known_hosts_only is False


def test_variable_absent_is_false(tmp_path: Path) -> None:
    assert parse({}, tmp_path).known_hosts_only is False


@pytest.mark.parametrize("value", BAD)
def test_variable_bad_value(value: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="provision_known_hosts_only must be true or false"):
        parse({"provision_known_hosts": "kh", "provision_known_hosts_only": value}, tmp_path)


@pytest.mark.parametrize("known_hosts", [None, ""])
def test_variable_needs_the_own_file(known_hosts: str | None, tmp_path: Path) -> None:
    values: dict[str, Any] = {"provision_known_hosts_only": "yes"}
    if known_hosts is not None:
        values["provision_known_hosts"] = known_hosts
    with pytest.raises(InputError, match="provision_known_hosts is not set"):
        parse(values, tmp_path)
