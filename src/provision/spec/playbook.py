"""Playbooks (plays, imports) and roles (defaults, tasks, handlers, templates, meta)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.spec.yamlfile import YDict, YList, load_yaml, type_name, where_of

PLAY_KEYS = ("name", "hosts", "become", "vars", "roles", "tasks", "handlers", "secrets", "tags")
ROLE_ENTRY_KEYS = ("role", "vars", "tags", "when")


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


@dataclass
class Play:
    name: str
    hosts: str
    become: bool
    vars: YDict
    roles: list[Role]
    tasks: YList
    handlers: YList
    secrets: list[str]
    file: Path
    location: Location
    tags: list[str] = field(default_factory=list)


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


def find_role(name: str, playbook_dir: Path, where: Location) -> Path:
    candidates = [playbook_dir / "roles" / name, playbook_dir.parent / "roles" / name]
    candidates.append(Path.cwd() / "roles" / name)
    for candidate in candidates:
        if (candidate / "tasks" / "main.yml").is_file() or (candidate / "defaults").is_dir():
            return candidate
    searched = ", ".join(str(c.parent) for c in dict.fromkeys(candidates))
    raise InputError(f"role {name!r} not found (looked in {searched})", where)


def load_role(name: str, playbook_dir: Path, where: Location) -> Role:
    path = find_role(name, playbook_dir, where)
    defaults_file = path / "defaults" / "main.yml"
    defaults = load_yaml(defaults_file, "role defaults") if defaults_file.is_file() else None
    if defaults is None:
        defaults = _empty_dict(str(defaults_file))
    if not isinstance(defaults, dict):
        raise InputError(
            f"role defaults must be a mapping of variables, found {type_name(defaults)}",
            where_of(defaults, fallback=str(defaults_file)),
        )
    meta_file = path / "meta" / "main.yml"
    secrets: list[str] = []
    if meta_file.is_file():
        meta = load_yaml(meta_file, "role meta")
        if meta is not None:
            if not isinstance(meta, dict):
                raise InputError(
                    f"role meta must be a mapping, found {type_name(meta)}",
                    where_of(meta, fallback=str(meta_file)),
                )
            secrets = _string_list(meta.get("secrets"), "secrets", where_of(meta, "secrets"))
    return Role(
        name=name,
        path=path,
        defaults=defaults,  # type: ignore[arg-type]
        tasks=_load_task_list(path / "tasks" / "main.yml", "role tasks"),
        handlers=_load_task_list(path / "handlers" / "main.yml", "role handlers"),
        secrets=secrets,
        location=where,
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
    become = entry.get("become", False)
    if not isinstance(become, bool):
        raise InputError("`become` must be true or false", where_of(entry, "become", file))
    roles = []
    raw_roles = entry.get("roles") or []
    if not isinstance(raw_roles, list):
        raise InputError("`roles` must be a list", where_of(entry, "roles", file))
    for index, raw in enumerate(raw_roles):
        role_where = where_of(raw_roles, index, file)
        roles.append(_load_role_entry(raw, path.parent, role_where))
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
    )


def _load_role_entry(raw: Any, playbook_dir: Path, where: Location) -> Role:
    if isinstance(raw, str):
        return load_role(raw, playbook_dir, where)
    if not isinstance(raw, dict) or "role" not in raw:
        raise InputError("a role entry is a name, or a mapping with `role:`", where)
    for key in raw:
        if key not in ROLE_ENTRY_KEYS:
            raise InputError(
                f"unknown key {key!r} in role entry; expected one of: {', '.join(ROLE_ENTRY_KEYS)}",
                where_of(raw, key, where.file),
            )
    role = load_role(str(raw["role"]), playbook_dir, where)
    params = raw.get("vars") or {}
    if not isinstance(params, dict):
        raise InputError("role `vars` must be a mapping", where_of(raw, "vars", where.file))
    role.params = dict(params)
    role.tags = _string_list(raw.get("tags"), "tags", where)
    role.when = raw.get("when")
    return role
