"""The command line's Ansible habits: inventory sources (-i, ansible.cfg), ssh_config (-F),
-J, and what runs instead of a plan: --list-hosts, --list-tasks, --syntax-check; then
--start-at-task, --step and -vvvv (connection debugging).

Verbosity (`-v` … `-vvvv`), each level adding to the one before:
  -v     every task of every host with its status and the reason (ok, skipped, changed)
  -vv    and the commands each change runs (secrets masked)
  -vvv   and the probe: the facts read for each host and how long it took
  -vvvv  and connection debugging on stderr: which ansible.cfg and ssh_config were read,
         each SSH hop as it connects (jump host N of M, user@host:port), the auth methods
         tried (key file names, agent, "a password (not shown)") and the host key
         fingerprint; never a password, passphrase or key.
"""

from __future__ import annotations

import fnmatch
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError

DEFAULT_FORKS = 50
DEFAULT_TIMEOUT = 10.0


@dataclass
class Controller:
    """The sources and settings of one run, command line over ansible.cfg over defaults."""

    sources: Any  # inventory.Sources
    forks: int
    timeout: float
    accept_new_host_keys: bool
    config: Any  # ansiblecfg.AnsibleConfig
    warnings: list[str] = field(default_factory=list)


def resolve(
    inventory: Path | None,
    inventory_sources: tuple[str, ...] = (),
    ssh_config_file: Path | None = None,
    jump: str | None = None,
    forks: int | None = None,
    timeout: float | None = None,
    accept_new_host_keys: bool = False,
    verbose: int = 0,
) -> Controller:
    """Read ansible.cfg and ssh_config, and settle every value (InputError when bad)."""
    from provision.execution.sshconfig import default_path, load_ssh_config
    from provision.project.ansiblecfg import load_config
    from provision.project.connvalues import ConnValueError, parse_jump
    from provision.project.hostconfig import ControllerSettings
    from provision.project.inventory import Sources
    from provision.project.playbook import configure_roles_path

    if verbose >= 4:
        enable_connection_debug()
    config = load_config()
    log = logging.getLogger("provision.ssh")
    log.debug("ansible.cfg: %s", config.path or "none found")
    warnings = list(config.warnings)
    if jump is not None:
        try:
            parse_jump(jump)
        except ConnValueError as exc:
            raise InputError(f"-J {exc.message}", hint=exc.hint)
    if ssh_config_file is not None:
        ssh_config = load_ssh_config(ssh_config_file, required=True)
    elif config.ssh.config_file is not None:
        ssh_config = load_ssh_config(Path(config.ssh.config_file), required=True)
    else:
        ssh_config = load_ssh_config(default_path())
    log.debug("ssh config: %s", ssh_config.path if ssh_config else "none")
    paths: list[Path] = [inventory] if inventory is not None else []
    paths += [Path(s) for s in inventory_sources]
    if not paths:
        paths = list(config.inventory)
    if not paths:
        raise InputError(
            "no inventory given",
            hint="give INVENTORY, or -i SOURCE (repeatable), or set `inventory` in ansible.cfg",
        )
    settings = ControllerSettings(config=config, ssh_config=ssh_config, jump=jump)
    _vault_from_config(config)
    configure_roles_path(config.roles_path)
    accept_new = accept_new_host_keys
    if not accept_new and (config.host_key_checking is False or config.ssh.accept_new_host_keys):
        accept_new = True
        where = config.where("host_key_checking") or config.where("ssh_args")
        warnings.append(
            f"warning: {where} turns host key checking off; provision records unknown host"
            " keys (as --accept-new-host-keys) and still refuses a changed one"
        )
    return Controller(
        sources=Sources(tuple(paths), settings),
        forks=forks or config.forks or DEFAULT_FORKS,
        timeout=timeout or config.ssh.connect_timeout or config.timeout or DEFAULT_TIMEOUT,
        accept_new_host_keys=accept_new,
        config=config,
        warnings=warnings,
    )


def _vault_from_config(config: Any) -> None:
    """ansible.cfg's vault_password_file / vault_identity_list, handed to the vault module
    (its --vault-* options win, as in Ansible: `configure` adds nothing when they were given)."""
    if config.vault_password_file is None and not config.vault_identity_list:
        return
    try:
        from provision.project import vault  # type: ignore[attr-defined]
    except ImportError:  # the vault module is not part of this build
        return
    base = config.path.parent if config.path is not None else Path.cwd()
    files = [str(config.vault_password_file)] if config.vault_password_file else []
    vault.configure(
        vault.VaultSettings(password_files=files, ids=list(config.vault_identity_list), base=base)
    )


def enable_connection_debug() -> None:
    """-vvvv: provision's connection log on stderr (paramiko's own log stays quiet)."""
    log = logging.getLogger("provision.ssh")
    if not any(getattr(h, "_provision", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ssh: %(message)s"))
        handler._provision = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False


def list_hosts(compiled: Any) -> list[str]:
    """As ansible-playbook --list-hosts: per play, its hosts after --limit."""
    lines = []
    for name, host_plays in compiled.plays:
        lines.append(f"play: {name} ({len(host_plays)} hosts)")
        lines += [f"  {hp.host.name}" for hp in host_plays]
    return lines


def list_tasks(compiled: Any) -> list[str]:
    """As ansible-playbook --list-tasks: per play, the tasks selected by tags (the first
    host's list: a task a host's `when:` skips is still listed, as in Ansible)."""
    lines = []
    for name, host_plays in compiled.plays:
        lines.append(f"play: {name}")
        if not host_plays:
            continue
        for task in host_plays[0].tasks:
            if "--tags" in task.skip_reason or "--skip-tags" in task.skip_reason:
                continue
            tags = f"  TAGS: [{', '.join(task.tags)}]" if task.tags else ""
            lines.append(f"  {task_label(task)}{tags}")
    return lines


def task_label(task: Any) -> str:
    return f"{task.role} : {task.name}" if task.role else task.name


def _matches(task: Any, wanted: str) -> bool:
    names = (task.name, task_label(task))
    return any(n == wanted or fnmatch.fnmatchcase(n, wanted) for n in names)


def start_at_task(compiled: Any, wanted: str) -> None:
    """--start-at-task NAME: every task before the first one named NAME (or `role : NAME`,
    or matching it as a glob) is skipped, across plays, as in Ansible."""
    found = False
    for _, host_plays in compiled.plays:
        if not host_plays:
            continue
        count = len(host_plays[0].tasks)
        start = None
        if not found:
            start = next(
                (i for i, t in enumerate(host_plays[0].tasks) if _matches(t, wanted)), None
            )
            if start is None:
                start = count
            else:
                found = True
        else:
            start = 0
        for host_play in host_plays:
            for task in host_play.tasks[:start]:
                _skip(task, f"before --start-at-task {wanted!r}")
    if not found:
        raise InputError(
            f"--start-at-task {wanted!r}: no task of the selected plays has that name",
            hint="provision --list-tasks shows the names (a role's tasks as `role : name`)",
        )


def needs_terminal(is_terminal: bool) -> None:
    """--step without a terminal is refused before any host is touched (exit 2)."""
    if not is_terminal:
        raise InputError(
            "--step asks before each task and needs a terminal; standard input is not one",
            hint="run it in a terminal, or use --start-at-task / --tags to choose tasks",
        )


def live_step(stop: Any, err: bool = False) -> Any:
    """`apply --step`: a gate that asks on the terminal just before each task runs
    (provision.execution.stepmode); the questions go to stderr when stdout is JSON."""
    from provision.execution.stepmode import StepGate, read_answer

    return StepGate(lambda text: read_answer(text, stop, err), stop)


def step(compiled: Any, ask: Callable[[str], str], is_terminal: bool) -> None:
    """`plan --step`: each task is confirmed before the plan ((y)es, (n)o, (c)ontinue with
    all the rest; any other answer is no, as in ansible-playbook), all asked up front (a
    plan runs nothing, so there is nothing to stop before). `apply --step` asks just before
    each task runs instead: `live_step`."""
    from provision.execution.stepmode import CONTINUE, NO, parse_answer, question

    needs_terminal(is_terminal)
    decided: dict[str, bool] = {}
    go_on = False
    for _, host_plays in compiled.plays:
        if not host_plays:
            continue
        for task in host_plays[0].tasks:
            label = task_label(task)
            waits = task.pending is not None or task.late_loop is not None
            if task.task is None and not waits or label in decided:
                continue
            if go_on:
                decided[label] = True
                continue
            word = parse_answer(ask(question(label)))
            go_on = word == CONTINUE
            decided[label] = word != NO
        for host_play in host_plays:
            for task in host_play.tasks:
                if decided.get(task_label(task)) is False:
                    _skip(task, "declined at --step")


def _skip(task: Any, reason: str) -> None:
    task.task = None
    task.pending = None
    task.skip_reason = reason
