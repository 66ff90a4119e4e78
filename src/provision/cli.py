"""The `provision` command. Imports are lazy so that `--help` stays fast."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from provision.project.vault import VAULT_OPTIONS

EXIT_CODES = """\b
Exit codes (when several apply, the first of 130, 1, 3, 4 wins):
  0  success (plan: no changes pending)
  1  a task failed or a host did not converge
  2  bad input or usage; nothing on any host was touched
  3  a host was unreachable (and none failed), even if others have changes pending
  4  plan: changes pending
  5  apply: refused, the plan is stale (a host drifted or an input changed since it)
  6  apply: declined at the confirmation question; nothing was changed
  130 interrupted (Ctrl-C)"""

DEFAULT_PLAYBOOK = "playbooks/site.yml"
STATE_DIR = ".provision"


class InputFailure(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        """Each line with control characters shown escaped (secrets in input errors were
        masked where they were raised, by the compiler, which knows them)."""
        from provision.reporting.terminal import block_lines, escape_control

        lines = block_lines(f"error: {self.message}")
        click.echo("\n".join(escape_control(line, keep_tab=True) for line in lines), err=True)


TARGET_OPTIONS = [
    click.argument("inventory", type=click.Path(path_type=Path), required=False),
    click.option(
        "-i",
        "--inventory",
        "inventory_sources",
        multiple=True,
        help="Inventory source: a YAML or INI file, a folder of them, or host1,host2, ."
        " Repeatable; merged in order, as Ansible does. Default: ansible.cfg's inventory.",
    ),
    click.option("--list-hosts", is_flag=True, help="List each play's hosts; run nothing."),
    click.option("--list-tasks", is_flag=True, help="List each play's tasks; run nothing."),
    click.option(
        "--syntax-check",
        is_flag=True,
        help="Check the inventory, playbook and roles (everything a plan checks before any"
        " host is touched); connect to no host.",
    ),
    click.option(
        "--start-at-task",
        default=None,
        metavar="NAME",
        help="Skip every task before the first one named NAME (or `role : NAME`, or a glob).",
    ),
    click.option(
        "--step",
        is_flag=True,
        help="Ask just before each task runs: (y)es, (n)o, (c)ontinue. Needs a terminal.",
    ),
    click.option(
        "-p",
        "--playbook",
        type=click.Path(path_type=Path),
        default=None,
        help=f"Playbook to run or check (default: {DEFAULT_PLAYBOOK}).",
    ),
    click.option(
        "-l",
        "--limit",
        default=None,
        help="Host pattern to restrict the run; @last-failed: hosts that failed "
        "or were unreachable in the previous run.",
    ),
    click.option(
        "-e",
        "--extra-vars",
        "extra_vars",
        multiple=True,
        help="key=value or @file.yml; highest precedence. Repeatable.",
    ),
]
RUN_OPTIONS = [
    click.option(
        "-f",
        "--forks",
        type=click.IntRange(1, 500),
        default=None,
        help="Hosts worked on at once (default: ansible.cfg's forks, else 50).",
    ),
    click.option("-t", "--tags", default="", help="Only tasks with these tags (comma list)."),
    click.option("--skip-tags", default="", help="Skip tasks with these tags (comma list)."),
    click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    ),
    click.option("--stats", is_flag=True, help="Show remote command counts and probe time."),
    click.option(
        "-v",
        "--verbose",
        count=True,
        help="-v: every task with its reason; -vv: and the commands; -vvv: and the probe;"
        " -vvvv: and connection debugging (hops, auth methods; never secrets).",
    ),
    click.option(
        "--color/--no-color",
        "color",
        default=None,
        help="Colour the output or not (default: on a terminal, unless NO_COLOR is set).",
    ),
    *VAULT_OPTIONS,
]
CONNECTION_OPTIONS = [
    click.option(
        "--timeout",
        type=click.FloatRange(0.5, 600),
        default=None,
        help="Seconds to wait for a host's SSH connection (default: ansible.cfg's timeout,"
        " else 10).",
    ),
    click.option(
        "-F",
        "--ssh-config",
        "ssh_config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="ssh_config file to read instead of ~/.ssh/config.",
    ),
    click.option(
        "-J",
        "--jump",
        default=None,
        metavar="[USER@]HOST[:PORT][,...]",
        help="Jump hosts (ProxyJump), in order, for hosts that set none themselves.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(0, 10),
        default=0,
        show_default=True,
        help="Retry connecting to a host this many times, with backoff (1 s, 2 s, 4 s...).",
    ),
    click.option(
        "--accept-new-host-keys",
        is_flag=True,
        help="Record unknown host keys (like OpenSSH's accept-new); a changed key "
        "is always refused.",
    ),
]


def _with(*groups: list) -> Any:
    def decorate(func: Any) -> Any:
        for option in reversed([o for group in groups for o in group]):
            func = option(func)
        return func

    return decorate


def _common(func: Any) -> Any:
    return _with(TARGET_OPTIONS, RUN_OPTIONS, CONNECTION_OPTIONS)(func)


class LazyGroup(click.Group):
    """A group whose heavy subcommands are imported only when one of them runs.

    `lazy` maps a command name to ("module:attribute", its help text): `provision --help`
    lists that text without importing the module (tests/unit/packaging checks that it is
    the command's own)."""

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            target = self.lazy[cmd_name][0]
            module_name, attribute = target.split(":")
            try:
                command = getattr(importlib.import_module(module_name), attribute)
            except ImportError as exc:
                raise click.ClickException(f"`provision {cmd_name}` cannot load: {exc}")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                stand_in = click.Command(name, help=self.lazy[name][1])
                rows.append((name, stand_in.get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


# `provision lab` pulls in the whole lab: imported only when it runs. PROVISION_NO_LAB=1
# leaves it out.
LAZY_COMMANDS = (
    {}
    if os.environ.get("PROVISION_NO_LAB") == "1"
    else {
        "lab": (
            "provision.lab.cli:lab",
            "The container lab: Rocky 9-like hosts in systemd-nspawn containers (needs root).",
        )
    }
)
LAZY_COMMANDS["lint"] = (
    "provision.ansible.lint:lint",
    "List which tasks of an Ansible role or playbook run as they are (exit 0 when all do).",
)
LAZY_COMMANDS["show"] = (
    "provision.changecontrol.commands:show",
    "Show a saved plan file (`plan -o`) as `plan` shows a plan, or as JSON.",
)
LAZY_COMMANDS["pull"] = (
    "provision.pull:pull",
    "Fetch the project and apply it to this machine, with the local connection.",
)
LAZY_COMMANDS["audit"] = (
    "provision.audit.cli:audit",
    "Security audit: the CIS Docker Benchmark's host and daemon checks, a score per host.",
)
LAZY_COMMANDS["bundle"] = (
    "provision.bundle.cli:bundle",
    "Offline bundles for air-gapped sites: create (on a reference host), verify, list.",
)


@click.group(cls=LazyGroup, lazy=LAZY_COMMANDS, epilog=EXIT_CODES)
@click.version_option(package_name="provision")
def main() -> None:
    """Provision Rocky Linux / RHEL 9 hosts to run Docker CE: plan, apply, verify."""


@main.command(epilog=EXIT_CODES)
@_common
@click.option(
    "-o",
    "--output",
    "plan_output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Save the plan to this file (for review, then `apply FILE`); prints its SHA-256.",
)
def plan(plan_output: Path | None, **kwargs: Any) -> None:
    """Show what apply would change (a dry run: nothing on any host is touched)."""
    from provision.startup import collector_paused

    with collector_paused():  # the run's modules, imported with the collector paused
        from provision.changecontrol.session import for_plan

    sys.exit(_run("plan", diff=True, control=for_plan(plan_output), **kwargs))


@main.command(epilog=EXIT_CODES)
@_common
@click.option("--check", is_flag=True, help="Only plan (same as `provision plan`).")
@click.option("--diff", is_flag=True, help="Show a unified diff for every changed file.")
@click.option(
    "--verify", "run_verify", is_flag=True, help="Run `provision verify` after a successful apply."
)
@click.option(
    "--batch-pause",
    type=click.FloatRange(0, 86400),
    default=0.0,
    callback=lambda ctx, param, value: _finite(value, param),
    help="Seconds to wait between two batches of a play with `serial` (Ctrl-C ends it).",
)
@click.option(
    "--max-disruption",
    type=click.Choice(["none", "reload", "restart", "reboot"]),
    default=None,
    help="Refuse (exit 1, nothing changed there) a host whose plan disrupts more: "
    "a service reload, restart, or a reboot. See docs/rolling.md.",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask before changing (on a terminal).")
@click.option(
    "--stale",
    type=click.Choice(["skip", "abort"]),
    default="skip",
    show_default=True,
    help="apply PLAN: a host whose plan is stale is refused; skip: the others go on; "
    "abort: no host is changed.",
)
@click.option("--expect-sha256", default=None, help="apply PLAN: refuse a file with another hash.")
@click.option(
    "--audit-log",
    envvar="PROVISION_AUDIT_LOG",
    default=None,
    help="Audit log (JSON lines) [default: .provision/audit.jsonl; env PROVISION_AUDIT_LOG].",
)
@click.option("--audit-syslog", is_flag=True, help="Also send the audit lines to syslog.")
def apply(
    check: bool,
    diff: bool,
    run_verify: bool,
    batch_pause: float,
    max_disruption: str | None,
    **kwargs: Any,
) -> None:
    """Converge the hosts: run the planned changes, handlers, then check convergence.

    INVENTORY may be a plan file saved by `plan -o`: then exactly its changes are applied."""
    from provision.startup import collector_paused

    with collector_paused():  # the run's modules, imported with the collector paused
        from provision.changecontrol.session import for_apply

    if kwargs.get("step") and kwargs.get("yes"):
        raise InputFailure("--step asks before each task and --yes says not to ask: give one")
    names = ("yes", "stale", "expect_sha256", "audit_log", "audit_syslog")
    control = for_apply(kwargs["inventory"], check, *(kwargs.pop(n) for n in names))
    kwargs = control.arguments(kwargs)
    rolling = {"batch_pause": batch_pause, "max_disruption": max_disruption}
    code = _run(
        "plan" if check else "apply", diff=diff or check, control=control, **rolling, **kwargs
    )
    if code == 0 and run_verify and not check:
        code = _verify(**kwargs)
    sys.exit(code)


@main.command(epilog=EXIT_CODES)
@_with(TARGET_OPTIONS, CONNECTION_OPTIONS, VAULT_OPTIONS)
@click.option(
    "--junit-xml",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a JUnit XML report for CI systems.",
)
def verify(**kwargs: Any) -> None:
    """Check the hosts with pytest-testinfra: every declared task, plus each role's tests."""
    sys.exit(_verify(**kwargs))


@main.command("init")
@click.argument("directory", metavar="DIR")
@click.option("--force", is_flag=True, help="Overwrite starter files that exist already.")
def init_command(directory: str, force: bool) -> None:
    """Write a starter project in DIR that uses the roles shipped with provision.

    \b
      inventories/hosts.yml           your hosts (an example to edit)
      inventories/group_vars/all.yml  the roles' main variables, documented
      playbooks/site.yml              the Docker-host roles, in order
      roles/README.md                 how to add a role or change a shipped one
      .gitignore                      keeps .provision/ (the run record) out of git

    DIR is created if missing; other files in it are left alone. An existing starter
    file is not overwritten unless --force."""
    import shlex

    from provision.errors import InputError
    from provision.shipped import roles_dir
    from provision.starter import check_directory, write_starter

    try:
        written = write_starter(check_directory(directory), force)
    except InputError as exc:
        raise InputFailure(str(exc))
    for item in written:
        click.echo(f"{'replaced' if item.replaced else 'created '} {item.path}")
    shipped = roles_dir()
    if shipped is None:
        click.echo("warning: this install of provision has no shipped roles", err=True)
    else:
        click.echo(f"roles: your roles/ first, then the shipped ones in {shipped}")
    click.echo(
        f"next: cd {shlex.quote(directory)}, put your hosts in inventories/hosts.yml, "
        "then `provision plan inventories/hosts.yml`"
    )


def _controller(
    inventory: Path | None,
    inventory_sources: tuple[str, ...] = (),
    ssh_config_file: Path | None = None,
    jump: str | None = None,
    forks: int | None = None,
    timeout: float | None = None,
    accept_new_host_keys: bool = False,
    verbose: int = 0,
) -> Any:
    """Inventory sources and connection settings: command line > ansible.cfg > defaults."""
    from provision.cli_ansible import resolve
    from provision.errors import InputError

    try:
        controller = resolve(
            inventory,
            inventory_sources,
            ssh_config_file,
            jump,
            forks,
            timeout,
            accept_new_host_keys,
            verbose,
        )
    except InputError as exc:
        raise InputFailure(str(exc))
    for warning in controller.warnings:
        click.echo(warning, err=True)
    return controller


def _verify(
    inventory: Path | None,
    playbook: Path | None,
    limit: str | None,
    extra_vars: tuple[str, ...],
    timeout: float | None,
    retries: int,
    accept_new_host_keys: bool,
    junit_xml: Path | None = None,
    inventory_sources: tuple[str, ...] = (),
    ssh_config_file: Path | None = None,
    jump: str | None = None,
    **_ignored: Any,
) -> int:
    from provision.errors import InputError
    from provision.execution.runner import RunOptions
    from provision.verify.runner import run_verify

    controller = _controller(
        inventory, inventory_sources, ssh_config_file, jump, None, timeout, accept_new_host_keys
    )
    options = RunOptions(
        timeout=controller.timeout,
        retries=retries,
        accept_new_host_keys=controller.accept_new_host_keys,
    )
    try:
        return run_verify(
            controller.sources,
            playbook or Path(DEFAULT_PLAYBOOK),
            _limit(limit),
            list(extra_vars),
            junit_xml,
            options,
        )
    except InputError as exc:
        raise InputFailure(str(exc))


def _finite(value: float, param: Any) -> float:
    """A number option that is a number (click's FloatRange lets `nan` through)."""
    if value != value:
        raise click.BadParameter("must be a number of seconds, not nan", param=param)
    return value


def _limit(limit: str | None) -> str | None:
    if limit != "@last-failed":
        return limit
    from provision.state import StateError, last_failed

    try:
        hosts = last_failed(Path(STATE_DIR))
    except StateError as exc:
        raise InputFailure(
            f"--limit @last-failed: {exc}\n  delete it, or give the hosts with --limit"
        )
    if hosts is None:
        raise InputFailure("--limit @last-failed: no previous run recorded in .provision/")
    if not hosts:
        click.echo("no host failed in the previous run: nothing to do", err=True)
        sys.exit(0)
    return ",".join(hosts)


def _run(
    command: str,
    inventory: Path | None,
    playbook: Path | None,
    limit: str | None,
    extra_vars: tuple[str, ...],
    forks: int | None,
    tags: str,
    skip_tags: str,
    output_format: str,
    timeout: float | None,
    retries: int,
    accept_new_host_keys: bool,
    stats: bool,
    verbose: int,
    color: bool | None,
    diff: bool,
    inventory_sources: tuple[str, ...] = (),
    ssh_config_file: Path | None = None,
    jump: str | None = None,
    list_hosts: bool = False,
    list_tasks: bool = False,
    syntax_check: bool = False,
    start_at_task: str | None = None,
    step: bool = False,
    batch_pause: float = 0.0,
    max_disruption: str | None = None,
    control: Any = None,
) -> int:
    from provision.errors import InputError
    from provision.project.compile import Selection, compile_run, parse_extra_vars
    from provision.reporting.mask import Masker

    controller = _controller(
        inventory,
        inventory_sources,
        ssh_config_file,
        jump,
        forks,
        timeout,
        accept_new_host_keys,
        verbose,
    )
    inventory, forks, timeout = controller.sources, controller.forks, controller.timeout
    accept_new_host_keys = controller.accept_new_host_keys
    playbook = playbook or Path(DEFAULT_PLAYBOOK)
    selection = Selection(
        limit=_limit(limit),
        tags=[t for t in tags.split(",") if t],
        skip_tags=[t for t in skip_tags.split(",") if t],
    )
    try:
        compiled = compile_run(inventory, playbook, parse_extra_vars(list(extra_vars)), selection)
    except InputError as exc:
        raise InputFailure(str(exc))
    masker = Masker(compiled.secrets())
    from provision import cli_ansible

    if list_hosts or list_tasks or syntax_check:
        from provision.reporting.terminal import escape_control

        lines = cli_ansible.list_hosts(compiled) if list_hosts else []
        lines += cli_ansible.list_tasks(compiled) if list_tasks else []
        if syntax_check:
            lines.append(f"playbook: {playbook}: syntax and input checked; no host touched")
        click.echo("\n".join(escape_control(masker(line)) for line in lines))
        return 0
    try:
        if start_at_task is not None:
            cli_ansible.start_at_task(compiled, start_at_task)
        if step and command == "apply":
            cli_ansible.needs_terminal(sys.stdin.isatty())
        elif step:
            cli_ansible.step(
                compiled,
                lambda q: click.prompt(q, default="", show_default=False),
                sys.stdin.isatty(),
            )
    except InputError as exc:
        raise InputFailure(str(exc))
    from provision.execution.runner import RunOptions
    from provision.reporting.console import Console

    json_mode = output_format == "json"
    console = Console(
        masker,
        stream=sys.stderr if json_mode else sys.stdout,
        plan=command == "plan",
        diff=diff,
        verbosity=verbose,
        colour=color,
        stats=stats,
    )
    options = RunOptions(
        apply=command == "apply",
        forks=forks,
        timeout=timeout,
        accept_new_host_keys=accept_new_host_keys,
        retries=retries,
        batch_pause=batch_pause,
        max_disruption=max_disruption,
    )
    if step and command == "apply":
        options.step = cli_ansible.live_step(options.stop, err=json_mode)
    if control is not None:
        control.prepare(compiled, options, masker, inventory, playbook, list(extra_vars), selection)
    listener = (lambda event, payload: None) if json_mode else console.listener
    if not json_mode:
        for name, host_plays in compiled.plays:
            console.play(name, [hp.host.name for hp in host_plays])
    if control is not None:
        reports = control.run(compiled, options, listener, console, _run_interruptible)
    else:
        reports = _run_interruptible(compiled, options, listener, console)
    code = 130 if options.stop.is_set() else exit_code(command, reports)
    if control is not None:
        code = control.finish(reports, code, json_mode)
    from provision.state import record_run

    warning = record_run(Path(STATE_DIR), reports)  # first: written even if rendering fails
    if json_mode:
        from provision.reporting.jsonout import document

        click.echo(
            document(command, str(inventory), str(playbook), reports, code, masker, options.batches)
        )
    else:
        for report in reports:
            console.host_error(report)
        console.recap(reports, command, code)
    if warning:
        click.echo(warning, err=True)
    return code


def _run_interruptible(compiled: Any, options: Any, listener: Any, console: Any) -> list:
    """First Ctrl-C: start no new task or command, let running ones finish, then the recap.
    A second Ctrl-C stops at once."""
    import signal
    import threading

    from provision.execution.runner import run_all

    if threading.current_thread() is not threading.main_thread():
        return run_all(compiled, options, listener)

    def on_interrupt(signum: int, frame: Any) -> None:
        if options.stop.is_set():
            raise KeyboardInterrupt
        options.stop.set()
        console.write(
            [
                "interrupted: finishing running commands, starting nothing new "
                "(Ctrl-C again to stop at once)"
            ]
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        return run_all(compiled, options, listener)
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_code(command: str, reports: list) -> int:
    if any(r.failed for r in reports):
        return 1
    if any(r.unreachable for r in reports):
        return 3
    if command == "plan" and any(r.pending for r in reports):
        return 4
    return 0


def run() -> None:
    """Entry point: no traceback for users (PROVISION_DEBUG=1 shows it)."""
    try:
        main()
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence
        if os.environ.get("PROVISION_DEBUG") == "1":
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("  please report this; PROVISION_DEBUG=1 shows the traceback", err=True)
        sys.exit(1)


# ---- `provision facts` and `provision check`: one probe per host, nothing changed ----

FACTS_OPTIONS = [
    click.argument("inventory", type=click.Path(path_type=Path)),
    click.option("-l", "--limit", default=None, help="Host pattern to restrict the hosts."),
    click.option(
        "-e",
        "--extra-vars",
        "extra_vars",
        multiple=True,
        help="key=value or @file.yml; highest precedence. Repeatable.",
    ),
    click.option(
        "-f",
        "--forks",
        type=click.IntRange(1, 500),
        default=50,
        show_default=True,
        help="Hosts worked on at once.",
    ),
    click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    ),
    *VAULT_OPTIONS,
]


def _read_hosts(
    inventory: Path,
    playbook: Path | None,
    limit: str | None,
    extra_vars: tuple[str, ...],
    forks: int,
    timeout: float | None,
    retries: int,
    accept_new_host_keys: bool,
    check: bool,
    ssh_config_file: Path | None = None,
    jump: str | None = None,
) -> tuple[list, Any]:
    from provision.check.run import read_all
    from provision.errors import InputError
    from provision.execution.runner import RunOptions
    from provision.project.compile import host_settings, parse_extra_vars
    from provision.reporting.mask import Masker

    controller = _controller(
        inventory, (), ssh_config_file, jump, forks, timeout, accept_new_host_keys
    )
    inventory, timeout = controller.sources, controller.timeout
    accept_new_host_keys = controller.accept_new_host_keys

    try:
        hosts = host_settings(inventory, playbook, parse_extra_vars(list(extra_vars)), limit)
    except InputError as exc:
        raise InputFailure(str(exc))
    masker = Masker(sorted({s for h in hosts for s in h.secrets}))
    options = RunOptions(
        forks=forks, timeout=timeout, retries=retries, accept_new_host_keys=accept_new_host_keys
    )
    try:
        return read_all(hosts, options, check), masker
    except InputError as exc:
        raise InputFailure(str(exc))


@main.command("facts")
@_with(FACTS_OPTIONS, CONNECTION_OPTIONS)
def facts_command(output_format: str, **kwargs: Any) -> None:
    """Print each host's facts, as `when:` and templates see them (one probe per host).

    \b
    Exit codes: 0 read, 1 a host failed, 2 bad input, 3 a host was unreachable."""
    import json

    from provision.check.run import facts_document, facts_text

    results, masker = _read_hosts(playbook=None, check=False, **kwargs)
    if output_format == "json":
        click.echo(json.dumps(masker.deep(facts_document(results)), indent=2, sort_keys=True))
    else:
        from provision.reporting.terminal import escape_control

        click.echo("\n".join(escape_control(masker(line)) for line in facts_text(results)))
    found = [f for _, f in results]
    if any(f.error and not f.unreachable for f in found):
        sys.exit(1)
    sys.exit(3 if any(f.unreachable for f in found) else 0)


@main.command("check")
@_with(FACTS_OPTIONS, CONNECTION_OPTIONS)
@click.option(
    "-p",
    "--playbook",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Playbook whose role defaults apply (default: {DEFAULT_PLAYBOOK} if it exists).",
)
@click.option(
    "--junit-xml",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write a JUnit XML report for CI systems.",
)
def check_command(
    output_format: str, playbook: Path | None, junit_xml: Path | None, **kwargs: Any
) -> None:
    """Readiness report before installing: per host, each check PASS, WARN, FAIL or INFO
    with what was measured, the threshold and what to do. Reads only; changes nothing.

    \b
    Exit codes: 0 nothing FAILs, 1 a check FAILs or a host could not be checked, 2 bad input."""
    import json

    from provision.check.run import check_document, check_exit_code, check_junit, check_text
    from provision.errors import InputError

    if playbook is None and Path(DEFAULT_PLAYBOOK).is_file():
        playbook = Path(DEFAULT_PLAYBOOK)
    results, masker = _read_hosts(playbook=playbook, check=True, **kwargs)
    from provision.check.run import judge

    try:
        checks = judge(results)
    except InputError as exc:
        raise InputFailure(str(exc))
    if output_format == "json":
        click.echo(json.dumps(check_document(checks, masker), indent=2, sort_keys=True))
    else:
        from provision.reporting.terminal import escape_control

        click.echo("\n".join(escape_control(line) for line in check_text(checks, masker)))
    if junit_xml is not None:
        try:
            junit_xml.write_bytes(check_junit(checks, masker))
        except OSError as exc:
            raise InputFailure(f"cannot write {junit_xml}: {exc}")
    sys.exit(check_exit_code(checks))


# ---- `provision inventory`: inventories written from other tools (Vagrant) ----


@click.group()
def inventory() -> None:
    """Write inventories from other tools."""


@inventory.command("from-vagrant")
@click.option(
    "--vagrant-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Directory of the Vagrantfile; `vagrant ssh-config` runs there.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the inventory here (default: standard output).",
)
@click.option("--group", default="docker_hosts", show_default=True, help="Group of the hosts.")
@click.option(
    "--ssh-config-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Read a captured `vagrant ssh-config` output instead of running Vagrant.",
)
def from_vagrant_command(
    vagrant_dir: Path, output: Path | None, group: str, ssh_config_file: Path | None
) -> None:
    """An inventory of the running Vagrant machines, from `vagrant ssh-config`."""
    from provision.errors import InputError
    from provision.vagrant import from_vagrant

    try:
        text = from_vagrant(vagrant_dir, group, ssh_config_file)
    except InputError as exc:
        raise InputFailure(str(exc))
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputFailure(f"cannot write {output}: {exc}")
    click.echo(f"wrote {output}", err=True)


main.add_command(inventory)
