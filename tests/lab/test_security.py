"""Security on the lab: host keys, secrets everywhere, injection, become errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
PROXY_PASSWORD = "Pr0xy-S3cret-4711"
BECOME_PASSWORD = "B3come-S3cret-0815"


def provision(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_changed_host_key_is_refused_even_with_accept_new(
    lab_hosts: LabSession, tmp_path: Path
) -> None:
    other_key = tmp_path / "other"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    fake = other_key.with_suffix(".pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"10.200.0.11 {fake[0]} {fake[1]}\n")

    def use_fake_known_hosts(data: dict) -> None:
        data["all"]["vars"]["provision_known_hosts"] = str(known)

    inventory = derived_inventory(lab_hosts.inventory, tmp_path / "inv.yml", use_fake_known_hosts)
    for extra in ((), ("--accept-new-host-keys",)):
        result = provision("plan", str(inventory), "--limit", "rocky1", *extra)
        assert result.returncode == 3, result.stdout
        assert "HOST KEY CHANGED" in result.stdout
    assert known.read_text().count("10.200.0.11") == 1, "the changed key was recorded"


def test_secrets_never_appear_anywhere(lab_hosts: LabSession, tmp_path: Path) -> None:
    host = lab_hosts.hosts[0]
    run_on(
        host,
        "useradd -m pwsudo; echo 'pwsudo:" + BECOME_PASSWORD + "' | chpasswd;"
        " echo 'pwsudo ALL=(ALL) ALL' > /etc/sudoers.d/pwsudo;"
        " mkdir -p ~pwsudo/.ssh; cp ~rocky/.ssh/authorized_keys ~pwsudo/.ssh/;"
        " chown -R pwsudo: ~pwsudo/.ssh",
    )

    def with_secrets(data: dict) -> None:
        variables = hosts_of(data)["rocky1"]
        variables.update(
            ansible_user="pwsudo",
            ansible_become_password=BECOME_PASSWORD,
            dnf_proxy_username="proxyuser",
            dnf_proxy_password=PROXY_PASSWORD,
        )

    inventory = derived_inventory(lab_hosts.inventory, tmp_path / "inv.yml", with_secrets)
    stop = threading.Event()
    seen_processes: list[str] = []

    def watch_processes() -> None:
        while not stop.is_set():
            seen_processes.append(
                subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
            )
            seen_processes.append(run_on(host, "ps -eo args", check=False).stdout)

    watcher = threading.Thread(target=watch_processes, daemon=True)
    watcher.start()
    try:
        outputs = [
            provision("plan", str(inventory), "--limit", "rocky1"),
            provision("apply", str(inventory), "--limit", "rocky1", "--diff"),
            provision("plan", str(inventory), "--limit", "rocky1", "--format", "json", "-v"),
        ]
    finally:
        stop.set()
        watcher.join(30)
    assert outputs[1].returncode == 0, outputs[1].stdout + outputs[1].stderr
    assert "proxy_password=********" in outputs[1].stdout or "secret" in outputs[1].stdout
    everything = "".join(o.stdout + o.stderr for o in outputs) + "".join(seen_processes)
    everything += run_on(
        host,
        "{ journalctl --no-pager; cat /var/log/* /var/log/*/*; } 2>/dev/null | cat -v",
        check=False,
    ).stdout
    state = ROOT / ".provision"
    if state.is_dir():
        everything += "".join(p.read_text() for p in state.iterdir() if p.is_file())
    for secret in (PROXY_PASSWORD, BECOME_PASSWORD):
        assert secret not in everything
    conf = run_on(host, "stat -c %a /etc/dnf/dnf.conf; grep -c proxy_password /etc/dnf/dnf.conf")
    assert conf.stdout.split()[1] == "1"


def test_wrong_become_password_is_one_clear_error(lab_hosts: LabSession, tmp_path: Path) -> None:
    def wrong_password(data: dict) -> None:
        hosts_of(data)["rocky1"].update(
            ansible_user="pwsudo", ansible_become_password="not-the-password"
        )

    inventory = derived_inventory(lab_hosts.inventory, tmp_path / "inv.yml", wrong_password)
    result = provision("plan", str(inventory), "--limit", "rocky1")
    assert result.returncode == 1, result.stdout
    assert "sudo refused the become password for user 'pwsudo'" in result.stdout
    assert "not-the-password" not in result.stdout + result.stderr
    failures = run_on(
        lab_hosts.hosts[0],
        "journalctl --no-pager | cat -v | grep -c 'incorrect password'",
        check=False,
    ).stdout.strip()
    assert failures in ("0", "1"), "sudo was asked more than once"


def test_a_user_without_sudo_gets_a_clear_error(lab_hosts: LabSession, tmp_path: Path) -> None:
    host = lab_hosts.hosts[1]
    run_on(
        host,
        "id nosudo || useradd -m nosudo; mkdir -p ~nosudo/.ssh;"
        " cp ~rocky/.ssh/authorized_keys ~nosudo/.ssh/; chown -R nosudo: ~nosudo/.ssh",
    )

    def no_sudo(data: dict) -> None:
        hosts_of(data)["rocky2"]["ansible_user"] = "nosudo"

    inventory = derived_inventory(lab_hosts.inventory, tmp_path / "inv.yml", no_sudo)
    result = provision("plan", str(inventory), "--limit", "rocky2")
    assert result.returncode == 1, result.stdout
    assert "rocky2" in result.stdout and "'nosudo'" in result.stdout
    assert "sudo" in result.stdout


def test_injection_lands_literally_and_runs_nothing(lab_hosts: LabSession, tmp_path: Path) -> None:
    project = tmp_path / "project"
    fixtures = ROOT / "tests" / "integration" / "fixtures"
    shutil.copytree(fixtures / "roles", project / "roles")
    (project / "playbooks").mkdir()
    shutil.copy(fixtures / "playbooks_site.yml", project / "playbooks" / "site.yml")

    def demo_host(data: dict) -> None:
        data["all"]["children"]["docker_hosts"]["hosts"] = {
            "rocky3": {"ansible_host": "10.200.0.13", "base": "/root/demo"}
        }

    inventory = derived_inventory(lab_hosts.inventory, project / "inventory.yml", demo_host)
    host = lab_hosts.hosts[2]
    run_on(host, "rm -f /tmp/provision-pwned")
    result = provision("apply", str(inventory), "--format", "json", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["hosts"]["rocky3"]["status"] == "changed"
    assert run_on(host, "test -e /tmp/provision-pwned", check=False).returncode != 0
    made = run_on(host, "cat /root/demo/made").stdout
    assert "$(touch /tmp/provision-pwned)" in made
    assert run_on(host, "stat -c %a /root/demo/page.txt").stdout.strip() == "640"
