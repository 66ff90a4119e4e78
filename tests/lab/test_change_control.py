"""Change control on the real lab: `plan -o` → `apply FILE` converges; a host edited in
between is refused as stale with its drift shown while the others converge; a wrong
--expect-sha256 touches no host; the audit log matches the hosts' last-apply records."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory

pytestmark = pytest.mark.lab
SECRET = "cc-Lab-s3cret-Token"
PLAYBOOK = """\
- hosts: docker_hosts
  secrets: [cc_token]
  vars:
    cc_token: "SECRET"
  tasks:
    - name: change-control folder
      directory: {path: /etc/provision-cc, mode: "0755"}
    - name: greeting
      copy: {dest: /etc/provision-cc/greeting, content: "hello from the plan\\n"}
    - name: token
      line: {path: /etc/provision-cc/app.conf, line: "token={{ cc_token }}", mode: "0600"}
""".replace("SECRET", SECRET)
RECORD = "/var/lib/provision/last-apply.json"


def provision(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def host_state(host) -> str:
    """What must not move on an untouched host: its packages and the files we manage."""
    return run_on(
        host,
        f"rpm -qa | sort | sha256sum; ls -la /etc/provision-cc 2>&1; cat {RECORD} 2>&1; "
        "cat /etc/provision-cc/* 2>&1; true",
    ).stdout


def test_saved_plan_on_the_lab(fresh_hosts: LabSession, tmp_path: Path) -> None:
    hosts = fresh_hosts.hosts
    derived_inventory(fresh_hosts.inventory, tmp_path / "inventory.yml")
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    planned = provision(tmp_path, "plan", "inventory.yml", "-p", "site.yml", "-o", "change.plan")
    assert planned.returncode == 4, planned.stdout + planned.stderr
    sha = re.search(r"sha256: ([0-9a-f]{64})", planned.stdout).group(1)
    data = (tmp_path / "change.plan").read_text()
    assert SECRET not in data and SECRET.encode().hex() not in data

    # a file that is not the approved one: refused before any host is touched
    before = {h.name: host_state(h) for h in hosts}
    wrong = provision(tmp_path, "apply", "change.plan", "--expect-sha256", "0" * 64)
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "not the approved" in wrong.stderr
    assert {h.name: host_state(h) for h in hosts} == before

    # one host drifts between plan and apply
    edited = hosts[1]
    run_on(
        edited, "mkdir -p /etc/provision-cc && echo 'edited by hand' > /etc/provision-cc/greeting"
    )
    edited_before = host_state(edited)
    applied = provision(tmp_path, "apply", "change.plan", "--expect-sha256", sha)
    out = applied.stdout + applied.stderr
    assert applied.returncode == 5, out
    assert "plan is stale" in out and "/etc/provision-cc/greeting: changed" in out
    assert SECRET not in out
    assert host_state(edited) == edited_before  # refused: untouched, no record
    others = [h for h in hosts if h is not edited]
    for host in others:
        greeting = run_on(host, "cat /etc/provision-cc/greeting").stdout
        assert greeting == "hello from the plan\n"

    # the audit log: one line per host, matching each host's own record
    lines = [json.loads(x) for x in (tmp_path / ".provision/audit.jsonl").read_text().splitlines()]
    assert sorted(line["host"] for line in lines) == sorted(h.name for h in hosts)
    by_host = {line["host"]: line for line in lines}
    assert by_host[edited.name]["result"] == "refused: stale plan"
    assert by_host[edited.name]["stale"]
    for host in others:
        line = by_host[host.name]
        assert line["result"] == "changed" and line["plan_sha256"] == sha
        record = json.loads(run_on(host, f"cat {RECORD}").stdout)
        assert record["run_id"] == line["run_id"] and record["who"] == line["user"]
        assert record["plan_sha256"] == sha and record["commit"] == line["commit"]
        assert [c["task"] for c in record["changed"]] == [c["task"] for c in line["changes"]]
    assert SECRET not in (tmp_path / ".provision/audit.jsonl").read_text()

    # `provision facts` shows the record
    facts = provision(
        tmp_path, "facts", "inventory.yml", "--limit", others[0].name, "--format", "json"
    )
    assert facts.returncode == 0, facts.stderr
    shown = json.loads(facts.stdout)["hosts"][others[0].name]["facts"]["last_apply"]
    assert shown["run_id"] == by_host[others[0].name]["run_id"]

    # a converged re-run: 1 connection, 1 remote command, the record untouched
    kept = run_on(others[0], f"cat {RECORD}").stdout
    again = provision(
        tmp_path,
        "apply",
        "inventory.yml",
        "-p",
        "site.yml",
        "--limit",
        others[0].name,
        "--format",
        "json",
    )
    assert again.returncode == 0, again.stdout + again.stderr
    found = json.loads(again.stdout)["hosts"][others[0].name]
    assert (found["connections"], found["remote_commands"]) == (1, 1)
    assert run_on(others[0], f"cat {RECORD}").stdout == kept
