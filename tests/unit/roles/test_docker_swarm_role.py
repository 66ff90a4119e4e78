"""roles/docker_swarm compiled for a fleet (playbooks/swarm.yml): who inits, who joins with
which token (a secret: in the compiled secrets, masked), the labels and their guards, the
firewalld ports, and a host outside the groups leaving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from provision.errors import InputError
from provision.project.compile import compile_run
from provision.reporting.mask import Masker

REPO = Path(__file__).resolve().parents[3]
WORKER = "SWMTKN-1-0123456789abcdef-worker"
MANAGER = "SWMTKN-1-0123456789abcdef-manager"

INVENTORY = """\
all:
  vars:
    docker_swarm_worker_token: {worker}
    docker_swarm_manager_token: {manager}
  children:
    docker_hosts:
      hosts:
        m1: {{ansible_host: 10.0.0.1, ansible_connection: local}}
        m2: {{ansible_host: 10.0.0.2, ansible_connection: local}}
        w1:
          ansible_host: 10.0.0.3
          ansible_connection: local
          docker_swarm_node_labels: {labels}
        w2: {{ansible_host: 10.0.0.4, ansible_connection: local}}
        old: {{ansible_host: 10.0.0.5, ansible_connection: local}}
    swarm_managers:
      hosts: {{m1: {{}}, m2: {{}}}}
    swarm_workers:
      hosts: {{w1: {{}}, w2: {{}}}}
"""


def compiled(
    tmp_path: Path, worker: str = WORKER, manager: str = MANAGER, labels: str = "{zone: a}"
) -> Any:
    (tmp_path / "inv.yml").write_text(
        INVENTORY.format(worker=repr(worker), manager=repr(manager), labels=labels)
    )
    (tmp_path / "roles").symlink_to(REPO / "roles")
    (tmp_path / "swarm.yml").write_text((REPO / "playbooks" / "swarm.yml").read_text())
    return compile_run(tmp_path / "inv.yml", tmp_path / "swarm.yml")


def tasks(result: Any, play: int, host: str) -> dict[str, list[Any]]:
    """The tasks that run (not skipped at compile time) on `host` in play `play`, by name."""
    found: dict[str, list[Any]] = {}
    for hp in result.plays[play][1]:
        if hp.host.name != host:
            continue
        for t in hp.tasks:
            if t.task is not None or t.pending is not None:
                found.setdefault(t.name, []).append(t)
    return found


def cmd(task: Any) -> str:
    return task.task.params.cmd


def test_first_manager_inits_and_drains(tmp_path: Path) -> None:
    result = compiled(tmp_path)
    nodes = tasks(result, 1, "m1")
    (init,) = nodes["Swarm initialised on the first manager"]
    assert cmd(init) == "docker swarm init --advertise-addr 10.0.0.1"
    assert "grep -qx active" in init.task.params.unless
    assert "Swarm joined as a worker" not in nodes and "Swarm joined as a manager" not in nodes
    assert len(nodes["Swarm ports open in firewalld"]) == 4
    ports = [t.task.params.port for t in nodes["Swarm ports open in firewalld"]]
    assert ports == ["2377/tcp", "7946/tcp", "7946/udp", "4789/udp"]
    assert all(
        t.task.params.permanent and t.task.params.immediate
        for t in nodes["Swarm ports open in firewalld"]
    )
    (drain,) = tasks(result, 0, "m1")["Swarm nodes outside the groups are drained"]
    assert "for h in m1 m2 w1 w2;" in cmd(drain)
    assert "Swarm nodes outside the groups are drained" not in tasks(result, 0, "m2")


@pytest.mark.parametrize(
    ("host", "token", "name"),
    [("m2", MANAGER, "Swarm joined as a manager"), ("w1", WORKER, "Swarm joined as a worker")],
)
def test_others_join_with_their_token(tmp_path: Path, host: str, token: str, name: str) -> None:
    result = compiled(tmp_path)
    (join,) = tasks(result, 1, host)[name]
    address = {"m2": "10.0.0.2", "w1": "10.0.0.3"}[host]
    body = {
        "RemoteAddrs": ["10.0.0.1:2377"],
        "AdvertiseAddr": address,
        "ListenAddr": "0.0.0.0:2377",
        "JoinToken": token,
    }
    assert cmd(join) == (
        f"printf '%s' '{json.dumps(body)}' | curl -sS --fail-with-body"
        " --unix-socket /var/run/docker.sock -H 'Content-Type: application/json'"
        " --data-binary @- http://localhost/swarm/join"
    )
    assert "grep -qx active" in join.task.params.unless
    assert token in result.secrets()
    masked = Masker(result.secrets())(f"ran: {cmd(join)}")
    assert token not in masked and "********" in masked


@pytest.mark.parametrize("host", ["m2", "w1"])
def test_the_join_token_is_in_no_process_argv(tmp_path: Path, host: str) -> None:
    """The join script run as the connection runs it (`sh -s`, the script on stdin) with a
    `curl` that looks at every process's argv while the join runs: the token is on
    curl's stdin, in no /proc/PID/cmdline."""
    result = compiled(tmp_path)
    name = "Swarm joined as a manager" if host == "m2" else "Swarm joined as a worker"
    (join,) = tasks(result, 1, host)[name]
    token = MANAGER if host == "m2" else WORKER
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(
        "#!/bin/sh\n"
        f"cat > {tmp_path}/stdin\n"
        f'printf "%s\\n" "$@" > {tmp_path}/argv\n'
        f"for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done"
        f" > {tmp_path}/cmdlines 2>/dev/null\n"
        "exit 0\n"
    )
    curl.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LC_ALL": "C"}
    run = subprocess.run(["sh", "-s"], input=cmd(join), text=True, env=env, timeout=30)
    assert run.returncode == 0
    sent = json.loads((tmp_path / "stdin").read_text())
    assert sent["JoinToken"] == token and sent["RemoteAddrs"] == ["10.0.0.1:2377"]
    argv = (tmp_path / "argv").read_text().split("\n")
    assert "--unix-socket" in argv and "http://localhost/swarm/join" in argv
    cmdlines = (tmp_path / "cmdlines").read_text()
    assert "sh -s" in cmdlines or "curl" in cmdlines  # the scan saw processes
    assert token not in cmdlines
    assert token not in (tmp_path / "argv").read_text()


def test_without_a_token_the_join_waits_and_says_why(tmp_path: Path) -> None:
    result = compiled(tmp_path, worker="", manager="")
    nodes = tasks(result, 1, "w1")
    assert "Swarm joined as a worker" not in nodes
    (note,) = nodes["Swarm join waits for its token"]
    assert note.pending is not None  # decided from the probe's `docker info`


def test_a_host_outside_the_groups_leaves(tmp_path: Path) -> None:
    result = compiled(tmp_path)
    nodes = tasks(result, 1, "old")
    (leave,) = nodes["A host outside the groups leaves the swarm"]
    assert cmd(leave) == "docker swarm leave"
    assert "grep -qx active" in leave.task.params.only_if
    assert "Swarm ports open in firewalld" not in nodes
    (remove,) = tasks(result, 2, "m1")["Swarm nodes that left are removed"]
    assert "docker node rm" in cmd(remove) and "-ge 60" in cmd(remove)


@pytest.mark.parametrize(
    ("labels", "update", "check"),
    [
        ("{zone: a}", "--label-add zone=a w1", "= a ] && true; }"),
        ("{tier: 'front end'}", "--label-add 'tier=front end' w1", "= 'front end' ]"),
        (
            '{x: "a\'; reboot #"}',
            "--label-add 'x=a'\"'\"'; reboot #' w1",
            "= 'a'\"'\"'; reboot #' ]",
        ),
        ('{k: "$(id)"}', "--label-add 'k=$(id)' w1", "= '$(id)' ]"),
    ],
)
def test_labels_are_quoted_and_guarded(
    tmp_path: Path, labels: str, update: str, check: str
) -> None:
    result = compiled(tmp_path, labels=labels)
    (task,) = tasks(result, 2, "m1")["Swarm node labels"]
    assert cmd(task) == f"docker node update {update}"
    guard = task.task.params.unless
    assert guard.startswith("! docker node inspect w1 >/dev/null 2>&1 || {")
    assert check in guard


def test_a_label_key_cannot_inject(tmp_path: Path) -> None:
    result = compiled(tmp_path, labels='{"a b": c}')
    (task,) = tasks(result, 2, "m1")["Swarm node labels"]
    assert "--label-add 'a b=c' w1" in cmd(task)


def test_roles_readme_lists_the_role() -> None:
    text = (REPO / "roles" / "docker_swarm" / "README.md").read_text()
    for variable in ("docker_swarm_worker_token", "docker_swarm_node_labels", "docker_swarm_ports"):
        assert variable in text


def test_bad_inventory_group_name_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    h: {ansible_connection: local}\n")
    (tmp_path / "roles").symlink_to(REPO / "roles")
    (tmp_path / "p.yml").write_text(
        "- hosts: all\n"
        "  vars: {docker_swarm_part: nodes, docker_swarm_ports: ['2377/tcp;reboot']}\n"
        "  roles: [docker_swarm]\n"
    )
    (tmp_path / "inv.yml").write_text(
        "all:\n  children:\n    swarm_managers:\n      hosts: {h: {ansible_connection: local}}\n"
    )
    with pytest.raises(InputError, match="invalid port"):
        compile_run(tmp_path / "inv.yml", tmp_path / "p.yml")


def test_vagrant_swarm_inventory_adds_the_groups_to_the_vagrant_hosts(tmp_path: Path) -> None:
    """inventories/vagrant-swarm.yml after inventories/vagrant.yml (docs/swarm.md): rocky1
    initialises, rocky2 and rocky3 join; placeholder files stand in for the Vagrant keys."""
    (tmp_path / "inventories").mkdir()
    for name in ("vagrant.yml", "vagrant-swarm.yml"):
        (tmp_path / "inventories" / name).write_text((REPO / "inventories" / name).read_text())
    for host in ("rocky1", "rocky2", "rocky3"):
        key = tmp_path / ".vagrant" / "machines" / host / "virtualbox" / "private_key"
        key.parent.mkdir(parents=True)
        key.write_text("not a key: --list-hosts connects to no host\n")
    run = subprocess.run(
        [sys.executable, "-m", "provision", "apply", "--list-hosts"]
        + ["-i", "inventories/vagrant.yml", "-i", "inventories/vagrant-swarm.yml"]
        + ["-p", str(REPO / "playbooks" / "swarm.yml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SWARM_WORKER_TOKEN": "", "HOME": str(tmp_path), "LC_ALL": "C"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    plays = run.stdout.split("play: ")[1:]
    assert [p.splitlines()[1:] for p in plays] == [
        ["  rocky1"],
        ["  rocky1", "  rocky2", "  rocky3"],
        ["  rocky1"],
    ]
