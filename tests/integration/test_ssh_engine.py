"""The real CLI over real SSH (sshd on loopback) and `connection: local`: plan, apply, re-apply."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import FIXTURES
from tests.integration.sshd import Sshd, start_sshd
from tests.tools.provisioncli import provision

pytestmark = pytest.mark.integration
SECRET = "tok-9f8e7d6c5b"


def make_project(root: Path, host_vars: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURES / "roles", root / "roles", dirs_exist_ok=True)
    (root / "playbooks").mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "playbooks_site.yml", root / "playbooks" / "site.yml")
    (root / "inventory.yml").write_text("all:\n  hosts:\n    target:\n" + host_vars)
    return root


@pytest.fixture
def ssh_project(tmp_path: Path, sshd: Sshd) -> Path:
    base = tmp_path / "target"
    (tmp_path / "known_hosts").write_text(sshd.known_hosts_line())
    return make_project(
        tmp_path,
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        f"      provision_known_hosts: known_hosts\n      base: {base}\n",
    )


@pytest.fixture
def local_project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path, f"      ansible_connection: local\n      base: {tmp_path / 'target'}\n"
    )


def run_cycle(project: Path) -> None:
    base = project / "target"
    first_plan = provision(project, "plan", "inventory.yml")
    assert first_plan.returncode == 4, first_plan.stdout + first_plan.stderr
    assert "will change" in first_plan.stdout
    assert "+greeting=hello" in first_plan.stdout
    assert not base.exists(), "plan must not touch the host"

    applied = provision(project, "apply", "inventory.yml", "--format", "json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    doc = json.loads(applied.stdout)
    host = doc["hosts"]["target"]
    assert host["status"] == "changed"
    statuses = {t["name"]: t["status"] for t in host["tasks"]}
    assert statuses["target directory"] == "changed"
    assert statuses["marker holds the literal value"] == "ok"
    assert statuses["note the change"] == "changed"
    assert (base / "app.conf").read_text() == f"[main]\ngreeting=hello\n\n[auth]\ntoken={SECRET}\n"
    assert oct((base / "page.txt").stat().st_mode & 0o777) == "0o640"
    assert oct(base.stat().st_mode & 0o777) == "0o750"
    assert not Path("/tmp/provision-pwned").exists(), "a variable ran as a command"

    again = provision(project, "apply", "inventory.yml", "--format", "json")
    assert again.returncode == 0, again.stderr
    host = json.loads(again.stdout)["hosts"]["target"]
    assert host["counts"]["changed"] == 0
    assert host["connections"] == 1
    assert host["remote_commands"] <= 2
    assert (base / "handler.log").read_text() == "changed\n", "handler ran again on a no-op run"

    final_plan = provision(project, "plan", "inventory.yml")
    assert final_plan.returncode == 0, final_plan.stdout + final_plan.stderr
    for output in (first_plan, applied, again, final_plan):
        assert SECRET not in output.stdout + output.stderr


def test_plan_apply_reapply_over_ssh(ssh_project: Path) -> None:
    run_cycle(ssh_project)


def test_plan_apply_reapply_local(local_project: Path) -> None:
    run_cycle(local_project)


def test_drift_is_planned_and_repaired(ssh_project: Path) -> None:
    assert provision(ssh_project, "apply", "inventory.yml").returncode == 0
    page = ssh_project / "target" / "page.txt"
    page.write_text("greeting: drifted\n")
    drift = provision(ssh_project, "plan", "inventory.yml")
    assert drift.returncode == 4
    assert "-greeting: drifted" in drift.stdout and "+greeting: hello" in drift.stdout
    repaired = provision(ssh_project, "apply", "inventory.yml")
    assert repaired.returncode == 0
    assert "changed     demo : rendered file" in repaired.stdout
    assert page.read_text().startswith("greeting: hello\n")


def test_unknown_host_key_refused_then_accepted(ssh_project: Path) -> None:
    (ssh_project / "known_hosts").write_text("")
    refused = provision(ssh_project, "plan", "inventory.yml")
    assert refused.returncode == 3
    assert "unknown host key" in refused.stdout and "SHA256:" in refused.stdout
    assert "--accept-new-host-keys" in refused.stdout
    accepted = provision(ssh_project, "plan", "inventory.yml", "--accept-new-host-keys")
    assert accepted.returncode == 4, accepted.stdout
    assert "127.0.0.1" in (ssh_project / "known_hosts").read_text()


def test_changed_host_key_always_refused(ssh_project: Path, tmp_path: Path, sshd: Sshd) -> None:
    impostor = start_sshd(tmp_path / "impostor")
    try:
        text = (ssh_project / "inventory.yml").read_text()
        text = text.replace(f"ansible_port: {sshd.port}", f"ansible_port: {impostor.port}")
        text = text.replace(str(sshd.client_key), str(impostor.client_key))
        (ssh_project / "inventory.yml").write_text(text)
        (ssh_project / "known_hosts").write_text(
            sshd.known_hosts_line().replace(str(sshd.port), str(impostor.port))
        )
        for extra in ((), ("--accept-new-host-keys",)):
            result = provision(ssh_project, "plan", "inventory.yml", *extra)
            assert result.returncode == 3
            assert "HOST KEY CHANGED" in result.stdout
    finally:
        impostor.stop()


def test_unreachable_host_exit_3(tmp_path: Path) -> None:
    from tests.integration.sshd import free_port

    project = make_project(
        tmp_path, f"      ansible_host: 127.0.0.1\n      ansible_port: {free_port()}\n"
    )
    result = provision(project, "plan", "inventory.yml", "--timeout", "2")
    assert result.returncode == 3
    assert "unreachable" in result.stdout


def test_through_a_bastion_with_proxyjump(tmp_path: Path, sshd: Sshd) -> None:
    bastion = start_sshd(tmp_path / "bastion")
    try:
        (bastion.directory / "authorized_keys").write_text(
            sshd.client_key.with_suffix(".pub").read_text()
        )
        project = make_project(
            tmp_path / "project",
            f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
            f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
            f"      ansible_ssh_common_args: '-o ProxyJump=root@127.0.0.1:{bastion.port}'\n"
            f"      provision_known_hosts: known_hosts\n      base: {tmp_path / 'target'}\n",
        )
        (project / "known_hosts").write_text(sshd.known_hosts_line() + bastion.known_hosts_line())
        result = provision(project, "plan", "inventory.yml")
        assert result.returncode == 4, result.stdout + result.stderr
        log = (bastion.directory / "sshd.log").read_text()
        assert "Accepted publickey for root" in log, "the bastion was not used"
        (project / "known_hosts").write_text(sshd.known_hosts_line())
        refused = provision(project, "plan", "inventory.yml")
        assert refused.returncode == 3, "the bastion's unknown host key was not refused"
    finally:
        bastion.stop()
