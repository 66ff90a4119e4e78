"""Inventory + playbook → per host, per play: validated, rendered tasks. No host is touched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.facts.hostvars import FactsNeeded, GroupValues, raise_if_pending
from provision.project.factvars import HostVars, fact_groups, template_groups
from provision.project.hostconfig import HostConfig, host_config
from provision.project.inventory import Inventory, load_inventory
from provision.project.playbook import Play, Role, Rolling, load_playbook
from provision.project.templating import Variables, evaluate, render_string, render_value
from provision.project.yamlfile import YDict, load_yaml, parse_yaml, type_name, where_of
from provision.reporting.mask import Masker, mask_error, secret_leaves
from provision.tasks.base import TaskContext, TaskType, task_types

PASSWORD_VARIABLES = (
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_become_password",
    "ansible_become_pass",
)
COMMON_KEYS = ("name", "when", "loop", "notify", "become", "secret", "tags")
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


@dataclass
class Condition:
    """A `when:` (a task's or its role's) that reads host facts: decided per host at plan
    time, over the probed fact groups."""

    expression: Any
    variables: HostVars
    location: Location
    what: str
    groups: frozenset[str]

    def holds(self, facts: GroupValues) -> bool:
        """True or False on these facts; FactsNeeded when it reads a group not probed."""
        value = evaluate(
            self.expression, self.variables.with_facts(facts), self.location, self.what
        )
        return bool(value)

    def describe(self) -> str:
        return f"{self.expression}"


@dataclass
class PendingFacts:
    """What host facts decide about a task: its conditions, and, when its arguments read
    facts, how to build it once they are known (`build(facts) -> (task, name)`)."""

    conditions: list[Condition]
    task: TaskType | None  # built at compile time: its arguments read no fact
    build: Callable[[GroupValues], tuple[TaskType, str | None]] | None
    groups: frozenset[str]  # the fact groups the conditions and arguments read


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


@dataclass
class HostPlay:
    """One host's share of one play."""

    host: HostConfig
    play: str
    tasks: list[CompiledTask]
    handlers: list[CompiledTask]
    secrets: list[str]


@dataclass
class Compiled:
    inventory: Inventory
    plays: list[tuple[str, list[HostPlay]]]
    rolling: list[Rolling] = field(default_factory=list)  # per play: serial, max_fail_percentage

    def secrets(self) -> list[str]:
        return sorted({s for _, hps in self.plays for hp in hps for s in hp.secrets})


@dataclass
class TaskScope:
    """What every task of one list (a role's tasks, its handlers, a play's tasks) shares."""

    role: Role | None
    variables: Variables
    config: HostConfig
    selection: Selection
    secret_values: list[str]
    skip: str = ""
    tags: list[str] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)  # the role's, over host facts


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
    compiled: list[tuple[str, list[HostPlay]]] = []
    for play in plays:
        hosts = inventory.match(play.hosts, play.location)
        if not hosts:
            groups = ", ".join(g for g in inventory.groups if g not in ("all", "ungrouped"))
            raise InputError(
                f"hosts pattern {play.hosts!r} of play {play.name!r} matches no host in "
                f"{inventory_path}",
                play.location,
                hint=f"groups in the inventory: {groups or '(none)'}",
            )
        if limited is not None:
            hosts = [h for h in hosts if h in limited]
        host_plays = [
            _compile_host(inventory, play, host, extra_vars or {}, selection) for host in hosts
        ]
        compiled.append((play.name, host_plays))
    return Compiled(inventory, compiled, [play.rolling for play in plays])


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
    raw["playbook_dir"] = str(play.file.parent.resolve())
    raw["inventory_dir"] = str(inventory.directory.resolve())
    return raw, origins


def _compile_host(
    inventory: Inventory, play: Play, host: str, extra: dict[str, Any], selection: Selection
) -> HostPlay:
    raw, origins = _play_variables(inventory, play, host, extra)
    variables = HostVars(raw, origins)
    secret_values: list[str] = []
    try:
        _collect_secrets(play, variables, secret_values)
        return _compile_host_tasks(inventory, play, host, variables, selection, secret_values)
    except FactsNeeded as need:
        raise mask_error(_facts_not_here(need, Location(str(play.file))), Masker(secret_values))
    except InputError as exc:
        # An input error never quotes a secret: mask it with every secret known by now
        # (the declared ones, the connection passwords, earlier secret tasks' arguments).
        raise mask_error(exc, Masker(secret_values)) from None


def _collect_secrets(play: Play, variables: Variables, into: list[str]) -> None:
    """The text leaves of every variable the play or its roles declare under `secrets:`
    and of the connection passwords, read before host_config can quote any of them."""
    names = [*play.secrets, *(name for role in play.roles for name in role.secrets)]
    for name in dict.fromkeys([*names, *PASSWORD_VARIABLES]):
        if name in variables:
            into += secret_leaves(variables[name])


def _compile_host_tasks(
    inventory: Inventory,
    play: Play,
    host: str,
    variables: Variables,
    selection: Selection,
    secret_values: list[str],
) -> HostPlay:
    config = host_config(
        host,
        variables,
        inventory.directory,
        play.become,
        inventory.hosts[host].location,
        check_files=True,
    )
    secret_values += [v for v in config.masked_values() if v not in secret_values]
    tasks: list[CompiledTask] = []
    handlers: list[CompiledTask] = []
    for role in play.roles:
        role_vars = variables.child(role.params, role.location) if role.params else variables
        skip, conditions = _role_skip(role, role_vars)
        tags = [*play.tags, *role.tags]
        tasks += _compile_list(
            role.tasks,
            TaskScope(role, role_vars, config, selection, secret_values, skip, tags, conditions),
        )
        handlers += _compile_list(
            role.handlers, TaskScope(role, role_vars, config, Selection(), secret_values)
        )
    play_scope = TaskScope(None, variables, config, selection, secret_values, "", list(play.tags))
    tasks += _compile_list(play.tasks, play_scope)
    handlers += _compile_list(
        play.handlers, TaskScope(None, variables, config, Selection(), secret_values)
    )
    names = {h.name for h in handlers}
    for task in tasks:
        for notified in task.notify:
            if notified not in names:
                raise InputError(
                    f"task notifies handler {notified!r}, which is not defined",
                    task.location,
                    hint=f"handlers: {', '.join(sorted(names)) or '(none)'}",
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
    result = []
    file = getattr(items, "file", "<tasks>")
    for index, raw in enumerate(items):
        where = where_of(items, index, file)
        if not isinstance(raw, dict):
            raise InputError(f"a task must be a mapping, found {type_name(raw)}", where)
        result += _compile_task(raw, scope, where)
    return result


def _compile_task(raw: YDict, scope: TaskScope, where: Location) -> list[CompiledTask]:
    registry = task_types()
    role, variables, config, secret_values = (
        scope.role,
        scope.variables,
        scope.config,
        scope.secret_values,
    )
    type_keys = [k for k in raw if k not in COMMON_KEYS]
    if not type_keys:
        raise InputError(
            "task has no task type", where, hint=f"task types: {', '.join(sorted(registry))}"
        )
    if len(type_keys) > 1:
        unknown = [k for k in type_keys if k not in registry]
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r} in task",
                where_of(raw, unknown[0]),
                hint=f"task keys: {', '.join(COMMON_KEYS)}; task types: "
                f"{', '.join(sorted(registry))}",
            )
        raise InputError(f"a task has exactly one task type, found {', '.join(type_keys)}", where)
    type_key = str(type_keys[0])
    if type_key not in registry:
        raise InputError(
            f"unknown task type {type_key!r}",
            where_of(raw, type_key),
            hint=f"task types: {', '.join(sorted(registry))}",
        )
    cls = registry[type_key]
    type_where = where_of(raw, type_key)
    args = cls.parse(raw[type_key], type_where)
    tags = [*scope.tags, *_tag_list(raw, where)]
    notify = raw.get("notify") or []
    notify = [notify] if isinstance(notify, str) else notify
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        raise InputError(
            "`notify` must be a handler name or a list of them", where_of(raw, "notify")
        )
    for flag in ("become", "secret"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise InputError(f"`{flag}` must be true or false", where_of(raw, flag))
    become = raw.get("become", config.become)
    secret = raw.get("secret", False)
    role_name = role.name if role else None
    role_dir = role.path if role else None

    loop_items: list[Any] = [None]
    if "loop" in raw:
        try:
            loop = render_value(raw["loop"], variables, where_of(raw, "loop"), "loop")
            raise_if_pending(loop)
        except FactsNeeded as need:
            raise InputError(
                f"`loop` reads host facts ({need}): a loop is expanded before any host is "
                "probed, so it cannot read them yet",
                where_of(raw, "loop"),
                hint="loop over a variable, and test the fact in `when:` or the arguments",
            )
        if not isinstance(loop, list):
            raise InputError(
                f"`loop` must give a list, found {type_name(loop)}", where_of(raw, "loop")
            )
        loop_items = loop
    built = _TaskBuilder(cls, type_key, args, raw, type_where, secret, secret_values, role_dir)
    compiled = []
    for item in loop_items:
        item_vars = variables.child({"item": item}, where) if "loop" in raw else variables
        try:
            label = _task_name(raw, item_vars, where)
        except FactsNeeded:
            label = None if raw.get("name") is None else str(raw["name"])
        skip_reason = scope.skip or _selection_skip(tags, scope.selection)
        conditions = list(scope.conditions)
        if not skip_reason and "when" in raw:
            try:
                if not evaluate(raw["when"], item_vars, where_of(raw, "when"), "`when`"):
                    skip_reason = f"condition false: {raw['when']}"
            except FactsNeeded as need:
                assert isinstance(item_vars, HostVars)
                groups = need.groups | fact_groups(raw["when"], item_vars, expression=True)
                where_when = where_of(raw, "when")
                conditions.append(Condition(raw["when"], item_vars, where_when, "`when`", groups))
        task = None
        pending = None
        if not skip_reason:
            try:
                task = built.build(item_vars)
            except FactsNeeded as need:
                assert isinstance(item_vars, HostVars)
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
            label = _secret_task_name(raw, type_key)
        compiled.append(
            CompiledTask(
                name=label or f"{type_key}",
                role=role_name,
                location=where,
                task=task,
                skip_reason=skip_reason,
                notify=list(notify),
                become=bool(become),
                tags=tags,
                pending=pending,
            )
        )
    return compiled


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

    def build(self, item_vars: Variables) -> TaskType:
        cls, type_key, args, type_where = self.cls, self.type_key, self.args, self.type_where
        rendered = {}
        arg_lines = getattr(self.raw[type_key], "key_lines", None)
        for key, value in args.items():
            if key in cls.shell_args and isinstance(value, str):
                line = (arg_lines or {}).get(key, type_where.line)
                rendered[key] = render_string(
                    value, item_vars, Location(type_where.file, line), f"{type_key}.{key}", True
                )
            else:
                rendered[key] = render_value(value, item_vars, type_where, f"{type_key}.{key}")
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
        become = False
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
        try:
            for name in PASSWORD_VARIABLES:
                if name in variables and name in raw:
                    secrets += secret_leaves(variables[name])
            config = host_config(
                host,
                variables,
                inventory.directory,
                become,
                inventory.hosts[host].location,
                check_files=True,
            )
        except FactsNeeded as need:
            raise _facts_not_here(need, inventory.hosts[host].location or Location(host))
        except InputError as exc:
            raise mask_error(exc, Masker(secrets)) from None
        secrets += [v for v in config.masked_values() if v not in secrets]
        result.append(HostSettings(config, variables, secrets))
    return result
