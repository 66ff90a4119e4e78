"""Ansible's inventories, read unchanged: YAML and INI files, folders of them, several
sources merged as Ansible merges several `-i`, plus the host_vars/ and group_vars/ beside
each source.

Variables merge in Ansible's order (its default VARIABLE_PRECEDENCE): the `all` group's own
variables, then the host's other groups' own variables (by depth, then name), then
group_vars/all files, then the other groups' group_vars files (source by source: a later
`-i` wins), then the host's own variables, then its host_vars files."""

from __future__ import annotations

import fnmatch
import os
import re
import signal
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.inventory_ini import parse_ini, split_port
from provision.project.regexsafe import backtracking_risk as _backtracking_risk
from provision.project.varsfiles import load_vars_files
from provision.project.yamlfile import (
    YDict,
    gc_paused,
    load_yaml,
    parse_yaml,
    read_text,
    type_name,
    where_of,
)

GROUP_KEYS = ("hosts", "vars", "children")
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]:@]+$")
MAX_HOST_RANGE = 100_000  # hosts one `web[001:999]` name may expand to
MAX_PATTERN_REGEX = 200  # characters of a `~regex` host pattern
REGEX_SECONDS = 2.0  # wall-clock bound on matching one `~regex` against every host


@dataclass
class Group:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    var_origins: dict[str, Location] = field(default_factory=dict)  # with its vars files
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    location: Location | None = None
    own: dict[str, Any] = field(default_factory=dict)  # set in the inventory itself
    own_origins: dict[str, Location] = field(default_factory=dict)
    priority: int = 1  # ansible_group_priority: orders groups of one depth (not a variable)


@dataclass
class HostEntry:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)  # its own, then its host_vars files
    var_origins: dict[str, Location] = field(default_factory=dict)
    location: Location | None = None
    own: dict[str, Any] = field(default_factory=dict)  # set in the inventory itself
    own_origins: dict[str, Location] = field(default_factory=dict)


@dataclass
class VarLayer:
    """The group_vars/ and host_vars/ files beside one inventory source: per name,
    (variables, where each came from)."""

    base: Path
    groups: dict[str, tuple[dict[str, Any], dict[str, Location]]] = field(default_factory=dict)
    hosts: dict[str, tuple[dict[str, Any], dict[str, Location]]] = field(default_factory=dict)


@dataclass
class Inventory:
    path: Path
    groups: dict[str, Group]
    hosts: dict[str, HostEntry]
    sources: list[Path] = field(default_factory=list)
    layers: list[VarLayer] = field(default_factory=list)
    settings: Any = None  # the controller's settings (ansiblecfg.ControllerSettings) or None
    # Filled on first use, after loading: each group's members and each host's groups,
    # so matching and merging stay linear in the inventory's size.
    _member_cache: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _groups_cache: dict[str, list[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _order_cache: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def directory(self) -> Path:
        """The first source's folder (the folder itself when the source is one)."""
        return self.path if self.path.is_dir() else self.path.parent

    def all_variables(self) -> tuple[dict[str, Any], dict[str, Location]]:
        """The `all` group's variables: its own, then its group_vars files."""
        merged = dict(self.groups["all"].own)
        origins = dict(self.groups["all"].own_origins)
        for layer in self.layers:
            values, where = layer.groups.get("all", ({}, {}))
            merged.update(values)
            origins.update(where)
        return merged, origins

    def groups_of(self, host: str) -> list[str]:
        """The host's groups, `all` first, then by depth, ansible_group_priority and name
        (Ansible's merge order)."""
        if self._groups_cache is None:
            depth = self._depths()
            by_host: dict[str, list[str]] = {}
            groups = self.groups
            for name in sorted(groups, key=lambda n: (depth.get(n, 0), groups[n].priority, n)):
                for member in self._members(name):
                    by_host.setdefault(member, []).append(name)
            self._groups_cache = by_host
        return list(self._groups_cache.get(host, []))

    def host_variables(self, host: str) -> tuple[dict[str, Any], dict[str, Location]]:
        """The host's variables in Ansible's order (see the module's docstring), with where
        each came from."""
        merged: dict[str, Any] = {}
        origins: dict[str, Location] = {}

        def add(values: dict[str, Any], where: dict[str, Location]) -> None:
            merged.update(values)
            origins.update(where)

        groups = self.groups_of(host)
        others = [g for g in groups if g != "all"]
        add(self.groups["all"].own, self.groups["all"].own_origins)
        for name in others:
            add(self.groups[name].own, self.groups[name].own_origins)
        for layer in self.layers:
            add(*layer.groups.get("all", ({}, {})))
        for layer in self.layers:
            for name in others:
                add(*layer.groups.get(name, ({}, {})))
        entry = self.hosts[host]
        add(entry.own, entry.own_origins)
        for layer in self.layers:
            add(*layer.hosts.get(host, ({}, {})))
        merged.setdefault("inventory_hostname", host)
        merged["group_names"] = [g for g in groups if g not in ("all", "ungrouped")]
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
        selected: dict[str, None] = {} if unions else dict.fromkeys(self.hosts)
        for part in unions:  # as Ansible: unions first, then intersections, then exclusions
            selected.update(dict.fromkeys(self._atom(part)))
        for part in (p for p in parts if p.startswith("&")):
            kept = set(self._atom(part[1:]))
            selected = {h: None for h in selected if h in kept}
        for part in (p for p in parts if p.startswith("!")):
            excluded = set(self._atom(part[1:]))
            selected = {h: None for h in selected if h not in excluded}
        return list(selected)

    def _atom(self, name: str) -> list[str]:
        if name in ("all", "*"):
            return list(self.hosts)
        if name in self.groups:
            members = self._members(name)
            return [h for h in self.hosts if h in members]
        if name in self.hosts:
            return [name]
        if name.startswith("~"):
            return _regex_match(name, self.hosts)
        if any(c in name for c in "*?["):
            hosts = dict.fromkeys(h for h in self.hosts if fnmatch.fnmatchcase(h, name))
            for group in self.groups:
                if fnmatch.fnmatchcase(group, name):
                    hosts.update(dict.fromkeys(sorted(self._members(group), key=self._order)))
            return list(hosts)
        return []

    def _order(self, host: str) -> int:
        if self._order_cache is None:
            self._order_cache = {h: i for i, h in enumerate(self.hosts)}
        return self._order_cache.get(host, 0)

    def _members(self, group: str) -> set[str]:
        if group == "all":
            return set(self.hosts)
        cached = self._member_cache.get(group)
        if cached is not None:
            return cached
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
        self._member_cache[group] = members
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


def _regex_match(name: str, hosts: dict[str, HostEntry]) -> list[str]:
    """Hosts matching a `~regex` pattern, with the pattern's size and shape bounded."""
    regex = compile_host_regex(name)
    with _time_bound(REGEX_SECONDS, f"host pattern {name!r} takes too long to match"):
        return [h for h in hosts if regex.search(h)]


def compile_host_regex(name: str) -> re.Pattern[str]:
    """Compile a `~regex` host pattern; refuse those that could backtrack for ever.

    Python's `re` has no time limit, so the shapes known to backtrack exponentially are
    refused before matching: a repetition inside a repetition (`(a+)+`), an alternation
    under a repetition (`(a|ab)*`) and back-references; the length is capped too."""
    source = name[1:]
    if len(source) > MAX_PATTERN_REGEX:
        raise InputError(
            f"host pattern regular expression is {len(source)} characters long;"
            f" the limit is {MAX_PATTERN_REGEX}"
        )
    try:
        regex = re.compile(source)
    except re.error as exc:
        raise InputError(f"host pattern {name!r} is not a valid regular expression: {exc}")
    except (RecursionError, OverflowError):
        raise InputError(f"host pattern {name!r} is too complex")
    problem = _backtracking_risk(source)
    if problem:
        raise InputError(
            f"host pattern {name!r} could take exponential time to match: {problem}",
            hint="use a character class ([ab]+) or a plain list of names (a:b) instead",
        )
    return regex


class _time_bound:  # noqa: N801 - used as a context manager
    """Interrupt the block after `seconds` with an InputError (main thread only; elsewhere
    the static checks of compile_host_regex are the bound). `re` checks for signals while
    it backtracks, so a SIGALRM handler can stop it."""

    def __init__(self, seconds: float, message: str) -> None:
        self.seconds = seconds
        self.message = message
        self.armed = False
        self.previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"
        ):
            return
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return  # someone else's timer is running: leave it alone
        self.previous = signal.signal(signal.SIGALRM, self._expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        self.armed = True

    def _expired(self, signum: int, frame: Any) -> None:
        raise InputError(self.message)

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def load_inventory(source: Path | str | Sequence[Path | str] | Sources) -> Inventory:
    """Read one or more inventory sources (files, directories of them, `a,b,` host lists),
    merged as Ansible merges several `-i`, with the group_vars/ and host_vars/ beside each."""
    with gc_paused():
        return _load(_as_sources(source))


@dataclass(frozen=True)
class Sources:
    """The inventory sources of a run, in order, and the controller settings (ansible.cfg,
    ssh_config) that go with them. Shown as the sources, comma-separated."""

    paths: tuple[Path, ...]
    settings: Any = None

    def __str__(self) -> str:
        return ", ".join(str(p) for p in self.paths)


def _as_sources(source: Path | str | Sequence[Path | str] | Sources) -> Sources:
    if isinstance(source, Sources):
        return source
    if isinstance(source, str | Path):
        return Sources((Path(source),))
    return Sources(tuple(Path(p) for p in source))


def _load(sources: Sources) -> Inventory:
    if not sources.paths:
        raise InputError(
            "no inventory given", hint="give an inventory file or folder (or -i SOURCE)"
        )
    builder = _Builder()
    _yaml_cache.clear()  # shared within one load only: no value is shared between two loads
    try:
        for source in sources.paths:
            builder.read_source(source)
        return builder.finish(sources)
    finally:
        _yaml_cache.clear()


IGNORED_NAMES = re.compile(
    r"^\.|^host_vars$|^group_vars$|^vars_plugins$|"
    + "|".join(
        re.escape(ext) + "$"
        for ext in (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst")
        + (".orig", ".cfg", ".retry")
    )
)
YAML_SUFFIXES = (".yml", ".yaml", ".json")
MAX_SOURCE_FILES = 10_000


class _Builder:
    """Groups and hosts as the sources are read (the IniSink of inventory_ini)."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {
            "all": Group("all"),
            "ungrouped": Group("ungrouped"),
        }
        self.hosts: dict[str, HostEntry] = {}
        self.group_hosts: dict[str, set[str]] = {}
        self.group_children: dict[str, set[str]] = {}
        self.parents: dict[str, set[str]] = {}
        self.addresses: dict[str, tuple[Any, Location | None]] = {}
        self.files = 0

    # ---- sources ----

    def read_source(self, source: Path) -> None:
        text = str(source)
        if not os.path.lexists(source) and "," in text:
            self.read_host_list(text)
            return
        if source.is_dir():
            self.read_directory(source)
            return
        if not source.exists():
            raise InputError(f"inventory not found: {source}")
        self.read_file(source)

    def read_directory(self, directory: Path) -> None:
        """Every file of the folder, by name, as Ansible reads an inventory folder: sub-folders
        too; hidden files, group_vars/, host_vars/ and backup/doc files skipped."""
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise InputError(f"cannot list inventory folder {directory}: {exc.strerror}")
        for name in names:
            if IGNORED_NAMES.search(name):
                continue
            path = directory / name
            if path.is_dir():
                self.read_directory(path)
            elif path.is_file():
                self.read_file(path)

    def read_file(self, path: Path) -> None:
        self.files += 1
        if self.files > MAX_SOURCE_FILES:
            raise InputError(f"more than {MAX_SOURCE_FILES} inventory files", Location(str(path)))
        self.addresses = {}  # two addresses for one name are refused within one file only
        suffix = path.suffix.lower()
        if suffix == ".toml":
            raise InputError(
                "TOML inventories are not supported", Location(str(path)), hint=FORMATS_HINT
            )
        text = read_text(path, "inventory")
        if text.startswith("#!") and os.access(path, os.X_OK):
            raise InputError(
                "inventory scripts are not run by provision",
                Location(str(path)),
                hint=FORMATS_HINT,
            )
        if suffix in YAML_SUFFIXES:
            self.read_yaml(parse_yaml(text, str(path)), str(path))
            return
        if suffix == "":
            try:
                data = parse_yaml(text, str(path))
            except InputError as exc:
                yaml_error: InputError | None = exc
                data = None
            else:
                yaml_error = None
            if isinstance(data, dict):
                self.read_yaml(data, str(path))
                return
            try:
                parse_ini(text, str(path), self)
            except InputError as exc:
                if yaml_error is not None:
                    exc.hint = (exc.hint + "\n  " if exc.hint else "") + (
                        f"read as YAML instead, it fails too: {yaml_error.message}"
                    )
                raise
            return
        parse_ini(text, str(path), self)

    def read_host_list(self, text: str) -> None:
        where = Location("-i " + text)
        for word in text.split(","):
            word = word.strip()
            if not word:
                continue
            host, port = split_port(word)
            self.add_host(host, "ungrouped", port, where)

    # ---- the IniSink ----

    def has_group(self, name: str) -> bool:
        return name in self.groups

    def add_group(self, name: str, where: Location) -> None:
        _check_name(name, "group", where)
        if name in self.hosts:
            raise InputError(f"{name!r} is already a host name; it cannot also be a group", where)
        if name not in self.groups:
            self.groups[name] = Group(name, location=where)
        elif self.groups[name].location is None:
            self.groups[name].location = where

    def add_child(self, parent: str, child: str, where: Location) -> None:
        self.add_group(parent, where)
        self.add_group(child, where)
        if child == "all":
            raise InputError("group `all` cannot be a child of another group", where)
        siblings = self.group_children.get(parent)
        if siblings is None:
            siblings = self.group_children[parent] = set(self.groups[parent].children)
        if child not in siblings:
            siblings.add(child)
            self.groups[parent].children.append(child)
            self.parents.setdefault(child, set()).add(parent)

    def add_host(self, name: str, group: str, port: int | None, where: Location) -> None:
        _check_name(name, "host", where)
        if name in self.groups:
            raise InputError(f"{name!r} is already a group name; it cannot also be a host", where)
        self.hosts.setdefault(name, HostEntry(name, location=where))
        self.add_group(group, where)
        members = self.group_hosts.get(group)
        if members is None:
            members = self.group_hosts[group] = set(self.groups[group].hosts)
        if name not in members:
            members.add(name)
            self.groups[group].hosts.append(name)
        if port is not None:
            self.set_host_var(name, "ansible_port", port, where)

    def set_group_var(self, group: str, key: str, value: Any, where: Location) -> None:
        _check_var_name(key, f"group {group!r}", where)
        target = self.groups[group]
        if key == "ansible_group_priority":  # as Ansible: the group's order, not a variable
            if isinstance(value, bool) or not re.fullmatch(r"-?\d{1,9}", str(value).strip()):
                raise InputError(
                    f"ansible_group_priority of group {group!r} must be a whole number,"
                    f" found {value!r}",
                    where,
                )
            target.priority = int(str(value).strip())
            return
        target.vars[key] = target.own[key] = value
        target.var_origins[key] = target.own_origins[key] = where

    def set_host_var(self, host: str, key: str, value: Any, where: Location) -> None:
        _check_var_name(key, f"host {host!r}", where)
        if key == "ansible_host":
            self._check_address(host, value, where)
        entry = self.hosts[host]
        entry.vars[key] = entry.own[key] = value
        entry.var_origins[key] = entry.own_origins[key] = where

    def expand(self, pattern: str, where: Location) -> list[str]:
        return expand_host_range(pattern, where)

    def _check_address(self, name: str, address: Any, where: Location) -> None:
        if address in (None, ""):
            raise InputError(f"host {name!r} has no address (ansible_host is empty)", where)
        seen = self.addresses.get(name)
        if seen is not None and seen[0] != address:
            raise InputError(
                f"host {name!r} is declared twice with different addresses: "
                f"{seen[0]} ({seen[1]}) and {address}",
                where,
                hint="host names must be unique; give the second one another name",
            )
        self.addresses[name] = (address, where)

    # ---- YAML ----

    def read_yaml(self, data: Any, file: str) -> None:
        if data is None:
            raise InputError(
                "inventory is empty: expected a mapping with an `all:` group", Location(file)
            )
        if not isinstance(data, dict):
            raise InputError(
                f"inventory must be a mapping of groups (like `all:`), found {type_name(data)}",
                where_of(data, fallback=file),
            )
        if "plugin" in data:
            raise InputError(
                f"inventory plugin configurations (plugin: {data['plugin']}) are not supported",
                where_of(data, "plugin", file),
                hint=FORMATS_HINT,
            )
        for top_name, body in data.items():
            where = where_of(data, top_name, file)
            self._yaml_group(str(top_name), body, where, file)

    def _yaml_group(self, name: str, body: Any, where: Location, file: str) -> None:
        self.add_group(name, where)
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
            for key, value in group_vars.items():
                self.set_group_var(name, key, value, where_of(group_vars, key, file))
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
                host_where = where_of(host_map, host_name, file)
                pattern, port = split_port(str(host_name))
                if host_body is not None:
                    _check_vars(host_body, f"host {str(host_name)!r}", host_where)
                for one in expand_host_range(pattern, host_where):
                    self.add_host(one, name, port, host_where)
                    for key, value in (host_body or {}).items():
                        self.set_host_var(one, key, value, where_of(host_body, key, file))
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
                child_where = where_of(children, child_name, file)
                _check_name(child_name, "group", child_where)
                self.add_child(name, child_name, child_where)
                self._yaml_group(child_name, child_body, child_where, file)

    # ---- the end ----

    def finish(self, sources: Sources) -> Inventory:
        groups = self.groups
        for name in groups:  # as Ansible: a group without a parent is a child of `all`
            if name != "all" and not self.parents.get(name):
                self.add_child("all", name, groups[name].location or Location("all"))
        _check_cycles(groups)
        ungrouped = groups["ungrouped"]
        in_groups = {h for n, g in groups.items() if n not in ("all", "ungrouped") for h in g.hosts}
        ungrouped.hosts = [h for h in ungrouped.hosts if h not in in_groups]
        ungrouped.hosts += [
            h for h in self.hosts if h not in in_groups and h not in set(ungrouped.hosts)
        ]
        first = sources.paths[0]
        inventory = Inventory(path=first, groups=groups, hosts=self.hosts)
        inventory.sources = list(sources.paths)
        inventory.settings = sources.settings
        for source in sources.paths:
            if not os.path.lexists(source) and "," in str(source):
                continue  # a host list has no folder
            inventory.layers.append(_load_var_dirs(inventory, source))
        _load_listed_vars_files(inventory)
        return inventory


FORMATS_HINT = (
    "provision reads YAML and INI inventory files, folders of them, and `-i host1,host2,`"
)


def _check_var_name(key: Any, what: str, where: Location) -> None:
    if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        raise InputError(
            f"invalid variable name {key!r} in {what}: letters, digits and '_' only", where
        )


def _check_name(name: str, what: str, where: Location) -> None:
    if not name or not _NAME.match(name):
        raise InputError(
            f"invalid {what} name {name!r}: use letters, digits, '-', '_' and '.'", where
        )
    if name in (".", ".."):  # would name the folder itself or its parent in *_vars/
        raise InputError(f"invalid {what} name {name!r}: a name cannot be '.' or '..'", where)


def expand_host_range(name: str, where: Location) -> list[str]:
    """`web[01:03]` → web01, web02, web03, as Ansible expands host names.

    `[begin:end]` or `[begin:end:step]`, numbers or single letters; a begin with a
    leading zero keeps its width (both ends must have it); several ranges multiply.
    Anything else inside brackets, a reversed range or too many hosts is an input error."""
    if "[" not in name and "]" not in name:
        return [name]
    pieces: list[str | list[str]] = []
    rest = name
    while "[" in rest or "]" in rest:
        head, sep, tail = rest.partition("[")
        if not sep or "]" in head:
            raise InputError(f"host name {name!r} has an unmatched bracket", where)
        inner, sep, rest = tail.partition("]")
        if not sep or "[" in inner:
            raise InputError(f"host name {name!r} has an unmatched bracket", where)
        pieces += [head, _range_values(name, inner, where)]
    pieces.append(rest)
    total = 1
    for piece in pieces:
        if isinstance(piece, list):
            total *= len(piece)
    if total > MAX_HOST_RANGE:
        raise InputError(
            f"host range {name!r} expands to {total} hosts; the limit is {MAX_HOST_RANGE}", where
        )
    names = [""]
    for piece in pieces:
        values = piece if isinstance(piece, list) else [piece]
        names = [prefix + value for prefix in names for value in values]
    return names


def _range_values(name: str, inner: str, where: Location) -> list[str]:
    bounds = inner.split(":")
    if len(bounds) not in (2, 3):
        raise InputError(
            f"host range [{inner}] in {name!r} must be [begin:end] or [begin:end:step]", where
        )
    begin, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not step_text.isascii() or not step_text.isdigit() or int(step_text) < 1:
        raise InputError(f"host range [{inner}] in {name!r}: the step must be 1 or more", where)
    step = int(step_text)
    if not end:
        raise InputError(f"host range [{inner}] in {name!r} has no end", where)
    letters = string.ascii_letters
    if len(begin) == 1 and len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise InputError(f"host range [{inner}] in {name!r} runs backwards", where)
        return list(letters[first : last + 1 : step])
    if not (begin.isascii() and begin.isdigit() and end.isascii() and end.isdigit()):
        raise InputError(
            f"host range [{inner}] in {name!r}: begin and end must be numbers or single letters",
            where,
        )
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise InputError(
            f"host range [{inner}] in {name!r}: a zero-padded begin needs an end of the same width",
            where,
        )
    if len(end) > 9:
        raise InputError(f"host range [{inner}] in {name!r} is too large", where)
    first, last = int(begin), int(end)
    if first > last:
        raise InputError(f"host range [{inner}] in {name!r} runs backwards", where)
    if (last - first) // step + 1 > MAX_HOST_RANGE:
        raise InputError(
            f"host range [{inner}] in {name!r} has more than {MAX_HOST_RANGE} values", where
        )
    return [str(n).zfill(width) for n in range(first, last + 1, step)]


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


def _var_files(directory: Path, listing: dict[str, os.DirEntry], name: str) -> list[Path]:
    """As Ansible finds them: the first of folder-or-file NAME, NAME.yml, NAME.yaml, NAME.json
    (a folder: its files, sub-folders too, by name; hidden and `~` files skipped), from one
    listing of `directory`: a name is only ever looked up among the folder's own entries,
    so `..` or a `/` in a name can never reach outside it."""
    for suffix in ("", ".yml", ".yaml", ".json"):
        entry = listing.get(f"{name}{suffix}")
        if entry is None:
            continue
        if entry.is_dir():
            return _folder_files(Path(entry.path))
        return [Path(entry.path)]
    return []


def _folder_files(folder: Path) -> list[Path]:
    files: list[Path] = []
    for child in sorted(os.listdir(folder)):
        if child.startswith(".") or child.endswith("~"):
            continue
        path = folder / child
        if path.is_dir():
            files += _folder_files(path)
        elif path.suffix in ("", ".yml", ".yaml", ".json"):
            files.append(path)
    return files


def _inside(file: Path, directory: Path) -> None:
    """Refuse a vars file that resolves (through symlinks) to outside its folder."""
    try:
        resolved, root = file.resolve(), directory.resolve()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot resolve {file}: {exc}", Location(str(file)))
    if not resolved.is_relative_to(root):
        raise InputError(
            f"{file} leads outside {directory} (to {resolved})",
            Location(str(file)),
            hint="group_vars/ and host_vars/ files must stay inside their folder",
        )


def _listing(directory: Path) -> dict[str, os.DirEntry]:
    try:
        with os.scandir(directory) as entries:
            return {entry.name: entry for entry in entries}
    except OSError as exc:
        raise InputError(f"cannot list {directory}: {exc.strerror}", Location(str(directory)))


def _load_var_dirs(inventory: Inventory, source: Path) -> VarLayer:
    """The group_vars/ and host_vars/ files beside one source (in it, for a folder)."""
    base = source if source.is_dir() else source.parent
    layer = VarLayer(base)
    for kind in ("group_vars", "host_vars"):
        directory = base / kind
        if not directory.is_dir():
            continue
        listing = _listing(directory)
        names = inventory.groups if kind == "group_vars" else inventory.hosts
        into = layer.groups if kind == "group_vars" else layer.hosts
        stems = {n.rsplit(".", 1)[0] if n.endswith(YAML_SUFFIXES) else n for n in listing}
        for name in names:
            if name not in stems:
                continue
            for file in _var_files(directory, listing, name):
                _inside(file, directory)
                data = _cached_yaml(file, f"{kind} file")
                if data is None:
                    continue
                _check_vars(data, f"{kind} file", where_of(data, fallback=str(file)))
                assert isinstance(data, YDict)
                values, origins = into.setdefault(name, ({}, {}))
                where = {k: data.where(k) for k in data}
                values.update(data)
                origins.update(where)
                names[name].vars.update(data)  # type: ignore[attr-defined]
                names[name].var_origins.update(where)  # type: ignore[attr-defined]
    return layer


_yaml_cache: dict[tuple[str, int, int, int], Any] = {}


def _cached_yaml(file: Path, what: str) -> Any:
    """A vars file read once per load (two sources in one folder share its files)."""
    info = file.stat()
    key = (str(file.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _yaml_cache:
        _yaml_cache[key] = load_yaml(file, what)
    return _yaml_cache[key]


class _AllView:
    """What varsfiles.load_vars_files reads and writes: the `all` group's variables so far,
    and a path whose folder is the first source's folder."""

    def __init__(self, inventory: Inventory) -> None:
        values, origins = inventory.all_variables()
        self.groups = {"all": Group("all", vars=values, var_origins=origins)}
        self.path = inventory.directory / "inventory"


def _load_listed_vars_files(inventory: Inventory) -> None:
    """`provision_vars_files` (see varsfiles): merged as if it were group_vars/all.yml."""
    view = _AllView(inventory)
    before = dict(view.groups["all"].vars)
    load_vars_files(view)
    after = view.groups["all"]
    changed = {k: v for k, v in after.vars.items() if k not in before or before[k] is not v}
    if changed:
        layer = VarLayer(inventory.directory)
        layer.groups["all"] = (changed, {k: after.var_origins[k] for k in changed})
        inventory.layers.append(layer)
        inventory.groups["all"].vars.update(changed)
        inventory.groups["all"].var_origins.update(layer.groups["all"][1])
