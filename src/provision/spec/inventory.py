"""Ansible's YAML inventory format, read unchanged, plus host_vars/ and group_vars/."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.spec.varsfiles import load_vars_files
from provision.spec.yamlfile import YDict, load_yaml, type_name, where_of

GROUP_KEYS = ("hosts", "vars", "children")
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]:@]+$")


@dataclass
class Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    var_origins: dict[str, Location] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    location: Location | None = None


@dataclass
class HostEntry:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    var_origins: dict[str, Location] = field(default_factory=dict)
    location: Location | None = None


@dataclass
class Inventory:
    path: Path
    groups: dict[str, Group]
    hosts: dict[str, HostEntry]

    @property
    def directory(self) -> Path:
        return self.path.parent

    def groups_of(self, host: str) -> list[str]:
        """The host's groups, `all` first, then by depth and name (Ansible's merge order)."""
        depth = self._depths()
        names = [g.name for g in self.groups.values() if host in self._members(g.name)]
        return sorted(names, key=lambda n: (depth.get(n, 0), n))

    def host_variables(self, host: str) -> tuple[dict[str, Any], dict[str, Location]]:
        """Group vars (all → child groups) then host vars, with where each came from."""
        merged: dict[str, Any] = {}
        origins: dict[str, Location] = {}
        for group_name in self.groups_of(host):
            group = self.groups[group_name]
            merged.update(group.vars)
            origins.update(group.var_origins)
        entry = self.hosts[host]
        merged.update(entry.vars)
        origins.update(entry.var_origins)
        merged.setdefault("inventory_hostname", host)
        merged["group_names"] = [g for g in self.groups_of(host) if g not in ("all", "ungrouped")]
        return merged, origins

    def match(self, pattern: str, location: Location | None = None) -> list[str]:
        """Hosts matching an Ansible host pattern: `a:b`, `a:&b`, `a:!b`, globs, `all`."""
        parts = [p.strip() for p in re.split(r"[:,]", pattern) if p.strip()]
        if not parts:
            raise InputError("empty host pattern", location)
        try:
            return self._match(parts)
        except InputError as exc:
            exc.location = exc.location or location
            raise

    def _match(self, parts: list[str]) -> list[str]:
        unions = [p for p in parts if not p.startswith(("!", "&"))]
        selected: list[str] = [] if unions else list(self.hosts)
        for part in unions:  # as Ansible: unions first, then intersections, then exclusions
            selected.extend(h for h in self._atom(part) if h not in selected)
        for part in (p for p in parts if p.startswith("&")):
            kept = set(self._atom(part[1:]))
            selected = [h for h in selected if h in kept]
        for part in (p for p in parts if p.startswith("!")):
            excluded = set(self._atom(part[1:]))
            selected = [h for h in selected if h not in excluded]
        return selected

    def _atom(self, name: str) -> list[str]:
        if name in ("all", "*"):
            return list(self.hosts)
        if name in self.groups:
            return [h for h in self.hosts if h in self._members(name)]
        if name in self.hosts:
            return [name]
        if name.startswith("~"):
            try:
                regex = re.compile(name[1:])
            except re.error as exc:
                raise InputError(f"host pattern {name!r} is not a valid regular expression: {exc}")
            return [h for h in self.hosts if regex.search(h)]
        if any(c in name for c in "*?["):
            hosts = [h for h in self.hosts if fnmatch.fnmatchcase(h, name)]
            for group in self.groups:
                if fnmatch.fnmatchcase(group, name):
                    hosts.extend(h for h in self._members(group) if h not in hosts)
            return hosts
        return []

    def _members(self, group: str) -> set[str]:
        if group == "all":
            return set(self.hosts)
        members: set[str] = set()
        stack = [group]
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            members.update(self.groups[current].hosts)
            stack.extend(self.groups[current].children)
        return members

    def _depths(self) -> dict[str, int]:
        depths = {"all": 0}
        frontier = ["all"]
        while frontier:
            nxt: list[str] = []
            for name in frontier:
                for child in self.groups[name].children:
                    if depths.get(child, -1) < depths[name] + 1:
                        depths[child] = depths[name] + 1
                        nxt.append(child)
            frontier = nxt
        return depths


def load_inventory(path: Path) -> Inventory:
    """Read an inventory file and the host_vars/ and group_vars/ beside it."""
    data = load_yaml(path, "inventory")
    file = str(path)
    if data is None:
        raise InputError(
            "inventory is empty: expected a mapping with an `all:` group", Location(file)
        )
    if not isinstance(data, dict):
        raise InputError(
            f"inventory must be a mapping of groups (like `all:`), found {type_name(data)}",
            where_of(data, fallback=file),
        )
    groups: dict[str, Group] = {"all": Group("all", location=Location(file))}
    hosts: dict[str, HostEntry] = {}
    addresses: dict[str, tuple[Any, Location | None]] = {}

    def read_group(name: str, body: Any, where: Location) -> None:
        group = groups.setdefault(name, Group(name, location=where))
        if body is None:
            return
        if not isinstance(body, dict):
            raise InputError(
                f"group {name!r} must be a mapping with hosts/vars/children,"
                f" found {type_name(body)}",
                where,
            )
        for key in body:
            if key not in GROUP_KEYS:
                raise InputError(
                    f"unknown key {key!r} in group {name!r};"
                    f" expected one of: {', '.join(GROUP_KEYS)}",
                    where_of(body, key, file),
                    hint="a host belongs under `hosts:`, a sub-group under `children:`",
                )
        group_vars = body.get("vars")
        if group_vars is not None:
            _check_vars(group_vars, f"vars of group {name!r}", where_of(body, "vars", file))
            group.vars.update(group_vars)
            group.var_origins.update({k: where_of(group_vars, k, file) for k in group_vars})
        host_map = body.get("hosts")
        if host_map is not None:
            if not isinstance(host_map, dict):
                raise InputError(
                    f"`hosts` of group {name!r} must be a mapping of host names, "
                    f"found {type_name(host_map)}",
                    where_of(body, "hosts", file),
                    hint="write `hosts: {rocky1: {ansible_host: 10.0.0.5}}` or one host per line",
                )
            for host_name, host_body in host_map.items():
                if not isinstance(host_name, str | int):
                    raise InputError(
                        f"a host name must be text, found {type_name(host_name)}",
                        where_of(host_map, host_name, file),
                    )
                read_host(str(host_name), host_body, where_of(host_map, host_name, file))
                if str(host_name) not in group.hosts:
                    group.hosts.append(str(host_name))
        children = body.get("children")
        if children is not None:
            if not isinstance(children, dict):
                raise InputError(
                    f"`children` of group {name!r} must be a mapping of group names, "
                    f"found {type_name(children)}",
                    where_of(body, "children", file),
                )
            for child_name, child_body in children.items():
                if not isinstance(child_name, str):
                    raise InputError(
                        f"a group name must be text, found {type_name(child_name)}",
                        where_of(children, child_name, file),
                    )
                child = str(child_name)
                child_where = where_of(children, child_name, file)
                _check_name(child, "group", child_where)
                if child == "all":
                    raise InputError("group `all` cannot be a child of another group", child_where)
                if child not in group.children:
                    group.children.append(child)
                read_group(child, child_body, child_where)

    def read_host(name: str, body: Any, where: Location) -> None:
        _check_name(name, "host", where)
        if name in groups:
            raise InputError(f"{name!r} is already a group name; it cannot also be a host", where)
        entry = hosts.setdefault(name, HostEntry(name, location=where))
        if body is None:
            return
        _check_vars(body, f"host {name!r}", where)
        if "ansible_host" in body:
            address = body["ansible_host"]
            if address in (None, ""):
                raise InputError(f"host {name!r} has no address (ansible_host is empty)", where)
            seen = addresses.get(name)
            if seen is not None and seen[0] != address:
                raise InputError(
                    f"host {name!r} is declared twice with different addresses: "
                    f"{seen[0]} ({seen[1]}) and {address}",
                    where,
                    hint="host names must be unique; give the second one another name",
                )
            addresses[name] = (address, where)
        entry.vars.update(body)
        entry.var_origins.update({k: where_of(body, k, file) for k in body})

    for top_name, body in data.items():
        top = str(top_name)
        where = where_of(data, top_name, file)
        _check_name(top, "group", where)
        read_group(top, body, where)
        if top != "all" and top not in groups["all"].children:
            groups["all"].children.append(top)

    for name in list(groups):
        if name != "all" and not any(name in g.children for g in groups.values()):
            groups["all"].children.append(name)
    _check_cycles(groups)
    inventory = Inventory(path=path, groups=groups, hosts=hosts)
    _load_var_dirs(inventory)
    load_vars_files(inventory)
    ungrouped = [h for h in hosts if all(h not in g.hosts for n, g in groups.items() if n != "all")]
    if ungrouped:
        groups.setdefault("ungrouped", Group("ungrouped")).hosts.extend(ungrouped)
    return inventory


def _check_name(name: str, what: str, where: Location) -> None:
    if not name or not _NAME.match(name):
        raise InputError(
            f"invalid {what} name {name!r}: use letters, digits, '-', '_' and '.'", where
        )


def _check_vars(value: Any, what: str, where: Location) -> None:
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a mapping of variables, found {type_name(value)}", where)
    for key in value:
        if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise InputError(
                f"invalid variable name {key!r} in {what}: letters, digits and '_' only",
                where_of(value, key, where.file),
            )


def _check_cycles(groups: dict[str, Group]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise InputError(
                f"groups contain each other in a cycle: {cycle}", groups[name].location
            )
        state[name] = 1
        for child in groups[name].children:
            visit(child, [*path, name])
        state[name] = 2

    for name in groups:
        visit(name, [])


def _var_files(directory: Path, name: str) -> list[Path]:
    files = []
    for suffix in ("", ".yml", ".yaml"):
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            files.append(candidate)
    folder = directory / name
    if folder.is_dir():
        files.extend(sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml")))
    return files


def _load_var_dirs(inventory: Inventory) -> None:
    for kind in ("group_vars", "host_vars"):
        directory = inventory.directory / kind
        if not directory.is_dir():
            continue
        targets = inventory.groups if kind == "group_vars" else inventory.hosts
        for name, target in targets.items():
            for file in _var_files(directory, name):
                data = load_yaml(file, f"{kind} file")
                if data is None:
                    continue
                _check_vars(data, f"{kind} file", where_of(data, fallback=str(file)))
                assert isinstance(data, YDict)
                target.vars.update(data)
                target.var_origins.update({k: data.where(k) for k in data})
