"""A vault-encrypted group_vars value made by `ansible-vault` reaches a file on a host over
real SSH (sshd on loopback), and never the output: plan, apply --diff, -vvv, JSON.
A wrong password is exit 2 naming file:line, and the host is not touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd
from tests.integration.test_ssh_engine import provision
from tests.tools.ansible_cli import ANSIBLE_VAULT, run_ansible_vault

pytestmark = pytest.mark.integration

SECRET = "db-Pass'word\"with$(quotes)"
WHOLE = "whole-file-token-991"


def ansible_vault(project: Path, *args: str) -> str:
    return run_ansible_vault(*args, cwd=project)


@pytest.mark.skipif(ANSIBLE_VAULT is None, reason="ansible-core not installed")
def test_vault_value_reaches_the_host_and_never_the_output(tmp_path: Path, sshd: Sshd) -> None:
    project = tmp_path / "project"
    target = tmp_path / "target"
    project.mkdir()
    (project / "known_hosts").write_text(sshd.known_hosts_line())
    (project / "inventory.yml").write_text(
        "all:\n  hosts:\n    target:\n"
        f"      ansible_host: 127.0.0.1\n      ansible_port: {sshd.port}\n"
        f"      ansible_user: root\n      ansible_ssh_private_key_file: {sshd.client_key}\n"
        "      provision_known_hosts: known_hosts\n"
    )
    (project / "vault-pass").write_text("s3cure-vault-pw\n")
    (project / "group_vars/all").mkdir(parents=True)
    inline = ansible_vault(
        project, "encrypt_string", "--vault-id", "prod@vault-pass", SECRET, "--name", "db_password"
    )
    (project / "group_vars/all/main.yml").write_text(f"target_dir: {target}\n" + inline)
    (project / "group_vars/all/vault.yml").write_text(f"api_token: {WHOLE}\n")
    ansible_vault(project, "encrypt", "--vault-id", "prod@vault-pass", "group_vars/all/vault.yml")
    tasks = [
        {"directory": {"path": "{{ target_dir }}"}},
        {
            "name": "write app.conf for {{ db_password }}",
            "copy": {
                "dest": "{{ target_dir }}/app.conf",
                "content": "password={{ db_password }}\ntoken={{ api_token }}\n",
                "mode": "0600",
            },
        },
    ]
    (project / "site.yml").write_text(json.dumps([{"hosts": "all", "tasks": tasks}]))
    run = ("inventory.yml", "-p", "site.yml", "--vault-id", "prod@vault-pass")

    (project / "wrong").write_text("nope\n")
    wrong = provision(
        project, "apply", "inventory.yml", "-p", "site.yml", "--vault-password-file", "wrong"
    )
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "group_vars/all/main.yml:2" in wrong.stdout + wrong.stderr
    assert not target.exists()

    outputs = []
    planned = provision(project, "plan", *run, "-vvv")
    assert planned.returncode == 4, planned.stdout + planned.stderr
    as_json = provision(project, "plan", *run, "--format", "json")
    assert as_json.returncode == 4, as_json.stdout + as_json.stderr
    applied = provision(project, "apply", *run, "--diff", "-vvv")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (target / "app.conf").read_text() == f"password={SECRET}\ntoken={WHOLE}\n"
    (target / "app.conf").write_text("password=old\n")
    drifted = provision(project, "apply", *run, "--diff", "-vvv")
    assert drifted.returncode == 0, drifted.stdout + drifted.stderr
    again = provision(project, "plan", *run, "-vvv")
    assert again.returncode == 0, again.stdout + again.stderr
    outputs = [planned, as_json, applied, drifted, again, wrong]
    shown = "".join(r.stdout + r.stderr for r in outputs)
    for secret in (SECRET, WHOLE, "s3cure-vault-pw"):
        assert secret not in shown
    assert "write app.conf for ********" in planned.stdout
    assert "+password=********" in drifted.stdout
