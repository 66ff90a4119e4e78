"""bench/ansible/docker-host.yml, the ansible-core playbook of the benchmark, run UNCHANGED
by `provision apply` on fresh lab hosts: it converges, a second run changes nothing (one
connection and one remote command per host), and then ansible-core's own
`ansible-playbook --check --diff` of the same file on the same hosts reports 0 changed:
the two tools agree the hosts are converged.

Both tools get the playbook's variables where the benchmark (bench/harness.py) gives them:
the lab inventory (dnf_proxy, docker_repo_url, ...) and the lab's vars file (the Docker
key's fingerprint) — provision through the inventory's `provision_vars_files`, ansible with
`-e @.lab/vars.yml`; ansible runs with bench/ansible/ansible.cfg and the lab's key and
known_hosts, as the benchmark runs it.

Run under the lab lock:
    flock /tmp/provision-lab.lock .venv/bin/pytest -q -p no:cacheprovider \
        tests/lab/test_ansible_docker_host.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from provision.lab.inventory import KNOWN_HOSTS_NAME, VARS_NAME, secret_dir
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "bench" / "ansible" / "docker-host.yml"
sys.path.insert(0, str(ROOT / "bench"))
import benchcore  # noqa: E402


def provision(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _hosts(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout, result.stderr[-3000:]
    return json.loads(result.stdout)["hosts"]


def _why(result: subprocess.CompletedProcess) -> str:
    """The failing part of a JSON report: each host's error and failed or changed steps."""
    try:
        hosts = json.loads(result.stdout)["hosts"]
    except (ValueError, KeyError):
        return result.stdout[-4000:] + result.stderr[-3000:]
    lines = [result.stderr[-2000:]]
    for name, report in hosts.items():
        lines.append(f"{name}: {report.get('status')} {report.get('error') or ''}")
        for step in report.get("tasks") or report.get("steps") or []:
            if step.get("status") not in ("ok", "skipped"):
                lines.append(f"  {step.get('status')}: {step.get('name')}: {step.get('changes')}")
                lines.append(f"    {step.get('message')} {step.get('output')}"[:1500])
    return "\n".join(lines)


def test_the_bench_playbook_unchanged(fresh_hosts: LabSession, tmp_path: Path) -> None:
    inventory = fresh_hosts.inventory
    run = ("-p", str(PLAYBOOK), "--format", "json")
    first = provision("apply", str(inventory), *run)
    assert first.returncode == 0, _why(first)
    for name, report in _hosts(first).items():
        assert report["status"] == "changed", (name, report.get("error"))
        assert report["connections"] == 1, (name, report["connections"])
    for host in fresh_hosts.hosts:
        assert run_on(host, "systemctl is-active docker").stdout.strip() == "active"
        info = run_on(host, "docker info --format '{{.Driver}}'").stdout.strip()
        assert info == "overlay2", (host.name, info)
        assert run_on(host, "sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"
        assert run_on(host, "rpm -q podman", check=False).returncode != 0
        repo = run_on(host, "grep ^gpgkey= /etc/yum.repos.d/docker-ce.repo").stdout
        assert set(repo.split()) == {"gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce"}
    for command in ("apply", "plan"):
        again = provision(command, str(inventory), *run)
        assert again.returncode == 0, _why(again)
        for name, report in _hosts(again).items():
            assert report["counts"]["changed"] == 0, (command, name, _why(again))
            assert (report["connections"], report["remote_commands"]) == (1, 1), (command, name)

    # ansible-core on the same hosts, as bench/harness.py runs it
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "bench" / "ansible" / "ansible.cfg"),
        ANSIBLE_SSH_COMMON_ARGS=(
            f"-o UserKnownHostsFile={secret_dir(inventory) / KNOWN_HOSTS_NAME}"
            " -o StrictHostKeyChecking=yes"
        ),
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / "cp"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_NOCOLOR="1",
    )
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory)]
    argv += ["-e", f"@{secret_dir(inventory) / VARS_NAME}", str(PLAYBOOK), "--check", "--diff"]
    checked = subprocess.run(
        argv, cwd=inventory.parent, env=env, capture_output=True, text=True, timeout=1800
    )
    out = checked.stdout + checked.stderr
    assert checked.returncode == 0, out[-6000:]
    recap = benchcore.ansible_recap(checked.stdout)
    assert set(recap) == {h.name for h in fresh_hosts.hosts}, out[-3000:]
    for name, counts in recap.items():
        assert counts["changed"] == 0 and counts["failed"] == 0, (name, counts, out[-6000:])
        assert counts["unreachable"] == 0, (name, counts)
