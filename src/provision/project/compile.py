"""Inventory + playbook → per host, per play: validated, rendered tasks. No host is touched.

Ansible's task keywords are compiled here: blocks (`block`/`rescue`/`always`) and
`import_tasks`/`include_tasks`/`import_role`/`include_role` are flattened into the task
list (each task knows the blocks it sits in); `vars`, `when`, `tags`, `become` and
`environment` are inherited; the loop forms expand; `register`, `changed_when`,
`failed_when` and `ignore_errors` travel with the task to the planner. A registered
read-only command or `stat` is built as a fact read in the probe (`project.registered`).

Every input error of the project is collected (file:line, what was expected) and
reported together (`InputErrors`), up to MAX_ERRORS of them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provision.ansible.modules import ansible_types
from provision.errors import InputError, Location
from provision.facts.hostvars import FactsNeeded, GroupValues, raise_if_pending
from provision.facts.readonly import (
    argv_reads_only,
    as_user,
    command_reads_only,
    env_prefix,
    environment_reads_only,
)
from provision.project import codecache
from provision.project.become import (
    check_method,
    check_su_user,
    play_become,
    writer_of,
    writes_as_user,
)
from provision.project.connvalues import ConnValueError, check_user
from provision.project.factvars import HostVars, fact_groups, template_groups
from provision.project.hostconfig import HostConfig, host_config
from provision.project.inventory import Inventory, load_inventory
from provision.project.jinjafilters import ProjectDir, drop_omitted
from provision.project.lateloop import LateLoop, StandIn, check_items
from provision.project.magicvars import magic_variables
from provision.project.paths import contained_file
from provision.project.playbook import Play, Role, Rolling, load_playbook, load_role
from provision.project.registered import (
    Debug,
    ReadCommand,
    ReadCommandFact,
    ReadFacts,
    ReadStat,
    SetFact,
    StatFact,
)
from provision.project.sharing import HostsView, Sharing, run_once_copy
from provision.project.templating import (
    PASSWORD_VARIABLES,
    Variables,
    evaluate,
    render_string,
    render_value,
)
from provision.project.yamlfile import YDict, YList, load_yaml, parse_yaml, type_name, where_of
from provision.reporting.mask import Masker, mask_error, secret_leaves
from provision.tasks.base import TaskContext, TaskType, task_type_table

COMMON_KEYS = ("name", "when", "loop", "notify", "become", "secret", "tags")
# Ansible's task keywords this tool honours (besides COMMON_KEYS)
ANSIBLE_TASK_KEYS = (
    "register",
    "changed_when",
    "failed_when",
    "check_mode",
    "ignore_errors",
    "vars",
    "with_items",
    "with_list",
    "with_dict",
    "loop_control",
    "become_user",
    "become_method",
    "environment",
    "delegate_to",
    "run_once",
    "args",
    "no_log",
    "listen",
)
TASK_KEYS = COMMON_KEYS + ANSIBLE_TASK_KEYS
BLOCK_PARTS = ("block", "rescue", "always")
BLOCK_KEYS = (
    *BLOCK_PARTS,
    "name",
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "ignore_errors",
    "environment",
    "no_log",
    "secret",
    "check_mode",
    "run_once",
    "delegate_to",
)
# Ansible features this tool does not have: what to write instead
UNSUPPORTED_KEYS = {
    "async": "this tool runs every task to its end; drop `async`/`poll`",
    "poll": "this tool runs every task to its end; drop `async`/`poll`",
    "until": "retry loops are not supported: a task must decide from the host's state",
    "retries": "retry loops are not supported: a task must decide from the host's state",
    "delay": "retry loops are not supported: a task must decide from the host's state",
    "local_action": "use `delegate_to: localhost` on a read-only step, or run it before",
    "delegate_facts": "facts are always the host's own",
    "throttle": "use --forks (or `serial:` on the play) to limit parallel hosts",
    "any_errors_fatal": "a failed host stops alone; the others go on",
    "max_fail_percentage": "a failed host stops alone; the others go on",
    "strategy": "plays run host by host in parallel (the linear strategy's results)",
    "debugger": "not supported; use -vvv",
    "connection": "set ansible_connection in the inventory",
    "remote_user": "set ansible_user in the inventory",
    "module_defaults": "write the arguments on each task",
    "collections": "write module names in full (ansible.builtin.dnf) or short (dnf)",
    "diff": "use --diff on the command line",
    "timeout": "tasks are not timed out; set the connection timeout with --timeout",
    "become_flags": "become is `sudo` with this tool's own flags",
    "become_exe": "become is `sudo` with this tool's own flags",
    "with_fileglob": "list the files, or use `loop:` over a variable",
    "with_nested": "use `loop:` over a list built with `product` in a variable",
    "with_together": "use `loop:` over a list built with `zip` in a variable",
    "with_subelements": "use `loop:` over a list built in a variable",
    "with_sequence": 'use `loop: "{{ range(1, N + 1) | list }}"`',
    "with_first_found": "use `when:` with a static include per case",
    "with_indexed_items": "use `loop:` with `loop_control: {index_var: i}`",
    "with_lines": "register a read-only command (`changed_when: false`) on the host and "
    'write `loop: "{{ out.stdout_lines }}"`',
    "with_random_choice": "pick the value in a variable",
    "with_inventory_hostnames": "use `loop: \"{{ groups['NAME'] }}\"`",
}
# task types that run no command on the host (they judge facts): any `become_user` is
# theirs to ignore, as Ansible's assert and fail ignore it
RUN_NOTHING = ("assert", "fail")
LOOP_KEYS = ("loop", "with_items", "with_list", "with_dict")
NOT_SECRET_ARGS = {
    "path",
    "dest",
    "name",
    "file",
    "src",
    "state",
    "mode",
    "owner",
    "group",
    "regexp",
    "section",
    "label",
    "id",
    "validate",
    "backup",
    "create",
}
ANSIBLE_PREFIXES = ("ansible.builtin.", "ansible.legacy.")
# Ansible modules compiled here (they are keywords of the run more than tasks)
INCLUDES = ("include_tasks", "import_tasks", "include_role", "import_role")
KEYWORD_MODULES = (*INCLUDES, "include_vars", "set_fact", "debug", "meta", "stat")
READ_COMMANDS = ("command", "shell")
LOCALHOST = ("localhost", "127.0.0.1")
MAX_ERRORS = 20
MAX_INCLUDE_DEPTH = 20
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InputErrors(InputError):
    """Every input error found in one run of compile, in the order found (the first is
    also this error's own message and location)."""

    def __init__(self, errors: list[InputError]) -> None:
        first = errors[0]
        super().__init__(first.message, first.location, first.hint)
        self.errors = errors

    def __str__(self) -> str:
        if len(self.errors) == 1:
            return str(self.errors[0])
        shown = self.errors[:MAX_ERRORS]
        lines = [f"{len(self.errors)} input errors:"]
        lines += [str(e) for e in shown]
        if len(self.errors) > len(shown):
            lines.append(f"... and {len(self.errors) - len(shown)} more")
        return "\n".join(lines)


class ErrorList:
    """Input errors collected while compiling (each reported once, in order)."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []
        self._seen: set[str] = set()

    def add(self, error: InputError) -> None:
        items = error.errors if isinstance(error, InputErrors) else [error]
        for item in items:
            key = str(item)
            if key not in self._seen:
                self._seen.add(key)
                self.errors.append(item)

    def raise_any(self) -> None:
        if self.errors:
            raise InputErrors(self.errors)


def short_module(key: Any) -> str:
    """`ansible.builtin.X` / `ansible.legacy.X` → `X`; other names as they are."""
    text = str(key)
    for prefix in ANSIBLE_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def resolve_type_key(key: Any, registry: dict[str, type[TaskType]]) -> str:
    """The registry key of a task's type key (the one place the type key is resolved): a
    key the registry holds as it is (an Ansible module name) wins over its short form."""
    if str(key) in registry:
        return str(key)
    return short_module(key)


class RunVars(HostVars):
    """A host's variables in one play, with what its tasks set on the way: `set_fact`
    values known at compile time (`static`) and names whose value is known per host only
    at plan or apply time (`late`: registered results, set_fact over them). Reading a late
    name before it is known raises FactsNeeded for the group `reg:NAME`."""

    def __init__(
        self,
        raw: Any,
        origins: Any = None,
        facts: GroupValues | None = None,
        shared: RunShared | None = None,
    ) -> None:
        super().__init__(raw, origins, facts)
        self.shared = shared if shared is not None else RunShared()

    def __getitem__(self, name: str) -> Any:
        if name == "ansible_facts" and self.shared.late_facts and name not in self._raw:
            return FactsOverlay(super().__getitem__(name), self.shared.late_facts, self._facts)
        if name == "hostvars" and self.shared.sharing is not None:  # with tasks' values
            return HostsView(super().__getitem__(name), self.shared, self._facts)
        if name in self.shared.late:
            key = REG + name
            if self._facts is None or key not in self._facts:
                raise FactsNeeded(frozenset({key}))
            return self._facts[key]
        if name in self.shared.static:
            return self.shared.static[name]
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return name in self.shared.late or name in self.shared.static or super().__contains__(name)

    def child(self, extra: Any, origin: Location | None = None) -> RunVars:
        merged = RunVars(self._raw, self._origins, self._facts, self.shared)
        merged._raw.update(extra)
        if origin:
            for key in extra:
                merged._origins[key] = origin
        return merged

    def with_facts(self, facts: GroupValues) -> RunVars:
        return RunVars(self._raw, self._origins, facts, self.shared)


REG = "reg:"  # the fact-group prefix of a late name (registered result, set_fact)


@dataclass
class RunShared:
    late: set[str] = field(default_factory=set)
    static: dict[str, Any] = field(default_factory=dict)
    late_facts: set[str] = field(default_factory=set)  # ansible_facts.KEY set by a task
    probe_read: set[str] = field(default_factory=set)  # late names read in the probe
    sharing: Any = None  # the run's values across plays and hosts (project/sharing.py)
    host: str = ""


class FactsOverlay(Mapping):
    """`ansible_facts` with the keys tasks set on the way (`package_facts` sets
    `packages`): those are late values (group `reg:ansible_facts.KEY`)."""

    def __init__(self, base: Mapping, late: set[str], facts: GroupValues | None) -> None:
        self._base, self._late, self._facts = base, late, facts

    def __getitem__(self, key: str) -> Any:
        if key in self._late:
            group = f"{REG}ansible_facts.{key}"
            if self._facts is None or group not in self._facts:
                raise FactsNeeded(frozenset({group}))
            return self._facts[group]
        return self._base[key]

    def __iter__(self) -> Any:
        return iter([*self._base, *sorted(self._late)])

    def __len__(self) -> int:
        return len(self._base) + len(self._late)


def is_late(group: str) -> bool:
    return group.startswith(REG)


@dataclass
class Condition:
    """A `when:` (a task's, its block's or its role's) that reads host facts or a
    registered result: decided per host at plan time (or at apply, when the result is
    known only then), over the probed fact groups and the results known so far."""

    expression: Any
    variables: HostVars
    location: Location
    what: str
    groups: frozenset[str]

    def holds(self, facts: GroupValues) -> bool:
        """True or False on these facts; FactsNeeded when it reads a group not known."""
        value = evaluate(
            self.expression, self.variables.with_facts(facts), self.location, self.what
        )
        return bool(value)

    def describe(self) -> str:
        return f"{self.expression}"


@dataclass
class Check:
    """`changed_when` / `failed_when`: an expression over the task's own result (under its
    `register` name, and as `result`), decided where the result is known."""

    expression: Any
    variables: HostVars
    location: Location
    what: str
    register: str | None

    def holds(self, result: dict[str, Any], facts: GroupValues) -> bool:
        extra = {"result": result}
        values = dict(facts)
        if self.register:
            values[REG + self.register] = result
        scope = self.variables.with_facts(values).child(extra)
        return bool(evaluate(self.expression, scope, self.location, self.what))


@dataclass
class PendingFacts:
    """What host facts decide about a task: its conditions, and, when its arguments read
    facts, how to build it once they are known (`build(facts) -> (task, name)`)."""

    conditions: list[Condition]
    task: TaskType | None  # built at compile time: its arguments read no fact
    build: Callable[[GroupValues], tuple[TaskType, str | None]] | None
    groups: frozenset[str]  # the fact groups the conditions and arguments read


@dataclass(frozen=True)
class BlockRef:
    """A task's place in one enclosing block: the block's id, the part it is in, and
    whether the block has a `rescue` part."""

    id: int
    part: str  # block | rescue | always
    has_rescue: bool
    name: str = ""


@dataclass(frozen=True)
class LoopRef:
    """A looped task's item: which loop, its index, how many items (register collects
    the items' results under `results`)."""

    id: int
    index: int
    count: int
    item: Any = None
    loop_var: str = "item"
    from_host: bool = False  # expanded at plan time from the host's answers (lateloop)


@dataclass
class CompiledTask:
    name: str
    role: str | None
    location: Location
    task: TaskType | None  # None: skipped, or waiting for host facts (`pending`)
    skip_reason: str = ""
    notify: list[str] = field(default_factory=list)
    become: bool = False
    tags: list[str] = field(default_factory=list)
    pending: PendingFacts | None = None  # decided per host at plan time (planner.bind_facts)
    register: str | None = None
    changed_when: Check | None = None
    failed_when: Check | None = None
    ignore_errors: bool = False
    blocks: tuple[BlockRef, ...] = ()
    loop: LoopRef | None = None
    listen: list[str] = field(default_factory=list)
    environment: tuple[tuple[str, str], ...] = ()
    become_user: str = "root"  # with `become`: its commands run as this user (runuser -u)
    flush_handlers: bool = False
    sets: tuple[str, ...] = ()  # set_fact: the names it sets (values known when it runs)
    late_loop: LateLoop | None = None  # a loop expanded per host at plan time (lateloop)


@dataclass
class HostPlay:
    """One host's share of one play."""

    host: HostConfig
    play: str
    tasks: list[CompiledTask]
    handlers: list[CompiledTask]
    secrets: list[str]
    share: Any = None  # sharing.HostShare: values across plays and hosts


@dataclass
class Compiled:
    inventory: Inventory
    plays: list[tuple[str, list[HostPlay]]]
    rolling: list[Rolling] = field(default_factory=list)  # per play: serial, max_fail_percentage
    sharing: Any = None  # sharing.Sharing: values across plays and hosts

    def secrets(self) -> list[str]:
        return sorted({s for _, hps in self.plays for hp in hps for s in hp.secrets})


@dataclass
class HostCompile:
    """What the tasks of one host's play share while compiling: errors, variables set on
    the way, the handlers brought by imported roles, ids of blocks and loops."""

    play: Play
    errors: ErrorList
    shared: RunShared
    first_host: bool
    first_host_name: str
    role_handlers: list[tuple[Role, Variables]] = field(default_factory=list)
    next_id: int = 0
    includes: list[Path] = field(default_factory=list)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


@dataclass
class TaskScope:
    """What every task of one list (a role's tasks, its handlers, a play's tasks, a
    block) shares."""

    role: Role | None
    variables: Variables
    config: HostConfig
    selection: Selection
    secret_values: list[str]
    skip: str = ""
    tags: list[str] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)  # the role's/block's, over facts
    run: HostCompile | None = None
    blocks: tuple[BlockRef, ...] = ()
    become: bool | None = None
    ignore_errors: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    secret: bool = False
    run_once: bool = False
    delegate_local: bool = False  # `delegate_to: localhost`: a read-only step on the controller
    become_user: str = ""  # `become_user` of a task/block ("": the host's, see `user`)
    handlers: bool = False
    base_dir: Path | None = None  # the folder of the file these tasks came from

    @property
    def user(self) -> str:
        """Who `become` runs commands as: a task's or block's `become_user`, else the
        host's (`ansible_become_user`, ansible.cfg's become_user), else root."""
        return self.become_user or self.config.become_user or "root"

    def inner(self, **changes: Any) -> TaskScope:
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        values.update(changes)
        return TaskScope(**values)


@dataclass
class Selection:
    limit: str | None = None
    tags: list[str] = field(default_factory=list)
    skip_tags: list[str] = field(default_factory=list)


def parse_extra_vars(items: list[str]) -> dict[str, Any]:
    """`-e key=value` and `-e @file.yml` (later ones win)."""
    result: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            data = load_yaml(Path(item[1:]), "extra vars file")
            if not isinstance(data, dict):
                raise InputError(
                    f"extra vars file must be a mapping, found {type_name(data)}",
                    Location(item[1:]),
                )
            result.update(data)
        elif item.lstrip().startswith("{"):
            data = parse_yaml(item, "-e")
            if not isinstance(data, dict):
                raise InputError("-e JSON/YAML must be a mapping")
            result.update(data)
        else:
            key, sep, value = item.partition("=")
            if not sep or not key.strip().isidentifier():
                raise InputError(f"-e expects key=value or @file.yml, found {item!r}")
            result[key.strip()] = _scalar(value)
    return result


def _scalar(text: str) -> Any:
    """`-e key=value` values stay text (as in Ansible), except `true`/`false`, which are
    booleans so that `when: flag` does what it says. Typed values: `-e '{...}'`."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def compile_run(
    inventory_path: Path,
    playbook_path: Path,
    extra_vars: dict[str, Any] | None = None,
    selection: Selection | None = None,
) -> Compiled:
    inventory = load_inventory(inventory_path)
    plays = load_playbook(playbook_path)
    selection = selection or Selection()
    limited: set[str] | None = None
    if selection.limit:
        limited = set(inventory.match(selection.limit))
        if not limited:
            raise InputError(
                f"--limit {selection.limit!r} matches no host in {inventory_path}",
                hint=f"hosts: {', '.join(inventory.hosts) or '(none)'}",
            )
    errors = ErrorList()
    compiled: list[tuple[str, list[HostPlay]]] = []
    sharing = Sharing()  # what tasks set, for later plays and other hosts (sharing.py)
    for play in plays:
        hosts = inventory.match(play.hosts, play.location)
        if not hosts:
            groups = ", ".join(g for g in inventory.groups if g not in ("all", "ungrouped"))
            errors.add(
                InputError(
                    f"hosts pattern {play.hosts!r} of play {play.name!r} matches no host in "
                    f"{inventory_path}",
                    play.location,
                    hint=f"groups in the inventory: {groups or '(none)'}",
                )
            )
            continue
        if limited is not None:
            hosts = [h for h in hosts if h in limited]
        host_plays = []
        for host in hosts:
            host_play = _compile_host(
                inventory, play, host, extra_vars or {}, selection, hosts[0], errors, sharing
            )
            if host_play is not None:
                host_plays.append(host_play)
        compiled.append((play.name, host_plays))
    errors.raise_any()
    return Compiled(inventory, compiled, [play.rolling for play in plays], sharing)


def _play_variables(
    inventory: Inventory, play: Play, host: str, extra: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Location]]:
    raw: dict[str, Any] = {}
    origins: dict[str, Location] = {}
    for role in play.roles:
        raw.update(role.defaults)
        origins.update({k: role.defaults.where(k) for k in role.defaults})
    host_vars, host_origins = inventory.host_variables(host)
    raw.update(host_vars)
    origins.update(host_origins)
    raw.update(play.vars)
    origins.update({k: where_of(play.vars, k, str(play.file)) for k in play.vars})
    raw.update(extra)
    origins.update({k: Location("-e") for k in extra})
    raw["playbook_dir"] = ProjectDir(play.file.parent.resolve())  # lookups trust only it
    raw["inventory_dir"] = str(inventory.directory.resolve())
    raw.update(magic_variables(inventory, play, host))  # hostvars, groups... (magicvars.py)
    return raw, origins


def _compile_host(
    inventory: Inventory,
    play: Play,
    host: str,
    extra: dict[str, Any],
    selection: Selection,
    first_host: str,
    errors: ErrorList,
    sharing: Sharing | None = None,
) -> HostPlay | None:
    """One host's share of a play; None when it has input errors (added to `errors`)."""
    raw, origins = _play_variables(inventory, play, host, extra)
    shared = RunShared() if sharing is None else sharing.start(host, RunShared())
    variables = RunVars(raw, origins, None, shared)
    secret_values: list[str] = []
    codecache.watch_secrets(secret_values)  # none of them is written to the code cache
    run = HostCompile(play, ErrorList(), shared, host == first_host, first_host)
    result: HostPlay | None = None
    try:
        _collect_secrets(play, variables, secret_values)
        result = _compile_host_tasks(
            inventory, play, host, variables, selection, secret_values, run
        )
    except FactsNeeded as need:
        run.errors.add(_facts_not_here(need, Location(str(play.file))))
    except InputError as exc:
        run.errors.add(exc)
    # An input error never quotes a secret: mask it with every secret known by now
    # (the declared ones, the connection passwords, earlier secret tasks' arguments).
    masker = Masker(secret_values)
    for error in run.errors.errors:
        errors.add(mask_error(error, masker))
    if result is not None and sharing is not None:
        result.share = sharing.end(host, shared)
    return None if run.errors.errors else result


def _collect_secrets(play: Play, variables: Variables, into: list[str]) -> None:
    """The text leaves of every variable the play or its roles declare under `secrets:`
    and of the connection passwords, read before host_config can quote any of them."""
    names = [*play.secrets, *(name for role in play.roles for name in role.secrets)]
    for name in dict.fromkeys([*names, *PASSWORD_VARIABLES]):
        if name in variables:
            with codecache.secret_scope():  # their templates are never cached
                into += secret_leaves(variables[name])


def _become_settings(variables: Variables, config: HostConfig, where: Location) -> None:
    """`ansible_become_method`: this tool becomes root with sudo; another method is
    refused, never ignored. (`ansible_become_user` is the host's default `become_user`:
    see TaskScope.user.)"""
    name = "ansible_become_method"
    if name not in variables.raw():
        return
    try:
        value = variables[name]
    except FactsNeeded as need:
        raise _facts_not_here(need, where) from None
    if value is not None and str(value) not in ("sudo", "su"):  # su: project/become.py
        origin = variables.origin(name) if hasattr(variables, "origin") else None
        raise InputError(
            f"{name}: {value!r} is not supported: this tool becomes root with sudo (then"
            " runuser to `become_user`)",
            origin or where,
            hint="remove it, or write sudo",
        )


def _compile_host_tasks(
    inventory: Inventory,
    play: Play,
    host: str,
    variables: RunVars,
    selection: Selection,
    secret_values: list[str],
    run: HostCompile,
) -> HostPlay:
    config = host_config(
        host,
        variables,
        inventory.directory,
        play.become,
        inventory.hosts[host].location,
        check_files=True,
        settings=inventory.settings,
    )
    _become_settings(variables, config, inventory.hosts[host].location or play.location)
    config = play_become(play, variables, config)
    secret_values += [v for v in config.masked_values() if v not in secret_values]
    tasks: list[CompiledTask] = []
    handlers: list[CompiledTask] = []
    for role in play.roles:
        role_vars = variables.child(
            {**role.params, "role_path": ProjectDir(role.path)}, role.location
        )
        skip, conditions = _role_skip(role, role_vars)
        tags = [*play.tags, *role.tags]
        scope = TaskScope(
            role, role_vars, config, selection, secret_values, skip, tags, conditions, run
        )
        tasks += _compile_list(role.tasks, scope)
        handlers += _compile_list(
            role.handlers,
            TaskScope(role, role_vars, config, Selection(), secret_values, run=run, handlers=True),
        )
    play_scope = TaskScope(
        None, variables, config, selection, secret_values, "", list(play.tags), run=run
    )
    tasks += _compile_list(play.tasks, play_scope)
    handlers += _compile_list(
        play.handlers,
        TaskScope(None, variables, config, Selection(), secret_values, run=run, handlers=True),
    )
    done: set[int] = set()
    while len(done) < len(run.role_handlers):  # the handlers of roles imported by tasks
        for index, (role, role_vars) in enumerate(list(run.role_handlers)):
            if index in done:
                continue
            done.add(index)
            handlers += _compile_list(
                role.handlers,
                TaskScope(
                    role, role_vars, config, Selection(), secret_values, run=run, handlers=True
                ),
            )
    names = {h.name for h in handlers} | {topic for h in handlers for topic in h.listen}
    for task in tasks + handlers:
        for notified in task.notify:
            if notified not in names:
                run.errors.add(
                    InputError(
                        f"task notifies handler {notified!r}, which is not defined",
                        task.location,
                        hint=f"handlers: {', '.join(sorted(names)) or '(none)'}",
                    )
                )
    return HostPlay(config, play.name, tasks, handlers, secret_values)


def _role_skip(role: Role, variables: Variables) -> tuple[str, list[Condition]]:
    """(why the role's tasks are skipped, or ""; its condition when host facts decide it)."""
    if role.when is None:
        return "", []
    try:
        if evaluate(role.when, variables, role.location, "role `when`"):
            return "", []
    except FactsNeeded as need:
        assert isinstance(variables, HostVars)
        groups = need.groups | fact_groups(role.when, variables, expression=True)
        return "", [Condition(role.when, variables, role.location, "role `when`", groups)]
    return f"role condition false: {role.when}", []


def _facts_not_here(need: FactsNeeded, where: Location) -> InputError:
    return InputError(
        f"a variable reads host facts ({need}) where they are not known: host facts are "
        "known per host at plan time, in `when:`, task arguments and templates",
        where,
        hint="use the fact in the task that needs it, not in an inventory or connection value",
    )


def _compile_list(items: list, scope: TaskScope) -> list[CompiledTask]:
    """The tasks of one list, each error collected (the other tasks are still compiled)."""
    result = []
    file = getattr(items, "file", "<tasks>")
    assert scope.run is not None
    for index, raw in enumerate(items):
        where = where_of(items, index, file)
        try:
            if not isinstance(raw, dict):
                raise InputError(f"a task must be a mapping, found {type_name(raw)}", where)
            result += _compile_item(raw, scope, where)
        except FactsNeeded as need:
            scope.run.errors.add(_facts_not_here(need, where))
        except InputError as exc:
            scope.run.errors.add(exc)
    return result


def _compile_item(raw: YDict, scope: TaskScope, where: Location) -> list[CompiledTask]:
    """A task, a block, or an include/import (expanded in place)."""
    _refuse_unsupported(raw, where)
    if any(part in raw for part in BLOCK_PARTS):
        return _compile_block(raw, scope, where)
    include = next((k for k in raw if short_module(k) in INCLUDES), None)
    if include is not None:
        return _compile_include(raw, str(include), scope, where)
    task_scope = _keyword_scope(raw, scope, where, task=True)
    with codecache.secret_scope(task_scope.secret):  # a secret task's templates: not cached
        return _compile_task(raw, task_scope, where)


def _refuse_unsupported(raw: YDict, where: Location) -> None:
    found = [k for k in raw if str(k) in UNSUPPORTED_KEYS]
    if found:
        key = found[0]
        raise InputError(
            f"Ansible's `{key}` is not supported by this tool",
            where_of(raw, key, where.file),
            hint=UNSUPPORTED_KEYS[str(key)],
        )


def _bool_key(raw: YDict, key: str, where: Location) -> bool | None:
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false"):
        return value.lower() in ("yes", "true")
    if not isinstance(value, bool):
        raise InputError(f"`{key}` must be true or false", where_of(raw, key, where.file))
    return value


def _keyword_scope(raw: YDict, scope: TaskScope, where: Location, task: bool) -> TaskScope:
    """The scope a task, block or include passes down: its `vars`, `when`, `tags`,
    `become`, `environment`, `ignore_errors`, `run_once`, ... over its enclosing one.
    A task's own `when` and `tags` are its own (its `when` is decided per loop item)."""
    changes: dict[str, Any] = {}
    file = where.file
    variables = scope.variables
    if "vars" in raw and raw["vars"] is not None:
        if not isinstance(raw["vars"], dict):
            raise InputError(
                f"`vars` must be a mapping, found {type_name(raw['vars'])}",
                where_of(raw, "vars", file),
            )
        variables = variables.child(dict(raw["vars"]), where_of(raw, "vars", file))
        changes["variables"] = variables
    become = _bool_key(raw, "become", where)
    if become is not None:
        changes["become"] = become
    user = raw.get("become_user")
    if user is not None:
        user = render_value(user, variables, where_of(raw, "become_user", file), "become_user")
        raise_if_pending(user)
        try:
            changes["become_user"] = check_user(str(user))
        except ConnValueError as exc:
            raise InputError(
                f"`become_user` {exc.message}", where_of(raw, "become_user", file)
            ) from None
    check_method(raw.get("become_method"), scope.config, where_of(raw, "become_method", file))
    check_su_user(changes, scope, where_of(raw, "become_user", file))
    for key in ("ignore_errors", "run_once"):
        value = _bool_key(raw, key, where)
        if value is not None:
            changes[key] = value
    for key in ("no_log", "secret"):
        if _bool_key(raw, key, where):
            changes["secret"] = True
    if "check_mode" in raw:
        value = _bool_key(raw, "check_mode", where)
        if value:
            raise InputError(
                "`check_mode: true` is not supported: `provision plan` is the check mode",
                where_of(raw, "check_mode", file),
                hint="remove it; `check_mode: false` marks a read-only command (read in the probe)",
            )
    delegate = raw.get("delegate_to")
    if delegate is not None and str(delegate) in LOCALHOST:
        changes["delegate_local"] = True
    elif delegate is not None:
        raise InputError(
            f"`delegate_to: {delegate}` is not supported: a task runs on its own host's "
            "connection; only `delegate_to: localhost` (or 127.0.0.1) on a read-only step "
            "(a registered read-only command, stat, debug, set_fact) is",
            where_of(raw, "delegate_to", file),
            hint="run the step in a play of its own for that host (`hosts: NAME`)",
        )
    if "environment" in raw:
        env = _environment(raw, variables, where)
        changes["environment"] = {**scope.environment, **env}
    if not task and "when" in raw and raw["when"] is not None:
        skip, conditions = _when(raw, variables, where, scope)
        if skip and not scope.skip:
            changes["skip"] = skip
        if conditions:
            changes["conditions"] = [*scope.conditions, *conditions]
    own_tags = [] if task else _tag_list(raw, where)
    if own_tags:
        changes["tags"] = [*scope.tags, *own_tags]
    return scope.inner(**changes) if changes else scope


def _environment(raw: YDict, variables: Variables, where: Location) -> dict[str, str]:
    at = where_of(raw, "environment", where.file)
    value = render_value(raw["environment"], variables, at, "environment")
    raise_if_pending(value)
    if not isinstance(value, dict):
        raise InputError(f"`environment` must be a mapping, found {type_name(value)}", at)
    env = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise InputError(
                f"`environment`: {name!r} is not a variable name (letters, digits, _)", at
            )
        if isinstance(item, dict | list) or item is None:
            raise InputError(f"`environment`: {name} must be a text value", at)
        text = str(item).lower() if isinstance(item, bool) else str(item)
        if "\0" in text:
            raise InputError(f"`environment`: {name} holds a NUL byte", at)
        env[name] = text
    return env


def _when(
    raw: YDict, variables: Variables, where: Location, scope: TaskScope
) -> tuple[str, list[Condition]]:
    """A `when:` decided now (its skip reason, or ""), or left to the host (a Condition)."""
    at = where_of(raw, "when", where.file)
    try:
        if evaluate(raw["when"], variables, at, "`when`"):
            return "", []
        return f"condition false: {raw['when']}", []
    except FactsNeeded as need:
        assert isinstance(variables, HostVars)
        groups = need.groups | fact_groups(raw["when"], variables, expression=True)
        return "", [Condition(raw["when"], variables, at, "`when`", groups)]


def _compile_block(raw: YDict, scope: TaskScope, where: Location) -> list[CompiledTask]:
    for key in raw:
        if key not in BLOCK_KEYS:
            raise InputError(
                f"unknown key {key!r} in block",
                where_of(raw, key, where.file),
                hint=f"block keys: {', '.join(BLOCK_KEYS)}",
            )
    if "block" not in raw:
        raise InputError("`rescue`/`always` need a `block:` beside them", where)
    assert scope.run is not None
    inner = _keyword_scope(raw, scope, where, task=False)
    block_id = scope.run.new_id()
    has_rescue = bool(raw.get("rescue"))
    name = str(raw.get("name") or "")
    result: list[CompiledTask] = []
    for part in BLOCK_PARTS:
        items = raw.get(part)
        if items is None:
            continue
        if not isinstance(items, list):
            raise InputError(
                f"`{part}` must be a list of tasks, found {type_name(items)}",
                where_of(raw, part, where.file),
            )
        if part == "rescue":  # Ansible's variables about the failure being rescued
            scope.run.shared.late.update(("ansible_failed_task", "ansible_failed_result"))
        ref = BlockRef(block_id, part, has_rescue, name)
        result += _compile_list(items, inner.inner(blocks=(*scope.blocks, ref)))
    return result


INCLUDE_KEYS = (
    "name",
    "when",
    "tags",
    "vars",
    "become",
    "become_user",
    "become_method",
    "environment",
    "ignore_errors",
    "no_log",
    "secret",
    "run_once",
    "delegate_to",
    "check_mode",
    *LOOP_KEYS,
    "loop_control",
)
ROLE_INCLUDE_ARGS = (
    "name",
    "tasks_from",
    "handlers_from",
    "defaults_from",
    "vars_from",
    "public",
    "apply",
    "allow_duplicates",
    "rolespec_validate",
)


def _compile_include(raw: YDict, key: str, scope: TaskScope, where: Location) -> list[CompiledTask]:
    """`import_tasks`/`include_tasks` (a task file) and `import_role`/`include_role`: the
    tasks are compiled in place, under the include's keywords. The file name must be known
    before any host is probed (a static name, or one from variables)."""
    module = short_module(key)
    for other in raw:
        if other != key and other not in INCLUDE_KEYS:
            raise InputError(
                f"unknown key {other!r} beside `{module}`",
                where_of(raw, other, where.file),
                hint=f"keys beside an include: {', '.join(INCLUDE_KEYS)}",
            )
    assert scope.run is not None
    inner = _keyword_scope(raw, scope, where, task=False)
    items, loop_var, _ = _loop_items(raw, inner.variables, where)
    result: list[CompiledTask] = []
    for item in items:
        item_scope = inner
        if item is not _NO_LOOP:
            item_scope = inner.inner(variables=inner.variables.child({loop_var: item}, where))
        if module in ("import_tasks", "include_tasks"):
            result += _include_tasks(raw, key, module, item_scope, where)
        else:
            result += _include_role(raw, key, module, item_scope, where)
    return result


def _static_name(
    raw: YDict, key: str, value: Any, module: str, scope: TaskScope, where: Location
) -> str:
    at = where_of(raw, key, where.file)
    try:
        name = render_value(value, scope.variables, at, module)
        raise_if_pending(name)
    except FactsNeeded as need:
        what = (
            "a registered result or set_fact"
            if all(is_late(g) for g in need.groups)
            else "host facts"
        )
        raise InputError(
            f"`{module}` names its file from {what} ({', '.join(sorted(need.groups))}), known "
            "only per host at plan or apply time: this tool expands includes before any "
            "host is probed",
            at,
            hint="include each file statically, with `when:` on the include",
        ) from None
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"`{module}` needs a file name, found {type_name(name)}", at)
    return name


def _include_tasks(
    raw: YDict, key: str, module: str, scope: TaskScope, where: Location
) -> list[CompiledTask]:
    value = raw[key]
    if isinstance(value, dict):
        extra = [k for k in value if k not in ("file", "apply")]
        if extra or "file" not in value:
            raise InputError(
                f"`{module}` takes a file name, or `file:`",
                where_of(raw, key, where.file),
            )
        scope = _apply_keywords(value, scope, where_of(raw, key, where.file), module)
        value = value["file"]
    name = _static_name(raw, key, value, module, scope, where)
    base = scope.base_dir or Path(where.file).parent
    roots: list[Path] = [base]
    if scope.role is not None:
        roots.append(scope.role.path / "tasks")
    root = (
        scope.role.path
        if scope.role is not None
        else Path(scope.run.play.file).parent
        if scope.run
        else base
    )
    at = where_of(raw, key, where.file)
    path = None
    for folder in roots:
        candidate = contained_file(folder, name, root, f"`{module}` file", at)
        if candidate.is_file():
            path = candidate
            break
    if path is None:
        raise InputError(
            f"`{module}`: task file {name!r} not found (looked in "
            f"{', '.join(str(r) for r in roots)})",
            at,
        )
    return _compile_file(path, scope, at, module)


def _compile_file(path: Path, scope: TaskScope, at: Location, what: str) -> list[CompiledTask]:
    assert scope.run is not None
    real = path.resolve()
    if real in scope.run.includes:
        chain = " -> ".join(p.name for p in (*scope.run.includes, real))
        raise InputError(f"task files include each other in a cycle: {chain}", at)
    if len(scope.run.includes) >= MAX_INCLUDE_DEPTH:
        raise InputError(f"task files nest deeper than {MAX_INCLUDE_DEPTH} includes", at)
    data = load_yaml(path, f"{what} file")
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError(
            f"a task file must be a list of tasks, found {type_name(data)}",
            where_of(data, fallback=str(path)),
        )
    scope.run.includes.append(real)
    try:
        return _compile_list(data, scope.inner(base_dir=path.parent))
    finally:
        scope.run.includes.pop()


def _include_role(
    raw: YDict, key: str, module: str, scope: TaskScope, where: Location
) -> list[CompiledTask]:
    assert scope.run is not None
    at = where_of(raw, key, where.file)
    spec = raw[key]
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise InputError(f"`{module}` takes `name:` (the role), found {type_name(spec)}", at)
    for arg in spec:
        if arg not in ROLE_INCLUDE_ARGS:
            raise InputError(
                f"`{module}`: unknown argument {arg!r}",
                at,
                hint=f"arguments: {', '.join(ROLE_INCLUDE_ARGS)}",
            )
    scope = _apply_keywords(spec, scope, at, module)
    name = _static_name(raw, key, spec["name"], module, scope, where)
    play_dir = Path(scope.run.play.file).parent
    near = scope.role.path.parent if scope.role is not None else None
    role = load_role(name, play_dir, at, near)
    defaults = {k: v for k, v in role.defaults.items() if k not in scope.variables.raw()}
    variables = scope.variables.child(defaults, at) if defaults else scope.variables
    for arg in ("tasks_from", "handlers_from", "defaults_from", "vars_from"):
        if arg in spec:
            file = _static_name(raw, key, spec[arg], module, scope, where)
            if not file.endswith((".yml", ".yaml")):
                file += ".yml"
            folder = {"tasks_from": "tasks", "handlers_from": "handlers"}.get(
                arg, arg[:-5] if arg != "defaults_from" else "defaults"
            )
            if arg == "vars_from":
                folder = "vars"
            path = contained_file(role.path / folder, file, role.path, f"`{arg}`", at)
            if not path.is_file():
                raise InputError(
                    f"`{module}`: {arg} {file!r} not found in {role.path / folder}", at
                )
            if arg == "tasks_from":
                role.tasks = _load_list(path, "role tasks")
            elif arg == "handlers_from":
                role.handlers = _load_list(path, "role handlers")
            else:
                data = load_yaml(path, f"role {folder}")
                if data is not None and not isinstance(data, dict):
                    raise InputError(f"{path} must be a mapping of variables", at)
                variables = variables.child(dict(data or {}), Location(str(path)))
    vars_file = role.path / "vars" / "main.yml"
    if vars_file.is_file() and "vars_from" not in spec:
        data = load_yaml(vars_file, "role vars")
        if data is not None and not isinstance(data, dict):
            raise InputError(f"{vars_file} must be a mapping of variables", at)
        variables = variables.child(dict(data or {}), Location(str(vars_file)))
    known = [r.path for r, _ in scope.run.role_handlers] + [r.path for r in scope.run.play.roles]
    if role.path not in known:
        scope.run.role_handlers.append((role, variables))
    inner = scope.inner(role=role, variables=variables, base_dir=role.path / "tasks")
    return _compile_list(role.tasks, inner)


def _apply_keywords(spec: Any, scope: TaskScope, at: Location, module: str) -> TaskScope:
    """An include's `apply:` (task keywords for every task it brings in)."""
    keywords = spec.get("apply") if isinstance(spec, dict) else None
    if keywords is None:
        return scope
    if not isinstance(keywords, dict):
        raise InputError(f"`{module}`: `apply` must be a mapping of task keywords", at)
    for key in keywords:
        if key not in INCLUDE_KEYS or key in LOOP_KEYS or key == "loop_control":
            raise InputError(f"`{module}`: `apply` cannot hold {key!r}", at)
    applied = YDict(keywords)
    applied.file, applied.line, applied.key_lines = at.file, at.line, {}
    return _keyword_scope(applied, scope, at, task=False)


def _load_list(path: Path, what: str) -> YList:
    data = load_yaml(path, what)
    if data is None:
        data = YList()
        data.file, data.line, data.item_lines = str(path), None, []
    if not isinstance(data, list):
        raise InputError(
            f"{what} must be a list of tasks, found {type_name(data)}",
            where_of(data, fallback=str(path)),
        )
    return data  # type: ignore[return-value]


_NO_LOOP = object()


@dataclass(frozen=True)
class _LateList:
    """A loop's list known only once the host is probed (the one item `_loop_items` gives
    then): what it reads."""

    key: str
    at: Location
    names: tuple[str, ...]  # registered results (or set_fact) read in the probe
    groups: frozenset[str]  # host fact groups


def _loop_items(
    raw: YDict, variables: Variables, where: Location, shared: RunShared | None = None
) -> tuple[list[Any], str, Any]:
    """(items, loop_var, label) of `loop`/`with_items`/`with_list`/`with_dict`; one item
    `_NO_LOOP` when there is no loop. With `shared` (a task, not an include nor a handler),
    a list that reads host facts or results read in the probe gives one `_LateList` item:
    it is expanded per host at plan time. Any other list must be known now."""
    keys = [k for k in LOOP_KEYS if k in raw]
    control = raw.get("loop_control") or {}
    at_control = where_of(raw, "loop_control", where.file)
    if not isinstance(control, dict):
        raise InputError("`loop_control` must be a mapping", at_control)
    for key in control:
        if key not in ("loop_var", "label", "index_var", "pause", "extended"):
            raise InputError(
                f"`loop_control`: unknown key {key!r}",
                at_control,
                hint="loop_control keys: loop_var, label, index_var",
            )
    if "pause" in control:
        raise InputError("`loop_control.pause` is not supported", at_control)
    if not keys:
        if control:
            raise InputError("`loop_control` without a loop", at_control)
        return [_NO_LOOP], "item", None
    if len(keys) > 1:
        raise InputError(
            f"a task has one loop, found {', '.join(keys)}", where_of(raw, keys[1], where.file)
        )
    key = keys[0]
    at = where_of(raw, key, where.file)
    loop_var = str(control.get("loop_var", "item"))
    if not _VAR_NAME.fullmatch(loop_var):
        raise InputError(
            f"`loop_control.loop_var` must be a variable name, found {loop_var!r}", at_control
        )
    index_var = control.get("index_var")
    if index_var is not None and not _VAR_NAME.fullmatch(str(index_var)):
        raise InputError("`loop_control.index_var` must be a variable name", at_control)
    try:
        value = render_value(raw[key], variables, at, key)
        raise_if_pending(value)
    except FactsNeeded as need:
        late = sorted(g[len(REG) :] for g in need.groups if is_late(g))
        changing = [n for n in late if shared is None or n not in shared.probe_read]
        if shared is not None and not changing:
            assert isinstance(variables, HostVars)
            groups = need.groups | fact_groups(raw[key], variables, expression=False)
            host_groups = frozenset(g for g in groups if not is_late(g))
            return [_LateList(key, at, tuple(late), host_groups)], loop_var, control
        if shared is None:
            raise InputError(
                f"`{key}` reads {'a registered result or set_fact' if late else 'host facts'} "
                f"({', '.join(sorted(need.groups))}): the loop of an include or a handler is "
                "expanded before any host is probed, so it cannot read them yet",
                at,
                hint="loop over a variable, and test the value in `when:` or the arguments",
            ) from None
        names = ", ".join(f"`{n}`" for n in changing)
        raise InputError(
            f"`{key}` reads {names}, the result of a task that changes the host (or a "
            "set_fact over one), known only when apply has run it: a loop is expanded at "
            "plan time, from the probe's answers",
            at,
            hint="loop over the output of a read-only command (`changed_when: false` on a "
            "command that only reads, `check_mode: false`, or `stat`), or over a variable; "
            "test the result in `when:` per item",
        ) from None
    return _loop_list(key, value, at), loop_var, control


def _loop_list(key: str, value: Any, at: Location) -> list[Any]:
    """The items of a loop's rendered value, as each loop form gives them."""
    if key == "with_dict":
        if not isinstance(value, dict):
            raise InputError(f"`with_dict` must give a mapping, found {type_name(value)}", at)
        return [{"key": k, "value": v} for k, v in value.items()]
    if key == "with_items" and isinstance(value, list):
        items: list[Any] = []
        for entry in value:  # with_items flattens one level
            items += entry if isinstance(entry, list) else [entry]
        return items
    if isinstance(value, str) and key != "loop":
        return [value]
    if not isinstance(value, list):
        raise InputError(f"`{key}` must give a list, found {type_name(value)}", at)
    return list(value)


def _compile_task(raw: YDict, scope: TaskScope, where: Location) -> list[CompiledTask]:
    registry = ansible_types(task_type_table(), raw)  # Ansible module names (provision.ansible)
    assert scope.run is not None
    type_keys = [k for k in raw if k not in TASK_KEYS]
    if not type_keys:
        raise InputError(
            "task has no task type", where, hint=f"task types: {', '.join(sorted(registry))}"
        )
    if len(type_keys) > 1:
        unknown = [
            k
            for k in type_keys
            if resolve_type_key(k, registry) not in registry
            and short_module(k) not in KEYWORD_MODULES
        ]
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r} in task",
                where_of(raw, unknown[0]),
                hint=f"task keys: {', '.join(TASK_KEYS)}; task types: "
                f"{', '.join(sorted(registry))}",
            )
        raise InputError(
            f"a task has exactly one task type, found {', '.join(map(str, type_keys))}", where
        )
    written_key = type_keys[0]
    short = short_module(written_key)
    type_where = where_of(raw, written_key)
    if short == "include_vars":
        _include_vars(raw, written_key, scope, where)
        return []
    if "listen" in raw and not scope.handlers:
        raise InputError("`listen` is for handlers", where_of(raw, "listen"))
    if "args" in raw and not isinstance(raw["args"], dict):
        raise InputError("`args` must be a mapping", where_of(raw, "args"))
    register = raw.get("register")
    if register is not None and (
        not isinstance(register, str) or not _VAR_NAME.fullmatch(register)
    ):
        raise InputError(
            f"`register` must be a variable name, found {register!r}", where_of(raw, "register")
        )
    # run_once with a result: the first host's result is every host's (project/sharing.py)
    shares = scope.run_once and (register is not None or short == "set_fact")
    if shares and any(k == "loop" or str(k).startswith("with_") for k in raw):
        raise InputError(
            "`run_once` with a loop and a result is not supported: the first host's results "
            "would be given to every host item by item",
            where_of(raw, "run_once") if "run_once" in raw else where,
            hint="register the loop's result without `run_once`, or loop in a `set_fact`",
        )
    keyword = _keyword_kind(raw, short, written_key, where, scope.environment)
    if keyword is None:
        type_key = resolve_type_key(written_key, registry)
        if type_key not in registry:
            raise InputError(
                f"unknown task type {str(written_key)!r}",
                type_where,
                hint=f"task types: {', '.join(sorted(registry))}",
            )
        cls = registry[type_key]
        args = cls.parse(_task_args(raw, written_key, type_where), type_where)
    else:
        type_key = short
    if keyword is None and "check_mode" in raw and not cls.read_only:
        raise InputError(
            "`check_mode: false` on a task that changes the host is not supported: `plan` "
            "never changes a host, and apply always does",
            where_of(raw, "check_mode"),
            hint="remove it; on a read-only `command`/`shell` it marks a fact read in the probe",
        )
    if scope.delegate_local and keyword not in (
        "read_command",
        "read_shell",
        "stat",
        "debug",
        "set_fact",
    ):
        raise InputError(
            "`delegate_to: localhost` is supported on read-only steps only (a registered "
            "`command`/`shell` with `check_mode: false`, or with `changed_when: false` when "
            "its words prove it only reads; `stat`, `debug`, `set_fact`)",
            where_of(raw, "delegate_to") if "delegate_to" in raw else where,
            hint="a step that changes the controller belongs before the run (a script, a "
            "make target), not in a play",
        )
    if (
        scope.user != "root"
        and (scope.become if scope.become is not None else scope.config.become)
        and keyword is None
        and not any(getattr(b, "type_name", "") in ("shell", "command") for b in cls.__mro__[:2])
        and not any(writes_as_user(getattr(b, "type_name", "")) for b in cls.__mro__[:2])
        and not any(getattr(b, "type_name", "") in RUN_NOTHING for b in cls.__mro__[:2])
        and not any(k in raw for k in BLOCK_PARTS)
    ):
        raise InputError(
            f"`become_user: {scope.user}` is supported on `command`/`shell` and file tasks"
            " (copy, template, file, lineinfile, blockinfile, replace) only: this tool"
            " manages packages and services as root",
            where_of(raw, "become_user") if "become_user" in raw else where,
            hint="give `owner:`/`group:` on a file task, or run the step as a command",
        )
    tags = [*scope.tags, *_tag_list(raw, where)]
    notify = raw.get("notify") or []
    notify = [notify] if isinstance(notify, str) else notify
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        raise InputError(
            "`notify` must be a handler name or a list of them", where_of(raw, "notify")
        )
    listen = raw.get("listen") or []
    listen = [listen] if isinstance(listen, str) else listen
    if not isinstance(listen, list) or not all(isinstance(n, str) for n in listen):
        raise InputError("`listen` must be a topic or a list of them", where_of(raw, "listen"))
    become = scope.become if scope.become is not None else scope.config.become
    secret = scope.secret
    role_name = scope.role.name if scope.role else None
    role_dir = scope.role.path if scope.role else None
    variables = scope.variables
    shared = None if scope.handlers else scope.run.shared
    items, loop_var, control = _loop_items(raw, variables, where, shared)
    loop_id = scope.run.new_id() if items and items[0] is not _NO_LOOP else 0
    if keyword is None:
        built: Any = _TaskBuilder(
            cls,
            type_key,
            args,
            raw,
            type_where,
            secret,
            scope.secret_values,
            role_dir,
            written_key,
            writer_of(scope),
        )
    else:
        built = _KeywordBuilder(keyword, raw, written_key, type_where, scope, role_dir)
    if register:
        scope.run.shared.late.add(register)
        if keyword in ("read_command", "read_shell", "stat"):
            scope.run.shared.probe_read.add(register)  # a late loop may read it
    changed_when = _check(raw, "changed_when", variables, register)
    failed_when = _check(raw, "failed_when", variables, register)

    def item_task(
        index: int, item: Any, count: int, from_host: bool = False, skip: str = ""
    ) -> CompiledTask:
        """The task for one item (or the task itself, `_NO_LOOP`); also the item tasks of
        a loop expanded at plan time (`from_host`), built exactly the same way."""
        item_vars = variables
        loop_ref = None
        if item is not _NO_LOOP:
            extra = {loop_var: item}
            if control and control.get("index_var"):
                extra[str(control["index_var"])] = index
            item_vars = variables.child(extra, where)
            loop_ref = LoopRef(loop_id, index, count, item, loop_var, from_host)
        try:
            label = _task_name(raw, item_vars, where)
        except (FactsNeeded, InputError) as exc:
            if isinstance(exc, InputError) and not isinstance(item, StandIn):
                raise
            label = None if raw.get("name") is None else str(raw["name"])
        if label is not None and control and "label" in control:
            try:
                shown = render_value(control["label"], item_vars, where, "loop_control.label")
                raise_if_pending(shown)
                label = f"{label} ({shown})"
            except (FactsNeeded, InputError) as exc:  # a stand-in item has no real label
                if isinstance(exc, InputError) and not isinstance(item, StandIn):
                    raise
        skip_reason = skip or scope.skip or _selection_skip(tags, scope.selection)
        copied = None  # run_once with a result, on another host: the first host's result
        if not skip_reason and scope.run_once and not scope.run.first_host and shares:
            context = TaskContext(where, role_dir, item_vars, secret, scope.secret_values)
            names = built.sets if keyword == "set_fact" else []
            scope.run.shared.late.update(names)
            copy = run_once_copy(scope.run.first_host_name, register, names, context)
            copied = PendingFacts([], None, *copy)
        elif not skip_reason and scope.run_once and not scope.run.first_host:
            skip_reason = f"run_once: runs on {scope.run.first_host_name} only"
        conditions = list(scope.conditions)
        if not skip_reason and copied is None and "when" in raw:
            try:
                if not evaluate(raw["when"], item_vars, where_of(raw, "when"), "`when`"):
                    skip_reason = f"condition false: {raw['when']}"
            except FactsNeeded as need:
                assert isinstance(item_vars, HostVars)
                groups = need.groups | fact_groups(raw["when"], item_vars, expression=True)
                where_when = where_of(raw, "when")
                conditions.append(Condition(raw["when"], item_vars, where_when, "`when`", groups))
        task = None
        pending = copied
        if not skip_reason and copied is None:
            try:
                task = built.build(item_vars)
            except FactsNeeded as need:
                assert isinstance(item_vars, HostVars)
                if keyword == "set_fact":  # its values are known per host, later
                    scope.run.shared.late.update(built.sets)
                    if _probe_derived(need.groups, scope.run.shared):  # a late loop may read it
                        scope.run.shared.probe_read.update(built.sets)
                pending = PendingFacts(
                    conditions, None, built.late(item_vars), need.groups | built.groups(item_vars)
                )
            if task is not None and label is None:
                label = task.describe()
            if task is not None and conditions:
                groups = frozenset().union(*(c.groups for c in conditions))
                pending = PendingFacts(conditions, task, None, groups)
                task = None
            elif pending is not None:
                pending.groups |= frozenset().union(*(c.groups for c in conditions))
        if secret:
            label = _secret_task_name(raw, str(written_key))
        return CompiledTask(
            name=label or f"{type_key}",
            role=role_name,
            location=where,
            task=task,
            skip_reason=skip_reason,
            notify=list(notify),
            become=bool(become),
            tags=tags,
            pending=pending,
            register=register,
            changed_when=None if copied else changed_when,  # judged on the first host
            failed_when=None if copied else failed_when,
            ignore_errors=scope.ignore_errors,
            blocks=scope.blocks,
            loop=loop_ref,
            listen=list(listen),
            environment=tuple(scope.environment.items()),
            become_user=scope.user if become else "root",
            flush_handlers=keyword == "flush_handlers",
            sets=tuple(built.sets) if keyword is not None else (),
        )

    if items and isinstance(items[0], _LateList):
        late = items[0]
        stand_in = item_task(0, StandIn(), 1, True, skip="(expanded per host at plan time)")
        if not scope.skip and not _selection_skip(tags, scope.selection):
            if not (scope.run_once and not scope.run.first_host):
                return [_late_loop(late, raw, scope, stand_in, item_task, keyword, built)]
        skipped = item_task(0, StandIn(), 1)  # tags, role condition, run_once: not expanded
        return [replace(skipped, name=_written_name(raw, type_key), loop=None)]
    return [item_task(index, item, len(items)) for index, item in enumerate(items)]


_CONTROLLER_READS = re.compile(r"\b(lookup|query|q)\s*\(")


def _probe_derived(groups: frozenset[str], shared: RunShared) -> bool:
    """Whether values reading these groups are known once the probe answers (host facts,
    results read in the probe), not only when apply has changed the host."""
    return all(not is_late(g) or g[len(REG) :] in shared.probe_read for g in groups)


def _written_name(raw: YDict, type_key: str) -> str:
    return str(raw["name"]) if raw.get("name") is not None else type_key


def _late_loop(
    late: _LateList,
    raw: YDict,
    scope: TaskScope,
    stand_in: CompiledTask,
    item_task: Callable[..., CompiledTask],
    keyword: str | None,
    built: Any,
) -> CompiledTask:
    """The placeholder of a loop whose list the host gives (a read-only result, host facts):
    the planner expands it per host (`LateLoop.expand`) into tasks built by `item_task`, as a
    loop over variables is. Such items are the host's own text: they never reach the
    controller (no `delegate_to`, no lookup, no templated `src`)."""
    assert scope.run is not None
    where = late.at
    if scope.delegate_local:
        raise InputError(
            f"`{late.key}` over the host's answers on a step delegated to localhost: the host's "
            "text would be read on this machine",
            where,
            hint="delegate a loop over a variable only",
        )
    if any(_CONTROLLER_READS.search(text) for text in _strings_in(raw)):
        raise InputError(
            f"a lookup in a task whose `{late.key}` reads the host's answers: the items are "
            "the host's own text, and a lookup reads this machine",
            where,
            hint="do the lookup in a variable set outside the loop",
        )
    args = [v for k, v in raw.items() if k not in TASK_KEYS]
    if any(isinstance(a, dict) and "{" in str(a.get("src", "")) for a in args):
        raise InputError(
            f"a templated `src` in a task whose `{late.key}` reads the host's answers: the "
            "host would pick which file of this machine is sent",
            where,
            hint="name the source file as written, or loop over a variable",
        )
    if keyword == "set_fact":  # its values are known per host, after the probe
        scope.run.shared.late.update(built.sets)
        scope.run.shared.probe_read.update(built.sets)
    variables = scope.variables
    assert isinstance(variables, HostVars)
    expression = raw[late.key]
    source = f"`{expression}`"
    groups = set(late.groups) | set(built.groups(variables))
    if "when" in raw:
        groups |= fact_groups(raw["when"], variables, expression=True)
    for condition in scope.conditions:
        groups |= condition.groups

    def expand(facts: GroupValues) -> list[CompiledTask]:
        value = render_value(expression, variables.with_facts(facts), where, late.key)
        raise_if_pending(value)
        items = check_items(_loop_list(late.key, value, where), source, where)
        return [item_task(i, item, len(items), True) for i, item in enumerate(items)]

    def speculative() -> CompiledTask:
        return item_task(0, StandIn(), 1, True)

    loop = LateLoop(
        late.key,
        expression,
        where,
        late.names,
        frozenset(g for g in groups if not is_late(g)),
        expand,
        speculative,
    )
    name = _written_name(raw, stand_in.name)
    return replace(stand_in, name=name, skip_reason="", loop=None, late_loop=loop)


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings_in(k), *_strings_in(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings_in(v)]
    return []


def _check(raw: YDict, key: str, variables: Variables, register: str | None) -> Check | None:
    if key not in raw or raw[key] is None:
        return None
    assert isinstance(variables, HostVars)
    return Check(raw[key], variables, where_of(raw, key), f"`{key}`", register)


def _task_args(raw: YDict, key: Any, where: Location) -> Any:
    """A task's arguments: its mapping, merged with `args:` (Ansible's older form)."""
    value = raw[key]
    extra = raw.get("args")
    if extra:
        if value is None:
            return dict(extra)
        if isinstance(value, dict):
            merged = YDict({**extra, **value})
            merged.file = getattr(value, "file", where.file)
            merged.line = getattr(value, "line", where.line)
            merged.key_lines = getattr(value, "key_lines", {})
            return merged
    return value


def _keyword_kind(
    raw: YDict, short: str, key: Any, where: Location, environment: dict[str, str] | None = None
) -> str | None:
    """Which keyword-like module a task is (None: a task type of the registry)."""
    if short in ("debug", "set_fact", "stat"):
        return short
    if short == "meta":
        value = raw[key]
        if value != "flush_handlers":
            raise InputError(
                f"`meta: {value}` is not supported; only `meta: flush_handlers` is",
                where_of(raw, key),
                hint="end_play/end_host: use `when:` on the tasks; refresh_inventory: run again",
            )
        return "flush_handlers"
    if short in READ_COMMANDS and "register" in raw and _read_only(raw, short, key, environment):
        return "read_" + short
    if short in ("package_facts", "service_facts"):
        value = raw[key] or {}
        allowed = {"manager": ("auto", "rpm")} if short == "package_facts" else {}
        if not isinstance(value, dict) or any(
            k not in allowed or str(v) not in allowed[k] for k, v in value.items()
        ):
            raise InputError(
                f"`{short}` takes {'`manager: auto` or `rpm`' if allowed else 'no argument'}",
                where_of(raw, key),
            )
        return short
    return None


def _read_only(raw: YDict, short: str, key: Any, environment: dict[str, str] | None = None) -> bool:
    """A command that changes nothing, by Ansible's convention: `check_mode: false` (Ansible's
    check mode runs only such a command), or `changed_when: false` on a command whose words
    prove it only reads (`readonly.command_reads_only`) and whose `environment` changes
    nothing but the locale or time zone (`PATH`, `LD_PRELOAD` would run other programs).
    Such a command, registered, runs in the probe, during `plan` too; any other runs at
    apply, at its place."""
    if raw.get("check_mode") is False:
        return True
    if not environment_reads_only(environment or {}):
        return False
    changed = raw.get("changed_when")
    if not (
        changed is False
        or (isinstance(changed, str) and changed.strip().lower() in ("false", "no"))
    ):
        return False
    spec = raw[key]
    extra = raw.get("args") if isinstance(raw.get("args"), dict) else {}
    if isinstance(spec, dict):
        extra = {**extra, **spec}
        spec = extra.get("cmd", extra.get("_raw_params"))
    elif spec is None:
        spec = extra.get("cmd")
    argv = extra.get("argv")
    if argv is not None:
        return (
            isinstance(argv, list)
            and all(isinstance(w, str) and "{" not in w for w in argv)
            and argv_reads_only(list(argv))
        )
    return isinstance(spec, str) and command_reads_only(spec, shell=short == "shell")


def _include_vars(raw: YDict, key: Any, scope: TaskScope, where: Location) -> None:
    """`include_vars: FILE` (or `file:`/`name:`): the file's variables are set for the
    later tasks of this host (as set_fact does)."""
    assert scope.run is not None
    at = where_of(raw, key)
    spec = raw[key]
    if isinstance(spec, str):
        spec = {"file": spec}
    if not isinstance(spec, dict) or "file" not in spec:
        raise InputError("`include_vars` takes a file name, or `file:` (and `name:`)", at)
    for arg in spec:
        if arg not in ("file", "name"):
            raise InputError(
                f"`include_vars`: argument {arg!r} is not supported",
                at,
                hint="include_vars takes `file:` and `name:`; one file per task",
            )
    if "loop" in raw or "when" in raw:
        raise InputError(
            "`include_vars` with `when:` or a loop is not supported: the variables are read "
            "before any host is probed",
            at,
            hint="put the variables in vars files chosen by inventory groups",
        )
    name = _static_name(raw, key, spec["file"], "include_vars", scope, where)
    base = scope.base_dir or Path(where.file).parent
    roots = [base]
    if scope.role is not None:
        roots.insert(0, scope.role.path / "vars")
    root = scope.role.path if scope.role is not None else Path(scope.run.play.file).parent
    for folder in roots:
        path = contained_file(folder, name, root, "`include_vars` file", at)
        if path.is_file():
            break
    else:
        raise InputError(f"`include_vars`: file {name!r} not found", at)
    data = load_yaml(path, "variables file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path} must be a mapping of variables, found {type_name(data)}", at)
    if spec.get("name"):
        data = {str(spec["name"]): dict(data)}
    scope.run.shared.static.update(data)


@dataclass
class _KeywordBuilder:
    """Builds debug / set_fact / stat / a read-only command / flush_handlers."""

    kind: str
    raw: YDict
    key: Any
    where: Location
    scope: TaskScope
    role_dir: Path | None
    sets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        value = self.raw[self.key]
        if self.kind == "set_fact":
            if not isinstance(value, dict) or not value:
                raise InputError("`set_fact` takes a mapping of names to values", self.where)
            for name in value:
                if name == "cacheable":
                    continue
                if not isinstance(name, str) or not _VAR_NAME.fullmatch(name):
                    raise InputError(f"`set_fact`: {name!r} is not a variable name", self.where)
                self.sets.append(name)
        elif self.kind in ("package_facts", "service_facts"):
            key = "packages" if self.kind == "package_facts" else "services"
            self.sets.append(f"ansible_facts.{key}")
            self.scope.run.shared.late_facts.add(key)  # type: ignore[union-attr]
        elif self.kind == "debug":
            if not isinstance(value, dict) or not set(value) <= {"msg", "var", "verbosity"}:
                raise InputError("`debug` takes `msg:` or `var:`", self.where)
        elif self.kind == "stat":
            if not isinstance(value, dict) or "path" not in value:
                raise InputError("`stat` takes `path:` (and `follow:`)", self.where)
            for arg in value:
                if arg not in (
                    "path",
                    "follow",
                    "get_checksum",
                    "get_mime",
                    "get_attributes",
                    "checksum_algorithm",
                ):
                    raise InputError(f"`stat`: unknown argument {arg!r}", self.where)
        elif self.kind.startswith("read_"):
            if (
                "creates" in str(value)
                and isinstance(value, dict)
                and ("creates" in value or "removes" in value)
            ):
                raise InputError("a read-only command takes no `creates`/`removes`", self.where)

    def _context(self, variables: Variables) -> TaskContext:
        return TaskContext(
            self.where, self.role_dir, variables, self.scope.secret, self.scope.secret_values
        )

    @codecache.secret_method(lambda builder: builder.scope.secret)  # also at plan time
    def build(self, variables: Variables) -> Any:
        value = self.raw[self.key]
        kind = self.kind
        context = self._context(variables)
        if kind == "flush_handlers":
            return None
        if kind == "debug":
            if "var" in value:
                name = str(value["var"])
                shown = render_string("{{ " + name + " }}", variables, self.where, "debug.var")
                raise_if_pending(shown)
                return Debug(context, f"{name}: {shown!r}")
            message = render_value(
                value.get("msg", "Hello world!"), variables, self.where, "debug.msg"
            )
            raise_if_pending(message)
            return Debug(context, str(message))
        if kind == "set_fact":
            values = {k: v for k, v in value.items() if k != "cacheable"}
            rendered = render_value(values, variables, self.where, "set_fact")
            raise_if_pending(rendered)
            late = self.scope.run.shared.late  # type: ignore[union-attr]
            if not any(name in late for name in rendered):
                self.scope.run.shared.static.update(rendered)  # type: ignore[union-attr]
            return SetFact(context, rendered)
        if kind in ("package_facts", "service_facts"):
            return ReadFacts(context, "packages" if kind == "package_facts" else "services")
        if kind == "stat":
            path = render_value(value["path"], variables, self.where, "stat.path")
            raise_if_pending(path)
            if not isinstance(path, str) or not path.startswith("/"):
                raise InputError(
                    f"`stat`: `path` must be an absolute path, found {path!r}", self.where
                )
            follow = bool(value.get("follow", False))
            return ReadStat(context, StatFact(path, follow, local=self.scope.delegate_local))
        return self._read_command(value, variables, context)

    def _read_command(self, value: Any, variables: Variables, context: TaskContext) -> ReadCommand:
        shell = self.kind == "read_shell"
        module = "shell" if shell else "command"
        args = _task_args(self.raw, self.key, self.where)
        if isinstance(value, str) and isinstance(self.raw.get("args"), dict):
            args = {**self.raw["args"], "cmd": value}
        chdir = ""
        if isinstance(args, dict):
            allowed = ("cmd", "argv", "chdir", "_raw_params", "executable")
            for arg in args:
                if arg not in allowed:
                    raise InputError(
                        f"`{module}`: argument {arg!r} is not supported on a read-only command",
                        self.where,
                        hint="a read-only command takes cmd (or argv for command) and chdir",
                    )
            if args.get("executable") not in (None, "/bin/sh", "/bin/bash"):
                raise InputError(f"`{module}`: executable must be /bin/sh or /bin/bash", self.where)
            if args.get("chdir"):
                chdir = render_value(args["chdir"], variables, self.where, f"{module}.chdir")
                raise_if_pending(chdir)
                if not isinstance(chdir, str) or not chdir.startswith("/"):
                    raise InputError(f"`{module}`: chdir must be an absolute path", self.where)
            text = args.get("cmd", args.get("_raw_params"))
            argv = args.get("argv")
        else:
            text, argv = value, None
        if (text is None) == (argv is None):
            raise InputError(
                f"`{module}`: give the command (free form or `cmd:`) or `argv:`", self.where
            )
        if argv is not None:
            # a list of words, or one template that renders to one (Ansible's argv: "{{ x }}")
            if shell or not isinstance(argv, list | str) or not argv:
                raise InputError(
                    f"`{module}`: `argv` must be a list of words (command only)", self.where
                )
            words = render_value(argv, variables, self.where, f"{module}.argv")
            raise_if_pending(words)
            if (
                not isinstance(words, list)
                or not words
                or any(isinstance(w, dict | list) for w in words)
            ):
                raise InputError(
                    f"`{module}`: `argv` must be a list of words, found {type_name(words)}",
                    self.where,
                    hint="write a YAML list, or one template that renders to a list",
                )
            script = shlex.join(str(w) for w in words)
            cmd: Any = [str(w) for w in words]
        else:
            if not isinstance(text, str):
                raise InputError(
                    f"`{module}`: the command must be text, found {type_name(text)}", self.where
                )
            rendered = render_string(text, variables, self.where, module, True)
            raise_if_pending(rendered)
            if shell:
                script = cmd = str(rendered)
                if isinstance(args, dict) and args.get("executable") == "/bin/bash":
                    script = shlex.join(["/bin/bash", "-c", script])
            else:
                try:
                    words = shlex.split(str(rendered))
                except ValueError as exc:
                    raise InputError(
                        f"`command`: cannot split the command into words ({exc})", self.where
                    ) from None
                if not words:
                    raise InputError("`command`: the command is empty", self.where)
                script = shlex.join(words)
                cmd = words
        if "\0" in script:
            raise InputError(f"`{module}`: the command holds a NUL byte", self.where)
        env = tuple(self.scope.environment.items())
        local = self.scope.delegate_local
        scope = self.scope
        become = scope.become if scope.become is not None else scope.config.become
        if scope.user != "root" and become and not local:
            script = as_user(self.scope.user, env_prefix(env) + script)
            env = ()
        return ReadCommand(context, ReadCommandFact(script, chdir, env, local=local), cmd)

    def late(self, item_vars: HostVars) -> Callable[[GroupValues], tuple[TaskType, str | None]]:
        def build(facts: GroupValues) -> tuple[TaskType, str | None]:
            host_vars = item_vars.with_facts(facts)
            task = self.build(host_vars)
            return task, _task_name(self.raw, host_vars, self.where) or task.describe()

        return build

    def groups(self, item_vars: HostVars) -> frozenset[str]:
        return fact_groups(self.raw[self.key], item_vars)


@dataclass
class _TaskBuilder:
    """Renders a task's arguments over some variables and builds it (at compile time, or
    at plan time over the host's facts when its arguments read them)."""

    cls: type[TaskType]
    type_key: str
    args: dict[str, Any]
    raw: YDict
    type_where: Location
    secret: bool
    secret_values: list[str]
    role_dir: Path | None
    raw_key: Any = None
    become_user: str = "root"  # who its commands run as (project/become.py writer_of)

    @codecache.secret_method(lambda builder: builder.secret)  # also when built at plan time
    def build(self, item_vars: Variables) -> TaskType:
        cls, type_key, args, type_where = self.cls, self.type_key, self.args, self.type_where
        rendered = {}
        arg_lines = getattr(self.raw[self.raw_key or type_key], "key_lines", None)
        for key, value in args.items():
            if key in cls.shell_args and isinstance(value, str):
                line = (arg_lines or {}).get(key, type_where.line)
                rendered[key] = render_string(
                    value, item_vars, Location(type_where.file, line), f"{type_key}.{key}", True
                )
            else:
                rendered[key] = render_value(value, item_vars, type_where, f"{type_key}.{key}")
        rendered = drop_omitted(rendered)  # `default(omit)` drops the argument (jinjafilters)
        raise_if_pending(rendered)
        # A type error quotes a value only when the task file wrote it literally.
        hidden = set(args) if self.secret else {k for k, v in args.items() if _templated(v)}
        own_secrets = _secret_args(rendered) if self.secret else []
        try:
            params = cls.coerce(rendered, type_where, arg_lines, hidden)
            context = TaskContext(
                type_where,
                self.role_dir,
                item_vars,
                self.secret,
                self.secret_values,
                args,
                arg_lines or {},
                become_user=self.become_user,
            )
            task = cls(params, context)
        except InputError as exc:
            raise mask_error(exc, Masker(own_secrets)) from None
        self.secret_values += [v for v in own_secrets if v not in self.secret_values]
        return task

    def late(self, item_vars: HostVars) -> Callable[[GroupValues], tuple[TaskType, str | None]]:
        """Build the task at plan time, over a host's probed fact groups."""

        def build(facts: GroupValues) -> tuple[TaskType, str | None]:
            host_vars = item_vars.with_facts(facts)
            task = self.build(host_vars)
            if self.secret:
                return task, None  # shown by its name as written
            return task, _task_name(self.raw, host_vars, self.type_where) or task.describe()

        return build

    def groups(self, item_vars: HostVars) -> frozenset[str]:
        """The fact groups the arguments (and a template's file) read, read statically."""
        groups = fact_groups(self.args, item_vars)
        src = self.args.get("src")
        if self.type_key == "template" and isinstance(src, str) and "{" not in src:
            root = self.role_dir or Path(self.type_where.file).parent
            groups |= template_groups(root / "templates" / src, item_vars)
        return groups


def _templated(value: Any) -> bool:
    """Whether a raw argument holds a template anywhere (its value comes from variables)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_templated(k) or _templated(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_templated(v) for v in value)
    return False


def _secret_args(rendered: dict[str, Any]) -> list[str]:
    """The text leaves of a secret task's rendered arguments, except the ones that name a
    place or a setting (NOT_SECRET_ARGS: paths, owner, mode...)."""
    return [
        leaf
        for key, value in rendered.items()
        if key not in NOT_SECRET_ARGS
        for leaf in secret_leaves(value)
    ]


def _secret_task_name(raw: YDict, type_key: str) -> str:
    """A secret task is shown by its name as written, never rendered (a rendered name can
    hold a value); without a name, by its type."""
    if "name" in raw and raw["name"] is not None:
        return str(raw["name"])
    return f"{type_key} (secret task)"


def _task_name(raw: YDict, scope: Variables, where: Location) -> str | None:
    if "name" not in raw:
        return None
    rendered = render_value(raw["name"], scope, where_of(raw, "name"), "task name")
    raise_if_pending(rendered)
    return str(rendered)


def _tag_list(raw: YDict, where: Location) -> list[str]:
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        return [tags]
    if not isinstance(tags, list):
        raise InputError("`tags` must be a list", where_of(raw, "tags"))
    return [str(t) for t in tags]


def _selection_skip(tags: list[str], selection: Selection) -> str:
    if selection.tags and not set(tags) & set(selection.tags) and "always" not in tags:
        return "not selected by --tags"
    if selection.skip_tags and set(tags) & set(selection.skip_tags):
        return "skipped by --skip-tags"
    return ""


@dataclass
class HostSettings:
    """A host's connection settings and variables, for commands that run no tasks
    (`provision facts`, `provision check`)."""

    config: HostConfig
    variables: HostVars
    secrets: list[str]


def host_settings(
    inventory_path: Path,
    playbook_path: Path | None,
    extra_vars: dict[str, Any] | None = None,
    limit: str | None = None,
) -> list[HostSettings]:
    """Every host of the inventory (or those `limit` matches) with its variables: the
    inventory's, and when a playbook is given, its plays' and roles' too (the first play
    that names the host; role defaults of all its plays below)."""
    inventory = load_inventory(inventory_path)
    plays = load_playbook(playbook_path) if playbook_path is not None else []
    hosts = list(inventory.hosts)
    if limit:
        hosts = inventory.match(limit)
        if not hosts:
            raise InputError(
                f"--limit {limit!r} matches no host in {inventory_path}",
                hint=f"hosts: {', '.join(inventory.hosts) or '(none)'}",
            )
    result = []
    for host in hosts:
        mine = [p for p in plays if host in inventory.match(p.hosts, p.location)]
        raw: dict[str, Any] = {}
        origins: dict[str, Location] = {}
        become: bool | None = None  # no play: ansible.cfg decides
        for play in reversed(mine):  # the first play's values win
            play_raw, play_origins = _play_variables(inventory, play, host, extra_vars or {})
            raw.update(play_raw)
            origins.update(play_origins)
            become = play.become
        if not mine:
            raw, origins = inventory.host_variables(host)
            raw = {**raw, **(extra_vars or {})}
        variables = HostVars(raw, origins)
        secrets: list[str] = []
        codecache.watch_secrets(secrets)
        try:
            for name in PASSWORD_VARIABLES:
                if name in variables and name in raw:
                    with codecache.secret_scope():
                        secrets += secret_leaves(variables[name])
            config = host_config(
                host,
                variables,
                inventory.directory,
                become,
                inventory.hosts[host].location,
                check_files=True,
                settings=inventory.settings,
            )
        except FactsNeeded as need:
            raise _facts_not_here(need, inventory.hosts[host].location or Location(host))
        except InputError as exc:
            raise mask_error(exc, Masker(secrets)) from None
        secrets += [v for v in config.masked_values() if v not in secrets]
        result.append(HostSettings(config, variables, secrets))
    return result
