"""Pull mode on the lab: three hosts run `provision pull` from a git repository served on
the lab network (git daemon on 10.200.0.1), converge, then converge again after a commit
changes a variable. The controller installs the tool (role provision_pull, over SSH); the
pulls are started with `systemctl start provision-pull.service` run inside each container
through nsenter (no SSH connection), and each host fetches and applies on its own.

The lab image (Debian bookworm) has python3.11 but no git, and the lab's dnf repository
has no git package: the test copies the controller's /usr/bin/git (also bookworm; it needs
only libc, zlib and libpcre2, which the image has) onto the hosts before the role runs. The
git:// protocol needs no helper program (http(s) would need git-remote-http and libcurl).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provision.lab import LabHost, lab_paths, ssh_command
from provision.lab import core as lab_core
from provision.lab.config import BRIDGE_ADDR

from .conftest import LabSession, run_on
from .labinv import derived_inventory

ROOT = Path(__file__).resolve().parents[2]
GIT_PORT = 9418
HTTP_PORT = 8097
DEMO = "/etc/provision-pull-demo.conf"

PULLED_PLAYBOOK = """\
- hosts: all
  vars:
    pull_value: VALUE
  tasks:
    - name: demo file
      copy: {dest: /etc/provision-pull-demo.conf, content: "value={{ pull_value }}\\n"}
"""

INSTALL_PLAYBOOK = """\
- hosts: docker_hosts
  vars:
    provision_pull_source: "git://BRIDGE:GITPORT/project.git"
    provision_pull_inventory: inventory.yml
    provision_pull_bundle_url: "http://BRIDGE:HTTPPORT/provision-pull.tar.gz"
    provision_pull_bundle_sha256: "SHA"
    provision_pull_python: /usr/bin/python3.11
    provision_pull_packages: []
    provision_pull_interval: 1d
    provision_pull_random_delay: 1min
    provision_pull_on_boot: 1d
  roles: [provision_pull]
"""


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "lab",
        "GIT_AUTHOR_EMAIL": "lab@lab",
        "GIT_COMMITTER_NAME": "lab",
        "GIT_COMMITTER_EMAIL": "lab@lab",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def commit_value(repo: Path, value: str) -> str:
    (repo / "playbooks").mkdir(exist_ok=True)
    (repo / "playbooks" / "site.yml").write_text(PULLED_PLAYBOOK.replace("VALUE", value))
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", f"pull_value {value}", cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def container_init(name: str) -> int:
    """PID (on the controller) of the container's systemd: the child of systemd-nspawn."""
    nspawn = lab_core._nspawn_pid(name)
    assert nspawn is not None, f"{name}: no systemd-nspawn process"
    children = Path(f"/proc/{nspawn}/task/{nspawn}/children").read_text().split()
    assert children, f"{name}: systemd-nspawn has no child"
    return int(children[0])


def in_container(host: LabHost, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    pid = container_init(host.name)
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "--", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ssh_put(host: LabHost, data: bytes, command: str) -> None:
    proc = subprocess.run(
        [*ssh_command(host, lab_paths(), "root"), command], input=data, capture_output=True
    )
    assert proc.returncode == 0, proc.stderr


def pull_all(hosts: list[LabHost]) -> dict[str, subprocess.CompletedProcess]:
    with ThreadPoolExecutor(len(hosts)) as pool:
        runs = pool.map(
            lambda h: in_container(h, "systemctl", "start", "provision-pull.service"), hosts
        )
        return {h.name: r for h, r in zip(hosts, runs, strict=True)}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, fresh_hosts: LabSession):
    """The project's bare repository under git daemon, the tool's tarball under an HTTP
    server, both bound to the lab bridge only; both killed by PID at the end."""
    base = tmp_path_factory.mktemp("pull")
    work = base / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    names = [h.name for h in fresh_hosts.hosts]
    inventory = {"all": {"hosts": {n: {} for n in names}}}
    (work / "inventory.yml").write_text(json.dumps(inventory))
    first = commit_value(work, "one")
    srv = base / "srv"
    srv.mkdir()
    git("clone", "-q", "--bare", str(work), str(srv / "project.git"), cwd=base)
    www = base / "www"
    target = base / "bundle"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    www.mkdir()
    with tarfile.open(www / "provision-pull.tar.gz", "w:gz") as tar:
        for item in sorted(target.iterdir()):
            tar.add(item, arcname=item.name)
    sha = hashlib.sha256((www / "provision-pull.tar.gz").read_bytes()).hexdigest()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={srv}",
            f"--listen={BRIDGE_ADDR}",
            f"--port={GIT_PORT}",
            str(srv),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    http = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            "--bind",
            BRIDGE_ADDR,
            "--directory",
            str(www),
            str(HTTP_PORT),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    try:
        yield {"work": work, "srv": srv, "sha": sha, "first": first, "base": base}
    finally:
        for child in (daemon, http):
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def test_three_hosts_pull_converge_and_follow_a_commit(
    fresh_hosts: LabSession, served: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hosts = fresh_hosts.hosts
    git_binary = Path(shutil.which("git") or "/usr/bin/git").read_bytes()
    for host in hosts:
        if run_on(host, "command -v git", check=False).returncode != 0:
            ssh_put(
                host,
                git_binary,
                "install -m 0755 /dev/stdin /usr/local/bin/git && mkdir -p /usr/lib/git-core"
                " && ln -sf /usr/local/bin/git /usr/lib/git-core/git",
            )
    # the controller installs the tool and the units (over SSH, as any apply)
    project = tmp_path / "installer"
    (project / "playbooks").mkdir(parents=True)
    inventory = derived_inventory(fresh_hosts.inventory, project / "inventory.yml")
    (project / "playbooks" / "pull.yml").write_text(
        INSTALL_PLAYBOOK.replace("BRIDGE", BRIDGE_ADDR)
        .replace("GITPORT", str(GIT_PORT))
        .replace("HTTPPORT", str(HTTP_PORT))
        .replace("SHA", served["sha"])
    )
    monkeypatch.chdir(project)
    provision = [sys.executable, "-m", "provision"]
    proc = subprocess.run(
        [*provision, "apply", str(inventory), "-p", "playbooks/pull.yml", "-y"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # first pull: no SSH; each host fetches from git daemon and applies locally
    started = time.monotonic()
    runs = pull_all(hosts)
    first_seconds = time.monotonic() - started
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: {run.stdout}{run.stderr}"
    for host in hosts:
        assert in_container(host, "cat", DEMO).stdout == "value=one\n"
        journal = in_container(host, "journalctl", "-u", "provision-pull", "--no-pager").stdout
        assert f"provision pull: {host.name}: exit 0 (commit {served['first']})" in journal
        record = json.loads(in_container(host, "cat", "/var/lib/provision/last-apply.json").stdout)
        assert record["commit"] == served["first"]
        assert [c["task"] for c in record["changed"]] == ["demo file"]
        status = in_container(
            host,
            "systemctl",
            "show",
            "provision-pull.service",
            "-p",
            "Result",
            "-p",
            "ExecMainStatus",
        ).stdout
        assert "Result=success" in status and "ExecMainStatus=0" in status
    # a commit changes the variable; the hosts pull again and follow it
    second = commit_value(served["work"], "two")
    git("push", "-q", str(served["srv"] / "project.git"), "main", cwd=served["work"])
    started = time.monotonic()
    runs = pull_all(hosts)
    second_seconds = time.monotonic() - started
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: {run.stdout}{run.stderr}"
    for host in hosts:
        assert in_container(host, "cat", DEMO).stdout == "value=two\n"
        record = json.loads(in_container(host, "cat", "/var/lib/provision/last-apply.json").stdout)
        assert record["commit"] == second
        lines = in_container(host, "cat", "/var/lib/provision/pull/audit.jsonl").stdout
        audit = [json.loads(line) for line in lines.splitlines()]
        assert [a["commit"] for a in audit] == [served["first"], second]
        assert all(a["host"] == host.name and a["exit_code"] == 0 for a in audit)
    print(f"pull of 3 hosts in parallel: first {first_seconds:.1f}s, second {second_seconds:.1f}s")
