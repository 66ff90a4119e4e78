"""Masking and terminal safety on a real host: a multi-line private key and a nested list
secret through plan, apply --diff and JSON; a host file and a task name full of terminal
escapes shown escaped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory

pytestmark = pytest.mark.lab

KEY_LINES = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDh0c2sF1qZzCq7mS9mB1xGfW3QeLxL7o3cM0Y8jwAAAJjw9T8E8PU/BAAA",
    "-----END OPENSSH PRIVATE KEY-----",
]
LEAVES = ["Cred-user-Lab1", "Cred-pw-Lab2", "Cred-deep-Lab3"]
RAW_CONTROLS = ["\x1b", "\x07", "\x9b", "\u202e", "\u2066"]


def provision(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_secrets_and_escapes_on_a_real_host(lab_hosts: LabSession, tmp_path: Path) -> None:
    host = lab_hosts.hosts[0]
    run_on(host, "printf 'old\\033[2J\\033]0;owned\\007 \\342\\200\\256txt\\n' > /etc/motd.mask")
    inventory = derived_inventory(lab_hosts.inventory, tmp_path / "inv.yml")
    play = {
        "hosts": "rocky1",
        "become": True,
        "secrets": ["deploy_key", "creds"],
        "vars": {
            "deploy_key": "\r\n".join(KEY_LINES) + "\r\n",
            "creds": [LEAVES[0], {"pw": LEAVES[1], "more": [LEAVES[2]]}],
        },
        "tasks": [
            {
                "name": "deploy key",
                "copy": {"dest": "/root/mask-key", "content": "{{ deploy_key }}", "mode": "0600"},
            },
            {
                "name": "creds line for {{ creds[0] }}",
                "line": {"path": "/etc/mask.conf", "line": "pw={{ creds[1].pw }}"},
            },
            {
                "name": "creds file {{ creds[1].more[0] }}",
                "copy": {"dest": "/etc/mask.json", "content": "{{ creds | to_json }}\n"},
                "secret": True,
            },
            {
                "name": "motd \x1b[2J\u2066 name",
                "copy": {"dest": "/etc/motd.mask", "content": "new\n"},
            },
        ],
    }
    (tmp_path / "site.yml").write_text(json.dumps([play]))
    args = (str(inventory), "-p", "site.yml", "--limit", "rocky1")
    plan = provision(tmp_path, "plan", *args)
    assert plan.returncode == 4, plan.stdout + plan.stderr
    assert "-old\\x1b[2J\\x1b]0;owned\\x07 \\u202etxt" in plan.stdout
    assert "motd \\x1b[2J\\u2066 name" in plan.stdout
    assert "+********" in plan.stdout and "creds file {{ creds[1].more[0] }}" in plan.stdout
    applied = provision(tmp_path, "apply", *args, "--diff", "-v")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    run_on(host, "printf 'x\\n' >> /root/mask-key")
    json_plan = provision(tmp_path, "plan", *args, "--format", "json", "-v")
    assert json_plan.returncode == 4, json_plan.stdout + json_plan.stderr
    document = json.loads(json_plan.stdout)
    assert document["hosts"]["rocky1"]["tasks"][0]["status"] == "pending"

    on_host = run_on(host, "cat /root/mask-key /etc/mask.conf /etc/mask.json").stdout
    assert all(line in on_host for line in KEY_LINES + LEAVES), "apply wrote the secrets"
    everything = "".join(r.stdout + r.stderr for r in (plan, applied, json_plan))
    everything += "".join(p.read_text() for p in (tmp_path / ".provision").iterdir())
    journal = run_on(host, "journalctl --no-pager | cat -v", check=False).stdout
    for secret in KEY_LINES[1:3] + LEAVES:
        assert secret not in everything, f"{secret!r} shown"
        assert secret not in journal, f"{secret!r} in the host's journal"
    assert [c for c in RAW_CONTROLS if c in everything] == []
