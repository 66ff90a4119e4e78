"""Compose and Swarm on the lab (docs/compose.md, docs/swarm.md).

- compose: a project converges on a fresh host, answers over HTTP and reports healthy, a
  second apply changes nothing, and a change to one service's definition recreates only
  that service (the other container keeps its id).
- swarm: roles/docker_swarm in its two steps (the join tokens go from the manager to the
  run as secrets: never printed, even with -vvvv), one manager and two workers Ready, a
  re-run changes nothing; a `stack` of 3 replicas spread over the three nodes answers on
  each node; a worker taken out of `swarm_workers` is drained (its task moves), leaves
  and is removed from the node list in one apply, and the next apply changes nothing.
- The lab's kernel has no IPVS, so the service publishes in host mode with dnsrr
  (docs/lab.md, "Swarm: no routing mesh"); the mesh test runs where IPVS exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory, hosts_of

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
IMAGE = "lab/busybox:1"

COMPOSE_PLAY = """\
- name: A compose project
  hosts: rocky1
  become: true
  tasks:
    - name: the web project
      compose:
        project_src: /srv/web
        project_name: web
        wait: true
        pull: never
        content:
          compose.yaml: |
            services:
              web:
                image: lab/busybox:1
                command:
                  - sh
                  - -c
                  - >-
                    mkdir -p /www && echo {{ greeting }} > /www/index.html
                    && exec httpd -f -p 80 -h /www
                ports: ["8080:80"]
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1/"]
                  interval: 2s
              worker:
                image: lab/busybox:1
                command: ["sleep", "1000000"]
"""

STACK_PLAY = """\
- name: A stack of three replicas
  hosts: rocky1
  become: true
  tasks:
    - name: the demo stack
      stack:
        name: demo
        resolve_image: never
        content: |
          version: "3.8"
          services:
            web:
              image: lab/busybox:1
              command: ["sh", "-c", "hostname > /tmp/i && exec httpd -f -p 80 -h /tmp"]
              ports:
                - {target: 80, published: 8091, mode: host}
              deploy:
                replicas: 3
                endpoint_mode: dnsrr
                placement:
                  max_replicas_per_node: 1
"""


def provision(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def report(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    try:
        return json.loads(proc.stdout)["hosts"]
    except (ValueError, KeyError):
        raise AssertionError(
            f"no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )


def changed(proc: subprocess.CompletedProcess) -> dict[str, int]:
    return {name: r["counts"]["changed"] for name, r in report(proc).items()}


def _groups(data: dict[str, Any]) -> None:
    children = data["all"]["children"]
    hosts = hosts_of(data)
    hosts["rocky2"]["docker_swarm_node_labels"] = {"zone": "b", "tier": "front end"}
    children["swarm_managers"] = {"hosts": {"rocky1": {}}}
    children["swarm_workers"] = {"hosts": {"rocky2": {}, "rocky3": {}}}
    data["all"]["vars"]["docker_swarm_worker_token"] = "{{ env.SWARM_WORKER_TOKEN }}"


@pytest.fixture(scope="module")
def lab(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Docker on the three fresh hosts, the busybox image on each, and the files."""
    where = tmp_path_factory.mktemp("compose_swarm")
    inventory = derived_inventory(fresh_hosts.inventory, where / "inventory.yml", _groups)
    (where / "compose.yml").write_text(COMPOSE_PLAY)
    (where / "stack.yml").write_text(STACK_PLAY)
    started = time.monotonic()
    docker = provision(
        "apply", str(inventory), "-p", "playbooks/docker-host.yml", "--format", "json"
    )
    assert docker.returncode == 0, docker.stdout[-3000:] + docker.stderr[-3000:]
    for host in fresh_hosts.hosts:
        run_on(
            host,
            f"docker image inspect {IMAGE} >/dev/null 2>&1"
            f" || docker import /opt/lab/busybox-rootfs.tar {IMAGE}",
        )
    print(f"docker on 3 hosts: {time.monotonic() - started:.1f} s")
    return {"inventory": inventory, "dir": where}


def _compose(
    lab: dict[str, Path], command: str, greeting: str, *extra: str
) -> subprocess.CompletedProcess:
    return provision(
        command,
        str(lab["inventory"]),
        "-p",
        str(lab["dir"] / "compose.yml"),
        "-e",
        f"greeting={greeting}",
        *extra,
    )


def _ids(host: Any) -> dict[str, str]:
    out = run_on(
        host,
        "docker ps --filter label=com.docker.compose.project=web --format"
        " '{{.Label \"com.docker.compose.service\"}} {{.ID}} {{.Status}}'",
    ).stdout
    return {line.split()[0]: line.split()[1] for line in out.splitlines()}


def test_compose_converges_answers_and_recreates_only_what_changed(
    fresh_hosts: LabSession, lab: dict[str, Path]
) -> None:
    rocky1 = fresh_hosts.hosts[0]
    plan = _compose(lab, "plan", "hello")
    assert "create web: new service" in plan.stdout and "create worker" in plan.stdout, plan.stdout
    first = _compose(lab, "apply", "hello", "--format", "json")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert changed(first) == {"rocky1": 1}
    assert run_on(rocky1, "curl -s -m 5 http://127.0.0.1:8080/").stdout.strip() == "hello"
    status = run_on(rocky1, "docker inspect --format '{{.State.Health.Status}}' web-web-1").stdout
    assert status.strip() == "healthy"
    before = _ids(rocky1)
    assert set(before) == {"web", "worker"}

    again = _compose(lab, "apply", "hello", "--format", "json")
    assert again.returncode == 0 and changed(again) == {"rocky1": 0}, again.stdout[-2000:]
    assert _ids(rocky1) == before

    plan = _compose(lab, "plan", "bonjour")
    assert "recreate web: its configuration changed" in plan.stdout, plan.stdout
    assert "worker" not in plan.stdout.split("compose web: up -d", 1)[1].split("\n\n")[0]
    assert "-" in plan.stdout and "echo hello" in plan.stdout and "echo bonjour" in plan.stdout
    third = _compose(lab, "apply", "bonjour", "--format", "json")
    assert third.returncode == 0 and changed(third) == {"rocky1": 1}, third.stdout[-2000:]
    after = _ids(rocky1)
    assert after["worker"] == before["worker"]
    assert after["web"] != before["web"]
    assert run_on(rocky1, "curl -s -m 5 http://127.0.0.1:8080/").stdout.strip() == "bonjour"
    verify = provision(
        "verify",
        str(lab["inventory"]),
        "-p",
        str(lab["dir"] / "compose.yml"),
        "-e",
        "greeting=bonjour",
    )
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr


def _swarm(
    lab: dict[str, Path], command: str, token: str = "", *extra: str
) -> subprocess.CompletedProcess:
    env = {"SWARM_WORKER_TOKEN": token}  # empty in step 1: `env.` needs it set
    return provision(command, str(lab["inventory"]), "-p", "playbooks/swarm.yml", *extra, env=env)


def test_swarm_in_two_steps_tokens_never_printed(
    fresh_hosts: LabSession, lab: dict[str, Path]
) -> None:
    rocky1 = fresh_hosts.hosts[0]
    step1 = _swarm(lab, "apply", "", "--format", "json")
    assert step1.returncode == 0, step1.stdout[-3000:] + step1.stderr
    state = run_on(
        rocky1, "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'"
    )
    assert state.stdout.split() == ["active", "true"]
    token = run_on(rocky1, "docker swarm join-token -q worker").stdout.strip()
    assert token.startswith("SWMTKN-")
    step2 = _swarm(lab, "apply", token, "-vvvv")
    assert step2.returncode == 0, step2.stdout[-3000:] + step2.stderr
    assert token not in step2.stdout + step2.stderr
    # the join goes to the engine's API with the token on curl's stdin (docs/swarm.md)
    assert "/swarm/join" in step2.stdout and "********" in step2.stdout
    nodes = run_on(
        rocky1, "docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'"
    ).stdout
    assert sorted(nodes.splitlines()) == ["rocky1 Ready Leader", "rocky2 Ready ", "rocky3 Ready "]
    labels = run_on(rocky1, "docker node inspect --format '{{json .Spec.Labels}}' rocky2").stdout
    assert json.loads(labels) == {"zone": "b", "tier": "front end"}
    again = _swarm(lab, "apply", token, "--format", "json")
    assert again.returncode == 0, again.stdout[-2000:]
    assert set(changed(again).values()) == {0}, again.stdout[-2000:]
    failed = _swarm(lab, "apply", token + "x", "-vvvv", "-l", "rocky3")
    assert token not in failed.stdout + failed.stderr  # nothing to do on rocky3: still masked


def test_stack_three_replicas_spread_and_answering(
    fresh_hosts: LabSession, lab: dict[str, Path]
) -> None:
    rocky1 = fresh_hosts.hosts[0]
    playbook = str(lab["dir"] / "stack.yml")
    deploy = provision("apply", str(lab["inventory"]), "-p", playbook, "--format", "json")
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr
    assert changed(deploy) == {"rocky1": 1}
    deadline = time.monotonic() + 60
    replicas = ""
    while time.monotonic() < deadline:
        replicas = run_on(
            rocky1, "docker service ls --filter name=demo_web --format '{{.Replicas}}'"
        ).stdout.strip()
        if replicas.split(" ")[0] == "3/3":  # "3/3 (max 1 per node)"
            break
        time.sleep(1)
    assert replicas.split(" ")[0] == "3/3", replicas
    nodes = run_on(
        rocky1, "docker service ps demo_web --filter desired-state=running --format '{{.Node}}'"
    ).stdout
    assert sorted(nodes.split()) == ["rocky1", "rocky2", "rocky3"]
    answers = {
        run_on(rocky1, f"curl -s -m 5 http://{host.address}:8091/i").stdout.strip()
        for host in fresh_hosts.hosts
    }
    assert len(answers) == 3, answers  # three different containers answer
    again = provision("apply", str(lab["inventory"]), "-p", playbook, "--format", "json")
    assert again.returncode == 0 and changed(again) == {"rocky1": 0}, again.stdout[-2000:]


def test_routing_mesh(fresh_hosts: LabSession, lab: dict[str, Path]) -> None:
    rocky1 = fresh_hosts.hosts[0]
    if run_on(rocky1, "test -e /proc/net/ip_vs", check=False).returncode != 0:
        pytest.skip(
            "the machine's kernel has no IPVS (CONFIG_IP_VS): swarm's ingress VIP cannot"
            " load-balance here; the Vagrant lab covers the mesh (docs/lab.md)"
        )
    run_on(
        rocky1,
        f"docker service create -d --name mesh --replicas 3 --publish 8090:80 {IMAGE}"
        " sh -c 'hostname > /tmp/i && exec httpd -f -p 80 -h /tmp'",
    )
    time.sleep(10)
    seen = {run_on(rocky1, "curl -s -m 5 http://127.0.0.1:8090/i").stdout.strip() for _ in range(9)}
    assert len(seen) >= 2, seen


def _without_rocky3(data: dict[str, Any]) -> None:
    _groups(data)
    del data["all"]["children"]["swarm_workers"]["hosts"]["rocky3"]


def test_a_worker_leaving_the_group_is_drained_and_leaves(
    fresh_hosts: LabSession, lab: dict[str, Path]
) -> None:
    """rocky3 out of `swarm_workers` (still in `docker_hosts`): one apply drains it on the
    manager, runs `docker swarm leave` on it and removes the node once it is down."""
    rocky1, rocky3 = fresh_hosts.hosts[0], fresh_hosts.hosts[2]
    inventory = derived_inventory(
        fresh_hosts.inventory, lab["dir"] / "inventory-leave.yml", _without_rocky3
    )
    token = run_on(rocky1, "docker swarm join-token -q worker").stdout.strip()
    env = {"SWARM_WORKER_TOKEN": token}
    started = time.monotonic()
    leave = provision(
        "apply", str(inventory), "-p", "playbooks/swarm.yml", "--format", "json", env=env
    )
    took = time.monotonic() - started
    assert leave.returncode == 0, leave.stdout[-3000:] + leave.stderr[-3000:]
    done = {
        name: sorted(t["name"].rsplit(" : ", 1)[-1] for t in r["tasks"] if t["status"] == "changed")
        for name, r in report(leave).items()
    }
    assert done == {
        "rocky1": [
            "Swarm nodes outside the groups are drained",
            "Swarm nodes that left are removed",
        ],
        "rocky2": [],
        "rocky3": ["A host outside the groups leaves the swarm"],
    }, done
    state = run_on(rocky3, "docker info --format '{{.Swarm.LocalNodeState}}'").stdout.strip()
    assert state == "inactive"
    nodes = run_on(rocky1, "docker node ls --format '{{.Hostname}} {{.Status}}'").stdout
    assert sorted(nodes.splitlines()) == ["rocky1 Ready", "rocky2 Ready"]
    running = run_on(
        rocky1, "docker service ps demo_web --filter desired-state=running --format '{{.Node}}'"
    ).stdout.split()
    assert running and "rocky3" not in running, running  # its replica did not stay there
    print(f"drain, leave and removal in one apply: {took:.1f} s")
    again = provision(
        "apply", str(inventory), "-p", "playbooks/swarm.yml", "--format", "json", env=env
    )
    assert again.returncode == 0, again.stdout[-2000:]
    assert set(changed(again).values()) == {0}, again.stdout[-2000:]
