"""The registry checks: the probe's answer parsed, and PASS/FAIL from it (pure)."""

from __future__ import annotations

import subprocess

import pytest

from provision.check.registry import (
    Answer,
    RegistryFact,
    RegistryProbe,
    registry_fact_of,
    registry_results,
)
from provision.check.rules import Level
from provision.errors import InputError
from provision.facts.base import FactError
from provision.facts.host import FactFailure

REG = "10.200.0.11:5000"
PASSWORD = "N0t-the-real-pw"
FACT = RegistryFact(REG, "alice", PASSWORD)


@pytest.mark.parametrize(
    ("stdout", "want"),
    [
        (b"noca\n", RegistryProbe(False)),
        (b"tls\t401\t0\t\n", RegistryProbe(True, Answer(401, 0), None)),
        (
            b"tls\t401\t0\t\nauth\t200\t0\t\n",
            RegistryProbe(True, Answer(401, 0), Answer(200, 0)),
        ),
        (
            b"tls\t000\t60\tcurl: (60) SSL certificate problem \n",
            RegistryProbe(True, Answer(0, 60, "curl: (60) SSL certificate problem"), None),
        ),
        (b"\ntls\t401\t0\t\n\n", RegistryProbe(True, Answer(401, 0), None)),
    ],
)
def test_parse(stdout: bytes, want: RegistryProbe) -> None:
    assert FACT.parse(0, stdout, b"") == want


@pytest.mark.parametrize(
    "stdout",
    [b"", b"tls\t401\n", b"tls\tabc\t0\t\n", b"other\t200\t0\t\n", b"auth\t200\t0\t\n"],
)
def test_parse_refuses(stdout: bytes) -> None:
    with pytest.raises(FactError):
        FACT.parse(0, stdout, b"")


def test_parse_no_curl_and_failure() -> None:
    assert FACT.parse(127, b"", b"") is None
    with pytest.raises(FactError, match="exit 3"):
        FACT.parse(3, b"", b"mktemp failed")


def test_command_keeps_password_off_curls_command_line() -> None:
    cmd = FACT.command()
    curl_lines = [line for line in cmd.splitlines() if "curl -sS" in line]
    assert len(curl_lines) == 2
    assert "-K -" in curl_lines[1] and "printf" in curl_lines[1]
    assert "--cacert /etc/docker/certs.d/10.200.0.11:5000/ca.crt" in cmd
    assert "-u " not in cmd and "--user" not in cmd


@pytest.mark.parametrize(
    "password", ['with"quote', "back\\slash", "it's", "$(reboot)", "`id`", "a b\tc"]
)
def test_command_quotes_password_for_shell_and_curl(password: str, tmp_path) -> None:
    """The printf line of the command, run by sh, gives curl the exact config line."""
    fact = RegistryFact(REG, "al'ice", password)
    line = [x for x in fact.command().splitlines() if "-K -" in x][0]
    printf = line.split("code=$(", 1)[1].split(" | curl", 1)[0]
    out = subprocess.run(["sh", "-c", printf], capture_output=True, text=True, check=True)
    escaped = password.replace("\\", "\\\\").replace('"', '\\"')
    assert out.stdout == f'user = "al\'ice:{escaped}"\n'


def _levels(probe) -> list[tuple[str, Level, str]]:
    return [(r.check, r.level, r.measured) for r in registry_results(FACT, probe)]


@pytest.mark.parametrize(
    ("probe", "want"),
    [
        (
            RegistryProbe(True, Answer(401, 0), Answer(200, 0)),
            [
                (f"registry {REG}", Level.PASS, "HTTP 401 over TLS, certificate trusted"),
                (f"registry {REG} login", Level.PASS, "credentials for alice accepted"),
            ],
        ),
        (
            RegistryProbe(True, Answer(401, 0), Answer(401, 0)),
            [
                (f"registry {REG}", Level.PASS, "HTTP 401 over TLS, certificate trusted"),
                (
                    f"registry {REG} login",
                    Level.FAIL,
                    f"registry {REG}: credentials for alice rejected (401)",
                ),
            ],
        ),
        (
            RegistryProbe(True, Answer(401, 0), Answer(0, 28)),
            [
                (f"registry {REG}", Level.PASS, "HTTP 401 over TLS, certificate trusted"),
                (
                    f"registry {REG} login",
                    Level.FAIL,
                    f"registry {REG}: login not confirmed (curl exit 28)",
                ),
            ],
        ),
        (
            RegistryProbe(True, Answer(200, 0), None),
            [(f"registry {REG}", Level.PASS, "HTTP 200 over TLS, certificate trusted")],
        ),
        (
            RegistryProbe(True, Answer(0, 60, "SSL certificate problem"), Answer(0, 60)),
            [
                (
                    f"registry {REG}",
                    Level.FAIL,
                    f"registry {REG}: its certificate is not trusted by this host "
                    "(untrusted, curl exit 60: SSL certificate problem)",
                )
            ],
        ),
        (
            RegistryProbe(True, Answer(0, 51, "no alternative name"), None),
            [
                (
                    f"registry {REG}",
                    Level.FAIL,
                    f"registry {REG}: its certificate is not trusted by this host "
                    "(name mismatch, curl exit 51: no alternative name)",
                )
            ],
        ),
        (
            RegistryProbe(True, Answer(0, 7, "Connection refused"), None),
            [
                (
                    f"registry {REG}",
                    Level.FAIL,
                    f"registry {REG}: no registry answer (curl exit 7: Connection refused)",
                )
            ],
        ),
        (
            RegistryProbe(True, Answer(503, 0), None),
            [(f"registry {REG}", Level.FAIL, f"registry {REG}: no registry answer (HTTP 503)")],
        ),
        (
            RegistryProbe(False),
            [
                (
                    f"registry {REG}",
                    Level.FAIL,
                    f"registry {REG}: no CA for it on the host "
                    f"(/etc/docker/certs.d/{REG}/ca.crt missing)",
                )
            ],
        ),
        (None, [(f"registry {REG}", Level.WARN, "not checked: no curl on the host")]),
        (
            FactFailure("boom"),
            [(f"registry {REG}", Level.WARN, "not checked: boom")],
        ),
    ],
)
def test_results(probe, want) -> None:
    assert _levels(probe) == want
    for r in registry_results(FACT, probe):
        assert PASSWORD not in f"{r.measured} {r.threshold} {r.advice}"


def test_no_registry_no_results() -> None:
    assert registry_results(None, None) == []


@pytest.mark.parametrize(
    ("variables", "want"),
    [
        ({}, None),
        ({"docker_registry_client_registry": ""}, None),
        ({"docker_registry_client_registry": REG}, RegistryFact(REG)),
        (
            {
                "docker_registry_client_registry": REG,
                "docker_registry_client_user": "bob",
                "docker_registry_client_password": "pw-of-bob",
            },
            RegistryFact(REG, "bob", "pw-of-bob"),
        ),
        (
            {
                "docker_registry_client_registry": "reg.example:443",
                "docker_registry_client_password": "x",
            },
            RegistryFact("reg.example:443"),
        ),
    ],
)
def test_fact_of(variables, want) -> None:
    assert registry_fact_of(variables) == want


@pytest.mark.parametrize(
    "bad",
    ["reg", "reg:", "reg:port", "a b:5000", "reg:5000/x", "reg:5000\n", "-x:1;reboot", "../:1"],
)
def test_fact_of_refuses(bad: str) -> None:
    with pytest.raises(InputError, match="HOST:PORT"):
        registry_fact_of({"docker_registry_client_registry": bad})
