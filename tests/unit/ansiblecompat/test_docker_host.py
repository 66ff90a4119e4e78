"""bench/ansible/docker-host.yml (written for ansible-core) through this tool.

`test_every_module_call_plans_on_a_fresh_host`: every task's module call, with the task
keywords that the branch `ansible-keywords` brings (register, changed_when, failed_when,
check_mode, environment, meta) taken off and the registered results given as variables,
compiles and plans on a fresh host's facts without any error, and its converged state
plans to no change.

`test_the_playbook_unchanged_*`: the file as it is, planned on a fresh host's facts with
the read-only commands' answers given by the script the probe runs. The lab test
(tests/lab/test_ansible_docker_host.py) runs it for real, with ansible-core after it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.tasks.test_cases import fact_value

from provision.facts.kinds import CommandFact, CommandResult
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp
from provision.planning.planner import plan_host
from provision.project.compile import compile_run
from provision.project.registered import ReadCommand
from provision.project.templating import render_value

ROOT = Path(__file__).parents[3]
PLAYBOOK = ROOT / "bench" / "ansible" / "docker-host.yml"
FINGERPRINT = "EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"  # tests/unit/facts/openpgp/ed25519.asc
LAB_VARS = {
    "dnf_proxy": "http://10.200.0.1:3128",
    "docker_repo_url": "http://10.200.0.1:8080/docker-ce/linux/rhel/docker-ce.repo",
    "docker_gpg_key_url": "http://10.200.0.1:8080/docker-ce/linux/rhel/gpg",
    "docker_http_proxy": "http://10.200.0.1:3128",
    "docker_https_proxy": "http://10.200.0.1:3128",
    "docker_no_proxy": "localhost,127.0.0.1",
    "selinux_allowed_modes": ["Enforcing", "Permissive", "Disabled"],
    "docker_gpg_fingerprint": FINGERPRINT,
}
# What the read-only commands would have registered on a fresh Rocky 9 host.
REGISTERED = {
    "firewalld_state": {"stdout": "active", "rc": 0},
    "selinux_mode": {"stdout": "Enforcing", "rc": 0},
    "ip_forward_live": {"stdout": "0", "rc": 0},
    "conflicting": {"stdout": "podman\nrunc", "stdout_lines": ["podman", "runc"], "rc": 0},
    "docker_info": {"stdout": "27.3.1 overlay2", "rc": 0},
}
KEYWORDS = ("register", "changed_when", "failed_when", "check_mode", "environment")
FRESH = {
    "files": {"/etc/dnf/dnf.conf": {"content": "[main]\ngpgcheck=1\n"}},
    "packages": {"podman": ["4.9.4-1.el9"], "runc": ["1.1.12-1.el9"]},
    "updates": [],
    "rpm_keys": {"fetched": "ed25519.asc"},
}


def _inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    hosts = {"rocky1": {"ansible_connection": "local"}}
    data = {"all": {"vars": LAB_VARS, "children": {"docker_hosts": {"hosts": hosts}}}}
    path.write_text(yaml.safe_dump(data))
    return path


def _without_keywords(plays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plays = copy.deepcopy(plays)
    for play in plays:
        play["vars"] = {**play.get("vars", {}), **REGISTERED}
        kept = []
        for task in play["tasks"]:
            if "ansible.builtin.meta" in task:
                continue  # flush_handlers: ansible-keywords
            kept.append({k: v for k, v in task.items() if k not in KEYWORDS})
        play["tasks"] = kept
    return plays


def _uses_missing_filter(text: str) -> bool:
    try:
        render_value("{{ 'a' | regex_escape }}", {}, None, "probe")  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - the filter comes with branch ansible-vault-jinja
        return "regex_escape" in text
    return False


def _fake_state(tasks: list[Any]) -> HostState:
    values: dict[Any, Any] = {}
    folder = ROOT / "tests" / "unit" / "facts" / "openpgp"
    for compiled in tasks:
        if compiled.task is None:
            continue
        for fact in compiled.task.facts():
            if isinstance(fact, CommandFact):
                values[fact] = CommandResult(0, "", "")
            else:
                values[fact] = fact_value(fact, FRESH, folder)
    return HostState(values)


def test_every_module_call_plans_on_a_fresh_host(tmp_path: Path):
    plays = yaml.safe_load(PLAYBOOK.read_text())
    text = PLAYBOOK.read_text()
    stripped = _without_keywords(plays)
    if _uses_missing_filter(text):
        # regex_escape comes with branch ansible-vault-jinja: escape the one path here.
        for task in stripped[0]["tasks"]:
            args = task.get("ansible.builtin.replace")
            if args:
                args["regexp"] = args["regexp"].replace(
                    "{{ docker_gpg_key_file | regex_escape }}",
                    r"/etc/pki/rpm\-gpg/RPM\-GPG\-KEY\-docker\-ce",
                )
    playbook = tmp_path / "docker-host.yml"
    playbook.write_text(yaml.safe_dump(stripped, sort_keys=False))
    compiled = compile_run(_inventory(tmp_path), playbook)
    ((_, (host_play,)),) = compiled.plays
    names = [t.name for t in host_play.tasks]
    assert len(names) == len(stripped[0]["tasks"])
    state = _fake_state([*host_play.tasks, *host_play.handlers])
    plan = plan_host(host_play.tasks, host_play.handlers, state)
    outcomes = {step.task.name: step.outcome for step in plan.steps}
    failed = {n: o for n, o in outcomes.items() if isinstance(o, Failed)}
    assert not failed, failed
    # a fresh host: the declarative steps change it
    for name in (
        "dnf proxy URL in dnf.conf [main]",
        "IPv4 forwarding persisted",
        "Docker's GPG key downloaded",
        "daemon.json",
        "engine proxy drop-in",
        "Docker CE packages",
        "conflicting container packages removed",
    ):
        assert isinstance(outcomes[name], Change), (name, outcomes[name])
    assert isinstance(outcomes["no stale dnf proxy user name or password"], NoOp)
    assert [h.handler.name for h in plan.handlers] == ["restart docker"]
    # the read-only checks pass on these results
    for name in (
        "firewalld is active and the SELinux mode is allowed",
        "Docker engine answers with the configured storage driver",
    ):
        assert isinstance(outcomes[name], NoOp | Deferred), outcomes[name]


def test_a_wrong_registered_result_fails_the_assert(tmp_path: Path):
    plays = _without_keywords(yaml.safe_load(PLAYBOOK.read_text()))
    plays[0]["vars"]["selinux_mode"] = {"stdout": "Unknown", "rc": 0}
    plays[0]["tasks"] = [t for t in plays[0]["tasks"] if "ansible.builtin.assert" in t][:1]
    playbook = tmp_path / "p.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    compiled = compile_run(_inventory(tmp_path), playbook)
    ((_, (host_play,)),) = compiled.plays
    plan = plan_host(host_play.tasks, [], _fake_state(host_play.tasks))
    assert isinstance(plan.steps[0].outcome, Failed)
    assert "selinux_allowed_modes" in plan.steps[0].outcome.message


# The read-only commands' answers on a fresh Rocky 9 host, by the script the probe runs.
RPM_Q = (
    "rpm -q --qf '%{NAME}\n' podman podman-docker runc buildah docker docker-client"
    " docker-client-latest docker-common docker-latest docker-latest-logrotate"
    " docker-logrotate docker-engine"
)
COMMANDS = {
    "systemctl is-active firewalld": {"stdout": "active\n"},
    "getenforce": {"stdout": "Enforcing\n"},
    "sysctl -n net.ipv4.ip_forward": {"stdout": "0\n"},
    RPM_Q: {"rc": 1, "stdout": "podman\nrunc\npackage buildah is not installed\n"},
    "docker info --format '{{.ServerVersion}} {{.Driver}}'": {"stdout": "27.3.1 overlay2\n"},
}


# A fresh host where the lab already wrote the dnf proxy line: nothing changes before the
# first read-only commands, so they are read in the probe.
PROXIED = "[main]\ngpgcheck=1\nproxy=http://10.200.0.1:3128\n"


def _plan_unchanged(tmp_path: Path, commands: dict[str, Any], dnf_conf: str = PROXIED) -> Any:
    compiled = compile_run(_inventory(tmp_path), PLAYBOOK)
    ((_, (host_play,)),) = compiled.plays
    facts = {**FRESH, "commands": commands, "files": {"/etc/dnf/dnf.conf": {"content": dnf_conf}}}
    folder = ROOT / "tests" / "unit" / "facts" / "openpgp"
    values: dict[Any, Any] = {}
    for compiled_task in [*host_play.tasks, *host_play.handlers]:
        if compiled_task.task is not None:
            for fact in compiled_task.task.facts():
                values[fact] = fact_value(fact, facts, folder)
    plan = plan_host(host_play.tasks, host_play.handlers, HostState(values))
    return {"steps": {s.task.name: s.outcome for s in plan.steps}, "plan": plan}


def test_the_playbook_unchanged_compiles_and_plans(tmp_path: Path):
    """The file exactly as ansible-core runs it: every read-only command is read in the
    probe (its argv quoted word by word), and each `when:` over their answers is decided
    at plan time, never left for apply."""
    compiled = compile_run(_inventory(tmp_path), PLAYBOOK)
    ((_, (host_play,)),) = compiled.plays
    scripts = {
        t.name: t.task.fact.script for t in host_play.tasks if isinstance(t.task, ReadCommand)
    }
    assert scripts["read which conflicting packages are installed"] == RPM_Q
    assert set(scripts.values()) == set(COMMANDS)
    got = _plan_unchanged(tmp_path, COMMANDS)
    steps = got["steps"]
    assert not {n: o for n, o in steps.items() if isinstance(o, Failed)}, steps
    # read in the probe, and the checks and `when:` over them decided at plan time
    for name in ("read firewalld state", "read SELinux mode", "read live net.ipv4.ip_forward"):
        assert isinstance(steps[name], NoOp) and "read in the probe" in str(steps[name])
    assert isinstance(steps["firewalld is active and the SELinux mode is allowed"], NoOp)
    assert isinstance(steps["IPv4 forwarding on (live)"], Change)
    # after a change: read at apply, at its place, and `plan` says so (never a guess)
    for name in (
        "read which conflicting packages are installed",
        "conflicting container packages removed",
        "read the engine's version and storage driver",
        "Docker engine answers with the configured storage driver",
        "Docker's GPG key imported, its fingerprint checked",  # downloaded by the step before
    ):
        assert isinstance(steps[name], Deferred) and "at apply" in str(steps[name]), name
    for name in (
        "IPv4 forwarding persisted",
        "Docker's GPG key downloaded",
        "Docker CE repository added",
        "daemon.json",
        "engine proxy drop-in",
        "Docker CE packages",
        "Docker engine enabled and running",
    ):
        assert isinstance(steps[name], Change), (name, steps[name])
    # flushed at `meta: flush_handlers`; skipped since docker starts after the change
    assert "started after the change" in str(steps["restart docker"])


def test_on_a_host_without_the_proxy_line_every_read_waits_for_apply(tmp_path: Path):
    steps = _plan_unchanged(tmp_path, COMMANDS, dnf_conf="[main]\n")["steps"]
    assert isinstance(steps["dnf proxy URL in dnf.conf [main]"], Change)
    assert isinstance(steps["read SELinux mode"], Deferred)
    assert isinstance(steps["IPv4 forwarding on (live)"], Deferred)


@pytest.mark.parametrize(
    ("name", "answer", "words"),
    [
        ("getenforce", {"stdout": "Unknown\n"}, "selinux_allowed_modes"),
        ("systemctl is-active firewalld", {"rc": 3, "stdout": "inactive\n"}, "firewalld"),
    ],
)
def test_a_wrong_answer_fails_the_playbooks_assert(tmp_path: Path, name, answer, words):
    steps = _plan_unchanged(tmp_path, {**COMMANDS, name: answer})["steps"]
    failed = [o for o in steps.values() if isinstance(o, Failed)]
    assert len(failed) == 1 and words in failed[0].message, steps


def test_forwarding_already_on_is_skipped_at_plan_time(tmp_path: Path):
    answers = {**COMMANDS, "sysctl -n net.ipv4.ip_forward": {"stdout": "1\n"}}
    steps = _plan_unchanged(tmp_path, answers)["steps"]
    assert steps["IPv4 forwarding on (live)"] is None, steps  # skipped by its `when:`
