"""Playbooks (plays, imports) and roles (defaults, tasks, handlers, templates, meta)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.paths import check_tree, find_in, role_name
from provision.project.yamlfile import YDict, YList, load_yaml, type_name, where_of
from provision.shipped import roles_dir as shipped_roles

PLAY_KEYS = (
    "name",
    "hosts",
    "become",
    "become_method",
    "become_user",
    "vars",
    "roles",
    "tasks",
    "handlers",
    "secrets",
    "tags",
    "serial",
    "max_fail_percentage",
)
ROLE_ENTRY_KEYS = ("role", "vars", "tags", "when")
META_KEYS = ("dependencies", "secrets", "allow_duplicates", "galaxy_info", "argument_specs")


@dataclass
class Role:
    name: str
    path: Path
    defaults: YDict
    tasks: YList
    handlers: YList
    secrets: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    when: Any = None
    location: Location | None = None
    dependencies: list[Any] = field(default_factory=list)  # as written in meta/main.yml
    allow_duplicates: bool = False


@dataclass(frozen=True)
class Rolling:
    """A play's rolling-update keys, as Ansible reads them.

    `serial`: batch sizes, each a host count or a percentage (`"30%"`) of the play's hosts
    (after `--limit`); the last one repeats until every host had its batch. Empty: one
    batch of every host. A count of 0 takes every host still left (as in Ansible).
    `max_fail_percentage`: a batch whose failed (or unreachable) hosts are strictly more
    than this share of it stops the run; None: only a batch where every host failed does."""

    serial: tuple[int | str, ...] = ()
    max_fail_percentage: float | None = None


@dataclass
class Play:
    name: str
    hosts: str
    become: bool | None  # None: no `become:` written; an explicit false wins over ansible.cfg
    vars: YDict
    roles: list[Role]
    tasks: YList
    handlers: YList
    secrets: list[str]
    file: Path
    location: Location
    tags: list[str] = field(default_factory=list)
    rolling: Rolling = field(default_factory=Rolling)
    # the play's `become_method`/`become_user` as written (see project/become.py)
    become_keys: YDict | None = None


def _empty_dict(file: str) -> YDict:
    d = YDict()
    d.file, d.line, d.key_lines = file, None, {}
    return d


def _empty_list(file: str) -> YList:
    items = YList()
    items.file, items.line, items.item_lines = file, None, []
    return items


def _load_task_list(path: Path, what: str) -> YList:
    if not path.is_file():
        return _empty_list(str(path))
    data = load_yaml(path, what)
    if data is None:
        return _empty_list(str(path))
    if not isinstance(data, list):
        raise InputError(
            f"{what} must be a list of tasks, found {type_name(data)}",
            where_of(data, fallback=str(path)),
        )
    return data  # type: ignore[return-value]


def _string_list(value: Any, what: str, where: Location) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(f"{what} must be a list of names, found {type_name(value)}", where)


# ansible.cfg's `roles_path` (or $ANSIBLE_ROLES_PATH), set once per run by the command
# line (cli_ansible.resolve) the way the vault passwords are: see `configure_roles_path`.
_roles_path: tuple[Path, ...] = ()


def configure_roles_path(folders: tuple[Path, ...]) -> None:
    """The folders of ansible.cfg's `roles_path`, searched after the project's roles/."""
    global _roles_path
    _roles_path = tuple(folders)


def find_role(name: str, playbook_dir: Path, where: Location, near: Path | None = None) -> Path:
    """The folder of role `name`: `roles/NAME` beside the playbook, above it, or in the
    current folder (`near` first: the roles folder of the role that depends on it), then
    in ansible.cfg's `roles_path` folders, then among the roles shipped with provision."""
    role_name(name, where)
    folders = [playbook_dir / "roles", playbook_dir.parent / "roles", Path.cwd() / "roles"]
    if near is not None:
        folders.insert(0, near)
    folders += _roles_path
    shipped = shipped_roles()
    if shipped is not None:
        folders.append(shipped)
    for folder in folders:
        candidate = find_in(folder, name, where)
        if candidate is None:
            continue
        if (candidate / "tasks" / "main.yml").is_file() or (candidate / "defaults").is_dir():
            return candidate
    searched = ", ".join(str(f) for f in dict.fromkeys(folders))
    raise InputError(f"role {name!r} not found (looked in {searched})", where)


def _load_meta(path: Path) -> tuple[list[str], YList, bool]:
    """A role's meta/main.yml: (secrets, dependencies, allow_duplicates)."""
    meta_file = path / "meta" / "main.yml"
    file = str(meta_file)
    if not meta_file.is_file():
        return [], _empty_list(file), False
    meta = load_yaml(meta_file, "role meta")
    if meta is None:
        return [], _empty_list(file), False
    if not isinstance(meta, dict):
        raise InputError(
            f"role meta must be a mapping, found {type_name(meta)}",
            where_of(meta, fallback=file),
        )
    for key in meta:
        if key not in META_KEYS:
            raise InputError(
                f"unknown key {key!r} in role meta; expected one of: {', '.join(META_KEYS)}",
                where_of(meta, key, file),
            )
    secrets = _string_list(meta.get("secrets"), "secrets", where_of(meta, "secrets", file))
    dependencies = meta.get("dependencies")
    if dependencies is None:
        dependencies = _empty_list(file)
    if not isinstance(dependencies, list):
        raise InputError(
            f"role `dependencies` must be a list of roles, found {type_name(dependencies)}",
            where_of(meta, "dependencies", file),
        )
    allow_duplicates = meta.get("allow_duplicates", False)
    if not isinstance(allow_duplicates, bool):
        raise InputError(
            "`allow_duplicates` must be true or false", where_of(meta, "allow_duplicates", file)
        )
    return secrets, dependencies, allow_duplicates  # type: ignore[return-value]


def load_role(name: str, playbook_dir: Path, where: Location, near: Path | None = None) -> Role:
    path = find_role(name, playbook_dir, where, near)
    check_tree(path, "role", where)
    defaults_file = path / "defaults" / "main.yml"
    defaults = load_yaml(defaults_file, "role defaults") if defaults_file.is_file() else None
    if defaults is None:
        defaults = _empty_dict(str(defaults_file))
    if not isinstance(defaults, dict):
        raise InputError(
            f"role defaults must be a mapping of variables, found {type_name(defaults)}",
            where_of(defaults, fallback=str(defaults_file)),
        )
    secrets, dependencies, allow_duplicates = _load_meta(path)
    return Role(
        name=name,
        path=path,
        defaults=defaults,  # type: ignore[arg-type]
        tasks=_load_task_list(path / "tasks" / "main.yml", "role tasks"),
        handlers=_load_task_list(path / "handlers" / "main.yml", "role handlers"),
        secrets=secrets,
        location=where,
        dependencies=dependencies,
        allow_duplicates=allow_duplicates,
    )


def load_playbook(path: Path, _seen: tuple[Path, ...] = ()) -> list[Play]:
    """All plays of a playbook, with `import_playbook` entries expanded in place."""
    resolved = path.resolve()
    if resolved in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, resolved))
        raise InputError(f"playbooks import each other in a cycle: {chain}")
    data = load_yaml(path, "playbook")
    file = str(path)
    if data is None:
        raise InputError("playbook is empty: expected a list of plays", Location(file))
    if not isinstance(data, list):
        raise InputError(
            f"a playbook must be a list of plays, found {type_name(data)}",
            where_of(data, fallback=file),
        )
    plays: list[Play] = []
    for index, entry in enumerate(data):
        where = where_of(data, index, file)
        if not isinstance(entry, dict):
            raise InputError(f"a play must be a mapping, found {type_name(entry)}", where)
        if "import_playbook" in entry:
            if len(entry) != 1:
                raise InputError("`import_playbook` goes alone in its list item", where)
            target = path.parent / str(entry["import_playbook"])
            if not target.is_file():
                raise InputError(f"imported playbook not found: {target}", where)
            if target.resolve() in (*_seen, resolved):
                chain = " -> ".join(p.name for p in (*_seen, resolved, target.resolve()))
                raise InputError(f"playbooks import each other in a cycle: {chain}", where)
            plays.extend(load_playbook(target, (*_seen, resolved)))
            continue
        plays.append(_load_play(entry, path, where))
    return plays


def _load_play(entry: YDict, path: Path, where: Location) -> Play:
    file = str(path)
    for key in entry:
        if key not in PLAY_KEYS:
            raise InputError(
                f"unknown key {key!r} in play; expected one of: {', '.join(PLAY_KEYS)}",
                where_of(entry, key, file),
            )
    if "hosts" not in entry:
        raise InputError("a play needs `hosts:` (a host pattern such as `docker_hosts`)", where)
    if not isinstance(entry["hosts"], str) or not entry["hosts"].strip():
        raise InputError(
            f"`hosts:` must be a host pattern such as `docker_hosts` or `web:db`, "
            f"found {type_name(entry['hosts'])}",
            where_of(entry, "hosts", file),
        )
    play_vars = entry.get("vars") or _empty_dict(file)
    if not isinstance(play_vars, dict):
        raise InputError(
            f"play `vars` must be a mapping, found {type_name(play_vars)}",
            where_of(entry, "vars", file),
        )
    become = entry.get("become")  # None: not written (ansible.cfg's `become` applies)
    if become is not None and not isinstance(become, bool):
        raise InputError("`become` must be true or false", where_of(entry, "become", file))
    raw_roles = entry.get("roles") or []
    if not isinstance(raw_roles, list):
        raise InputError("`roles` must be a list", where_of(entry, "roles", file))
    roles: list[Role] = []
    added: set[tuple[Path, str]] = set()
    for index, raw in enumerate(raw_roles):
        role_where = where_of(raw_roles, index, file)
        role = _load_role_entry(raw, path.parent, role_where)
        _add_role(role, path.parent, roles, added, ())
    tasks = entry.get("tasks") or _empty_list(file)
    handlers = entry.get("handlers") or _empty_list(file)
    for key, value in (("tasks", tasks), ("handlers", handlers)):
        if not isinstance(value, list):
            raise InputError(f"play `{key}` must be a list of tasks", where_of(entry, key, file))
    return Play(
        name=str(entry.get("name") or entry["hosts"]),
        hosts=entry["hosts"],
        become=become,
        vars=play_vars,
        roles=roles,
        tasks=tasks,
        handlers=handlers,
        secrets=_string_list(entry.get("secrets"), "secrets", where_of(entry, "secrets", file)),
        file=path,
        location=where,
        tags=_string_list(entry.get("tags"), "tags", where_of(entry, "tags", file)),
        rolling=_rolling(entry, file),
        become_keys=entry if any(k in entry for k in ("become_method", "become_user")) else None,
    )


_SERIAL_HINT = 'e.g. `serial: 2`, `serial: "25%"` or `serial: [1, 5, "50%"]`'


_COUNT = re.compile(r" *([0-9]{1,9}) *")
_PERCENT = re.compile(r" *([0-9]{1,3}(?:\.[0-9]{1,6})?) *% *")


def _percent(text: str) -> float | None:
    """`"30%"` or `"12.5%"` → 30.0, 12.5; anything else None (ASCII digits only)."""
    match = _PERCENT.fullmatch(text)
    return float(match.group(1)) if match else None


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return repr(value)[:60]
    return type_name(value)


def _serial_item(value: Any, where: Location) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InputError(f"`serial` sizes are 0 or more, found {value}", where)
        return value
    if isinstance(value, str):
        count = _COUNT.fullmatch(value)
        if count:
            return int(count.group(1))
        percent = _percent(value)
        if percent is not None:
            if not 0 < percent <= 100:
                raise InputError(
                    f"`serial` percentages are more than 0% and at most 100%, found {value!r}",
                    where,
                )
            return f"{percent:g}%"
    raise InputError(
        f"`serial` must be a host count, a percentage or a list of them, found {_shown(value)}",
        where,
        hint=_SERIAL_HINT,
    )


def _rolling(entry: YDict, file: str) -> Rolling:
    serial: tuple[int | str, ...] = ()
    if "serial" in entry:
        where = where_of(entry, "serial", file)
        raw = entry["serial"]
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise InputError("`serial` is an empty list", where, hint=_SERIAL_HINT)
        serial = tuple(_serial_item(item, where) for item in items)
    limit: float | None = None
    if "max_fail_percentage" in entry:
        where = where_of(entry, "max_fail_percentage", file)
        raw = entry["max_fail_percentage"]
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            limit = float(raw)
        elif isinstance(raw, str):
            limit = _percent(raw) if "%" in raw else _percent(raw + "%")
        if limit is None or not 0 <= limit <= 100:
            raise InputError(
                f"`max_fail_percentage` must be a number from 0 to 100, found {_shown(raw)}",
                where,
                hint="a batch stops the run when strictly more than this share of it fails",
            )
    return Rolling(serial, limit)


def _load_role_entry(
    raw: Any, playbook_dir: Path, where: Location, near: Path | None = None
) -> Role:
    """A role as listed in a play's `roles:` or a role's `dependencies:`."""
    if isinstance(raw, str):
        return load_role(raw, playbook_dir, where, near)
    if not isinstance(raw, dict) or "role" not in raw:
        raise InputError("a role entry is a name, or a mapping with `role:`", where)
    for key in raw:
        if key not in ROLE_ENTRY_KEYS:
            raise InputError(
                f"unknown key {key!r} in role entry; expected one of: {', '.join(ROLE_ENTRY_KEYS)}",
                where_of(raw, key, where.file),
                hint="variables for the role go under `vars:`",
            )
    role = load_role(role_name(raw["role"], where), playbook_dir, where, near)
    params = raw.get("vars") or {}
    if not isinstance(params, dict):
        raise InputError("role `vars` must be a mapping", where_of(raw, "vars", where.file))
    role.params = dict(params)
    role.tags = _string_list(raw.get("tags"), "tags", where)
    role.when = raw.get("when")
    return role


def _add_role(
    role: Role,
    playbook_dir: Path,
    roles: list[Role],
    added: set[tuple[Path, str]],
    chain: tuple[Role, ...],
) -> None:
    """Append `role` to the play's list, its dependencies first (depth first, in order).

    A dependency already in the play with the same vars, condition and tags is not added
    again, unless its meta says `allow_duplicates: true`. A role listed in the play itself
    always runs where it is listed. A dependency that leads back to a role on the current
    chain is a cycle.
    """
    chain = (*chain, role)
    entries: list[Any] = role.dependencies
    file = str(role.path / "meta" / "main.yml")
    for index, raw in enumerate(entries):
        where = where_of(entries, index, file)
        dependency = _load_role_entry(raw, playbook_dir, where, role.path.parent)
        real = dependency.path.resolve()
        if any(r.path.resolve() == real for r in chain):
            names = [r.name for r in chain]
            start = next(i for i, r in enumerate(chain) if r.path.resolve() == real)
            cycle = " -> ".join([*names[start:], dependency.name])
            raise InputError(f"role dependencies form a cycle: {cycle}", where)
        # the dependency runs under its parent's condition and tags, and sees its vars
        dependency.params = {**role.params, **dependency.params}
        dependency.when = _all_conditions(role.when, dependency.when)
        dependency.tags = list(dict.fromkeys([*role.tags, *dependency.tags]))
        if _identity(dependency) in added and not dependency.allow_duplicates:
            continue
        _add_role(dependency, playbook_dir, roles, added, chain)
    roles.append(role)
    added.add(_identity(role))


def _all_conditions(parent: Any, own: Any) -> Any:
    conditions: list[Any] = []
    for when in (parent, own):
        if isinstance(when, list):
            conditions += when
        elif when is not None:
            conditions.append(when)
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else conditions


def _identity(role: Role) -> tuple[Path, str]:
    """What makes two runs of a role the same: its folder, vars, condition and tags."""
    return role.path.resolve(), repr((sorted(role.params.items(), key=str), role.when, role.tags))
