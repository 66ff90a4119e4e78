"""`provision audit` over real SSH (sshd on loopback, this machine as the host): the
audit's read-only commands run through the testinfra backend, the JSON document is
complete, and a host whose port is closed is unreachable (exit 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from provision.audit.checks import CHECKS
from tests.integration.sshd import Sshd, free_port
from tests.integration.test_ssh_engine import make_project

pytestmark = pytest.mark.integration


def audit(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", "audit", "inventory.yml", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
    )


def host_vars(tmp_path: Path, sshd: Sshd, port: int) -> str:
    (tmp_path / "known_hosts").write_text(sshd.known_hosts_line())
    return (
        f"      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        "      provision_known_hosts: known_hosts\n"
    )


def test_audit_over_ssh(tmp_path: Path, sshd: Sshd) -> None:
    project = make_project(tmp_path, host_vars(tmp_path, sshd, sshd.port))
    xml = tmp_path / "audit.xml"
    done = audit(project, "--format", "json", "--junit-xml", str(xml))
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    host = doc["hosts"]["target"]
    assert (host["error"], host["unreachable"]) == ("", False)
    assert [c["id"] for c in host["checks"]] == [c.id for c in CHECKS]
    assert host["passed"] + host["failed"] + host["info"] + host["not_applicable"] <= 60
    suite = ElementTree.parse(xml).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "target"
    assert len(suite.findall("testcase")) == 60


def test_closed_port_is_unreachable(tmp_path: Path, sshd: Sshd) -> None:
    project = make_project(tmp_path, host_vars(tmp_path, sshd, free_port()))
    done = audit(project, "--timeout", "5", "--retries", "0")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "target: not audited:" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
