"""`provision audit` from the command line (click's CliRunner): exit codes, formats, the
JUnit file. Hosts are audited through a fake `audit_over_ssh` (no host is touched); bad
input must exit 2 before any host is audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from provision.audit import run as audit_run
from provision.audit.run import HostAudit, judge
from provision.cli import main

from .helpers import docker_host

INVENTORY = (
    "all:\n  hosts:\n    web1:\n      ansible_connection: local\n"
    "    web2:\n      ansible_connection: local\n"
)


@pytest.fixture
def audited(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def fake(settings: Any, options: Any) -> HostAudit:
        name = settings.config.name
        seen.append(name)
        if name == "web2":
            return judge(name, docker_host(daemon_json={"icc": False, "live-restore": True}))
        return judge(name, docker_host())

    monkeypatch.setattr(audit_run, "audit_over_ssh", fake)
    return seen


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY)
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["audit", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_text(audited: list[str], inventory: Path) -> None:
    code, out, _ = run(str(inventory))
    assert code == 0
    assert sorted(audited) == ["web1", "web2"]
    assert "web1: score 53.1% (17 passed of 32 applicable scored checks)" in out
    assert "web2: score 59.4%" in out
    assert "fix: " in out


def test_json_and_limit(audited: list[str], inventory: Path) -> None:
    code, out, _ = run(str(inventory), "--format", "json", "-l", "web2")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "provision-audit/1"
    assert list(doc["hosts"]) == ["web2"] == audited


@pytest.mark.parametrize(("threshold", "code"), [("53.1", 0), ("59.4", 1), ("100", 1), ("0", 0)])
def test_min_score(audited: list[str], inventory: Path, threshold: str, code: int) -> None:
    got, out, _ = run(str(inventory), "--min-score", threshold, "--format", "json")
    assert got == code
    below = [h for h, v in json.loads(out)["hosts"].items() if v["below_min_score"]]
    assert (code == 1) == bool(below)


def test_junit_file(audited: list[str], inventory: Path, tmp_path: Path) -> None:
    target = tmp_path / "audit.xml"
    code, _, _ = run(str(inventory), "--junit-xml", str(target))
    assert code == 0
    root = ElementTree.parse(target).getroot()
    assert [s.get("name") for s in root.findall("testsuite")] == ["web1", "web2"]


def test_unreachable_host_exits_3(monkeypatch: pytest.MonkeyPatch, inventory: Path) -> None:
    monkeypatch.setattr(
        audit_run,
        "audit_over_ssh",
        lambda s, o: HostAudit(s.config.name, error="connection refused", unreachable=True),
    )
    code, out, _ = run(str(inventory))
    assert code == 3
    assert "web1: not audited: connection refused" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{inv}", "--min-score", "101"], "101"),
        (["{inv}", "--min-score", "-1"], "-1"),
        (["{inv}", "--min-score", "abc"], "abc"),
        (["{inv}", "--format", "xml"], "xml"),
        (["{tmp}/missing.yml"], "missing.yml"),
        (["{inv}", "--junit-xml", "{tmp}/no/such/dir/a.xml"], "does not exist"),
        (["{inv}", "-e", "=novalue"], ""),
        (["{bad}"], "bad.yml"),
    ],
)
def test_bad_input_exits_2_and_touches_no_host(
    audited: list[str], inventory: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("all:\n  hosts:\n    - [not a mapping\n")
    argv = [a.format(inv=inventory, tmp=tmp_path, bad=bad) for a in args]
    code, out, err = run(*argv)
    assert code == 2, (out, err)
    assert message in out + err
    assert "Traceback" not in out + err
    assert audited == []
