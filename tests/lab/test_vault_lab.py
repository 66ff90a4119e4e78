"""Vault on the lab, as an Ansible team has it: ansible.cfg names the vault password file,
group_vars hold a whole-file vault (made by the real `ansible-vault`) and an inline
`!vault` value. The secrets reach a 0600 file on real hosts over real SSH, and appear in
no output: plan -vvv, apply --diff -vvv, JSON, the converged re-run. A wrong password is
exit 2 naming the file and nothing on any host is touched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from provision.lab import lab_paths
from tests.lab.conftest import LabSession, run_on
from tests.tools.ansible_cli import ANSIBLE_VAULT, run_ansible_vault
from tests.tools.provisioncli import provision as run_provision

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(ANSIBLE_VAULT is None, reason="ansible-core not installed"),
]

INLINE = "db-Pass'word\"with$(id)`uname`\\n"
WHOLE = "api-T0ken-" + "x" * 40
PASSWORD = "lab-vault-pw-7f3"
TARGET = "/etc/provision-vault-test"


def provision(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_provision(project, *args, timeout=600)


def write_project(project: Path, hosts: LabSession, password_file: str) -> None:
    paths = lab_paths()
    host = hosts.hosts[0]  # decryption is the controller's: one host proves the path
    lines = ["[docker_hosts]", f"{host.name} ansible_host={host.address}"]
    lines += [
        "",
        "[all:vars]",
        f"provision_known_hosts = {paths.known_hosts.resolve()}",
        "provision_known_hosts_only = true",
    ]
    (project / "hosts").write_text("\n".join(lines) + "\n")
    (project / "ansible.cfg").write_text(
        "[defaults]\ninventory = hosts\nremote_user = rocky\n"
        f"private_key_file = {paths.key.resolve()}\nvault_password_file = {password_file}\n"
        "[privilege_escalation]\nbecome = True\n"
    )


def test_vault_secrets_reach_lab_hosts_and_no_output(
    fresh_hosts: LabSession, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "group_vars/docker_hosts").mkdir(parents=True)
    (project / "vault-pass").write_text(PASSWORD + "\n")
    (project / "wrong-pass").write_text("not-it\n")
    inline = run_ansible_vault(
        "encrypt_string", "--vault-password-file", "vault-pass", INLINE, "--name", "db_password",
        cwd=project,
    )  # fmt: skip
    (project / "group_vars/docker_hosts/main.yml").write_text("app_user: svc\n" + inline)
    (project / "group_vars/docker_hosts/vault.yml").write_text(f"api_token: {WHOLE}\n")
    run_ansible_vault(
        "encrypt", "--vault-password-file", "vault-pass", "group_vars/docker_hosts/vault.yml",
        cwd=project,
    )  # fmt: skip
    tasks = [
        {"directory": {"path": TARGET, "mode": "0700"}},
        {
            "name": "app.conf for {{ app_user }} with {{ db_password }}",
            "copy": {
                "dest": f"{TARGET}/app.conf",
                "content": "user={{ app_user }}\npassword={{ db_password }}\n"
                "token={{ api_token }}\n",
                "mode": "0600",
            },
        },
    ]
    (project / "site.yml").write_text(json.dumps([{"hosts": "docker_hosts", "tasks": tasks}]))

    write_project(project, fresh_hosts, "wrong-pass")
    wrong = provision(project, "apply", "-p", "site.yml")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "group_vars/docker_hosts/main.yml" in wrong.stderr + wrong.stdout
    for host in fresh_hosts.hosts[:1]:
        gone = run_on(host, f"test -e {TARGET}", check=False)
        assert gone.returncode == 1, f"{host.name}: touched by a run with the wrong password"

    write_project(project, fresh_hosts, "vault-pass")
    planned = provision(project, "plan", "-p", "site.yml", "-vvv")
    assert planned.returncode == 4, planned.stdout + planned.stderr
    as_json = provision(project, "plan", "-p", "site.yml", "--format", "json")
    assert as_json.returncode == 4, as_json.stderr
    applied = provision(project, "apply", "-p", "site.yml", "--diff", "-vvv")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    expected = f"user=svc\npassword={INLINE}\ntoken={WHOLE}\n"
    for host in fresh_hosts.hosts[:1]:
        shown = run_on(host, f"stat -c %a {TARGET}/app.conf; cat {TARGET}/app.conf")
        mode, _, content = shown.stdout.partition("\n")
        assert (mode, content) == ("600", expected), host.name
        run_on(host, f"printf 'password=old\\n' > {TARGET}/app.conf")
    drifted = provision(project, "apply", "-p", "site.yml", "--diff", "-vvv")
    assert drifted.returncode == 0, drifted.stdout + drifted.stderr
    again = provision(project, "apply", "-p", "site.yml", "--format", "json")
    assert again.returncode == 0, again.stderr
    for name, host in json.loads(again.stdout)["hosts"].items():
        assert host["counts"]["changed"] == 0, name
        assert (host["connections"], host["remote_commands"]) == (1, 1), name

    outputs = "".join(
        r.stdout + r.stderr for r in (wrong, planned, as_json, applied, drifted, again)
    )
    for secret in (INLINE, WHOLE, PASSWORD, "Pass'word"):
        assert secret not in outputs, f"{secret!r} shown"
    assert "app.conf for svc with ********" in planned.stdout
    assert "+password=********" in drifted.stdout
    for host in fresh_hosts.hosts[:1]:
        run_on(host, f"rm -rf {TARGET}")
