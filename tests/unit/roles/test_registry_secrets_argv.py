"""The registry passwords never reach a program's argv or environment on the host.

Roles docker_registry and docker_registry_client, and the `registry` check, are compiled
with canary passwords; every task whose arguments hold a canary must be a `command`, and
its guard (run the way the probe runs it) and its commands (as apply runs them) are run
here with spies in place of every program (tests/unit/roles/argv_spy.py). The spies'
record (argv and environment of each program started) must hold no canary, nor the
base64 `user:password` that is as good as it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from tests.unit.roles.argv_spy import leaked, missing_programs, run_spied
from tests.unit.roles.test_registry_roles import compiled

from provision.check.registry import RegistryFact
from provision.facts.kinds import CommandFact, CommandResult
from provision.facts.probe import probe_script
from provision.planning.model import Change, HostState

# Passwords with the characters that break naive quoting (quote, backslash, $, spaces,
# a leading dash), each with a unique canary inside.
CANARIES = [
    "c4n4ry7f3a91-plain",
    "-c4n4ry2b8c-dash",
    "c4n4ry5d1e 'quote' \"dq\"",
    "c4n4ry9c4f\\back$HOME`x`;|&",
    "c4n4ryee01-" + "long" * 200,
]


def marker(secret: str) -> str:
    """The canary's unique part: found in a task's (quoted) arguments, and never allowed
    in the record, even as a piece of the password."""
    return secret[secret.index("c4n4ry") :][:10]


# Task types that run nothing on the host (their messages are masked like all output).
LOCAL_ONLY = {"debug"}


def _secret_tasks(tasks: list[Any], secret: str) -> list[Any]:
    found = []
    for bound in tasks:
        if bound.task.type_name in LOCAL_ONLY:
            continue
        params = bound.task.params if hasattr(bound.task, "params") else vars(bound.task)
        params = repr(dataclasses.asdict(params) if dataclasses.is_dataclass(params) else params)
        if marker(secret) in params:
            found.append(bound.task)
    return found


def _run_task(root: Path, task: Any) -> list[tuple[str, Any]]:
    """(what, SpyRun) for the task's guard (as the probe runs it) and its commands."""
    runs = []
    guard = task.params.unless
    if guard:
        script, _marker = probe_script([CommandFact(guard)])
        runs.append(("guard", run_spied(root, script)))
        state = HostState({CommandFact(guard): CommandResult(1, "", "")})
    else:
        state = HostState({})
    outcome = task.plan(state)
    assert isinstance(outcome, Change), outcome
    for command in outcome.commands:
        runs.append(("command", run_spied(root, command.script, command.stdin)))
    return runs


def _check(root: Path, tasks: list[Any], secret: str, user: str) -> int:
    holders = _secret_tasks(tasks, secret)
    assert holders, "the canary reached no task: the test would prove nothing"
    checked = 0
    for task in holders:
        assert task.type_name == "command", f"{task.describe()} holds the password: review it"
        for what, run in _run_task(root, task):
            assert not missing_programs(run), run.stderr
            assert not leaked(run, secret, user), (what, leaked(run, secret, user))
            assert marker(secret) not in run.record, what
            checked += 1
    return checked


@pytest.mark.parametrize("secret", CANARIES)
def test_registry_push_keeps_the_password_off_argv(tmp_path: Path, secret: str) -> None:
    secret = secret[:72]  # bcrypt's limit (the role refuses longer ones)
    quoted = secret.replace("'", "''")
    tasks = compiled(
        tmp_path,
        f"      docker_registry_users: [{{name: alice, password: '{quoted}'}}]\n"
        "      docker_registry_push_images: [{source: 'registry:2', repository: lab/reg}]\n",
        ("docker_registry",),
    )
    assert _check(tmp_path, tasks, secret, "alice") == 2  # the guard and the push


@pytest.mark.parametrize("secret", CANARIES)
def test_client_login_keeps_the_password_off_argv(tmp_path: Path, secret: str) -> None:
    quoted = secret.replace("'", "''")
    tasks = compiled(
        tmp_path,
        "      docker_registry_client_registry: 10.0.0.5:5000\n"
        "      docker_registry_client_user: alice\n"
        f"      docker_registry_client_password: '{quoted}'\n",
        ("docker_registry_client",),
    )
    assert _check(tmp_path, tasks, secret, "alice") == 2  # the guard and the login


@pytest.mark.parametrize("secret", CANARIES)
def test_registry_check_keeps_the_password_off_argv(tmp_path: Path, secret: str) -> None:
    (tmp_path / "ca").mkdir()
    fact = RegistryFact("10.0.0.5:5000", "alice", secret)
    script, _marker = probe_script([fact])  # type: ignore[list-item]
    run = run_spied(tmp_path, script)
    assert not missing_programs(run), run.stderr
    assert "ARGV" in run.record
    assert not leaked(run, secret, "alice")
    assert marker(secret) not in run.record


@pytest.mark.parametrize(
    "script",
    [
        "sh -c 'printf %s \"$1\" | docker login --password-stdin r' sh {pw}",
        "docker login -u alice -p {pw} r",
        "curl -u alice:{pw} https://r/v2/",
        "P={pw}; export P; docker push r/x",
        "auth=$(printf 'alice:%s' {pw} | base64); grep -qF \"$auth\" /root/.docker/config.json",
    ],
)
def test_the_spy_sees_a_password_in_argv_or_environment(tmp_path: Path, script: str) -> None:
    """The harness itself: each of these leaks, and the spies must say so."""
    import shlex

    secret = "canary-leak-41aa"
    run = run_spied(tmp_path, script.format(pw=shlex.quote(secret)))
    assert leaked(run, secret, "alice"), run.record
