"""`provision check` in mirror mode: a host that reads the mirror gets the `offline
mirror` result (the mirror's repository answers from it, the keys are there); the mirror
host keeps the `offline bundle` result. The fact runs for real against an HTTP server on
loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.check.offline import (
    CHECK_MIRROR,
    MirrorCheckFact,
    MirrorCheckState,
    check_offline,
    mirror_of,
    offline_facts,
)
from provision.check.rules import Level
from provision.facts.base import FactError
from provision.facts.host import FactFailure

BASE = {
    "offline_bundle": "/srv/b.tar",
    "offline_repo_mode": "mirror",
    "offline_repo_mirror_host": "m1",
    "inventory_hostname": "c1",
    "hostvars": {"m1": {"ansible_host": "10.0.0.5"}},
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("http://10.0.0.5:8480", "/etc/pki/rpm-gpg/provision-offline-bundle.asc")),
        ({"offline_repo_mirror_port": "9000"}, ("http://10.0.0.5:9000", None)),
        ({"offline_repo_mirror_address": "mirror.internal"}, ("http://mirror.internal:8480", None)),
        ({"hostvars": {}}, ("http://m1:8480", None)),  # no ansible_host: its name
        ({"offline_repo_mirror_keyring": "/k.asc"}, (None, "/k.asc")),
        ({"inventory_hostname": "m1"}, None),  # the mirror itself: the bundle check
        ({"offline_repo_mode": "local"}, None),
        ({"offline_repo_mode": None}, None),
        ({"offline_repo_mirror_host": ""}, None),
        ({"offline_repo_mirror_address": "a b"}, None),  # the role's check names it
        ({"offline_repo_mirror_address": "x\n"}, None),
        ({"offline_repo_mirror_port": "80; reboot"}, None),
    ],
)
def test_mirror_of(changes: dict, expected: tuple | None) -> None:
    found = mirror_of({**BASE, **changes})
    if expected is None:
        assert found is None
        return
    assert found is not None
    for got, want in zip(found, expected, strict=True):
        if want is not None:
            assert got == want


def test_facts_per_role() -> None:
    assert list(offline_facts(BASE)) == ["offline_mirror"]
    assert list(offline_facts({**BASE, "inventory_hostname": "m1"})) == ["offline"]
    assert offline_facts({**BASE, "offline_bundle": ""}) == {}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "srv" / "rpms").mkdir(parents=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=tmp_path / "srv",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the test server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def run(fact: MirrorCheckFact) -> MirrorCheckState:
    done = subprocess.run(["sh", "-c", fact.command()], capture_output=True)
    return fact.parse(done.returncode, done.stdout, done.stderr)


def test_fact_against_a_server(server: str, tmp_path: Path) -> None:
    keyring = tmp_path / "keys.asc"
    keyring.write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    assert run(MirrorCheckFact(server, str(keyring))) == MirrorCheckState(True, True)
    assert run(MirrorCheckFact(server, str(tmp_path / "none.asc"))) == MirrorCheckState(True, False)
    silent = run(MirrorCheckFact("http://127.0.0.1:9", str(keyring)))
    assert not silent.answers and silent.keys and silent.error


def test_parse_refuses_an_unclear_answer() -> None:
    with pytest.raises(FactError):
        MirrorCheckFact("http://m:1", "/k").parse(0, b"answers\nsomething else\n", b"")
    with pytest.raises(FactError):
        MirrorCheckFact("http://m:1", "/k").parse(2, b"", b"boom")


@pytest.mark.parametrize(
    ("state", "level", "words"),
    [
        (MirrorCheckState(True, True), Level.PASS, "http://10.0.0.5:8480/rpms/ answers"),
        (MirrorCheckState(False, True, "Connection refused"), Level.FAIL, "Connection refused"),
        (MirrorCheckState(True, False), Level.FAIL, "keys are missing"),
        (FactFailure("timed out"), Level.WARN, "could not be read"),
    ],
)
def test_results(state: object, level: Level, words: str) -> None:
    [result] = check_offline(BASE, {"offline_mirror": state})
    assert result.check == CHECK_MIRROR and result.level == level
    assert words in f"{result.measured} {result.advice}"
