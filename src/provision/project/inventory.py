"""Ansible's YAML inventory format, read unchanged, plus host_vars/ and group_vars/."""

from __future__ import annotations

import fnmatch
import os
import re
import signal
import string
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.regexsafe import backtracking_risk as _backtracking_risk
from provision.project.varsfiles import load_vars_files
from provision.project.yamlfile import YDict, gc_paused, load_yaml, type_name, where_of

GROUP_KEYS = ("hosts", "vars", "children")
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]:@]+$")
MAX_HOST_RANGE = 100_000  # hosts one `web[001:999]` name may expand to
MAX_PATTERN_REGEX = 200  # characters of a `~regex` host pattern
REGEX_SECONDS = 2.0  # wall-clock bound on matching one `~regex` against every host


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
        return self.path.parent

    def groups_of(self, host: str) -> list[str]:
        """The host's groups, `all` first, then by depth and name (Ansible's merge order)."""
        if self._groups_cache is None:
            depth = self._depths()
            by_host: dict[str, list[str]] = {}
            for name in sorted(self.groups, key=lambda n: (depth.get(n, 0), n)):
                for member in self._members(name):
                    by_host.setdefault(member, []).append(name)
            self._groups_cache = by_host
        return list(self._groups_cache.get(host, []))

    def host_variables(self, host: str) -> tuple[dict[str, Any], dict[str, Location]]:
        """Group vars (all → child groups) then host vars, with where each came from."""
        merged: dict[str, Any] = {}
        origins: dict[str, Location] = {}
        groups = self.groups_of(host)
        for group_name in groups:
            group = self.groups[group_name]
            merged.update(group.vars)
            origins.update(group.var_origins)
        entry = self.hosts[host]
        merged.update(entry.vars)
        origins.update(entry.var_origins)
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


def load_inventory(path: Path) -> Inventory:
    """Read an inventory file and the host_vars/ and group_vars/ beside it."""
    with gc_paused():
        return _load_inventory(path)


def _load_inventory(path: Path) -> Inventory:
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
    group_hosts: dict[str, set[str]] = {}  # each group's hosts, for linear membership tests
    group_children: dict[str, set[str]] = {"all": set()}

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
            members = group_hosts.setdefault(name, set(group.hosts))
            for host_name, host_body in host_map.items():
                if not isinstance(host_name, str | int):
                    raise InputError(
                        f"a host name must be text, found {type_name(host_name)}",
                        where_of(host_map, host_name, file),
                    )
                host_where = where_of(host_map, host_name, file)
                for one in expand_host_range(str(host_name), host_where):
                    read_host(one, host_body, host_where)
                    if one not in members:
                        members.add(one)
                        group.hosts.append(one)
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
                siblings = group_children.setdefault(name, set(group.children))
                if child not in siblings:
                    siblings.add(child)
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
        top_level = group_children.setdefault("all", set(groups["all"].children))
        if top != "all" and top not in top_level:
            top_level.add(top)
            groups["all"].children.append(top)

    children_anywhere = {c for g in groups.values() for c in g.children}
    for name in list(groups):
        if name != "all" and name not in children_anywhere:
            groups["all"].children.append(name)
    _check_cycles(groups)
    inventory = Inventory(path=path, groups=groups, hosts=hosts)
    _load_var_dirs(inventory)
    load_vars_files(inventory)
    grouped = {h for n, g in groups.items() if n != "all" for h in g.hosts}
    ungrouped = [h for h in hosts if h not in grouped]
    if ungrouped:
        groups.setdefault("ungrouped", Group("ungrouped")).hosts.extend(ungrouped)
    return inventory


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
    """NAME, NAME.yml, NAME.yaml and the YAML files in folder NAME/, from one listing of
    `directory`: a name is only ever looked up among the folder's own entries, so `..`
    or a `/` in a name can never reach outside it."""
    files = []
    for suffix in ("", ".yml", ".yaml"):
        entry = listing.get(f"{name}{suffix}")
        if entry is not None and entry.is_file():
            files.append(Path(entry.path))
    folder = listing.get(name)
    if folder is not None and folder.is_dir():
        files.extend(
            sorted(p for p in Path(folder.path).iterdir() if p.suffix in (".yml", ".yaml"))
        )
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


def _load_var_dirs(inventory: Inventory) -> None:
    for kind in ("group_vars", "host_vars"):
        directory = inventory.directory / kind
        if not directory.is_dir():
            continue
        listing = _listing(directory)
        targets = inventory.groups if kind == "group_vars" else inventory.hosts
        stems = {n.rsplit(".", 1)[0] if n.endswith((".yml", ".yaml")) else n for n in listing}
        for name, target in targets.items():
            if name not in stems:
                continue
            for file in _var_files(directory, listing, name):
                _inside(file, directory)
                data = load_yaml(file, f"{kind} file")
                if data is None:
                    continue
                _check_vars(data, f"{kind} file", where_of(data, fallback=str(file)))
                assert isinstance(data, YDict)
                target.vars.update(data)
                target.var_origins.update({k: data.where(k) for k in data})
