"""Ansible's INI inventory format, read as ansible-core's `ini` plugin reads it.

    web1 ansible_host=10.0.0.5          # before any section: the host is ungrouped
    [web]
    web[01:20].example.com ansible_user=admin
    db1:2222                            # host:port sets ansible_port
    [web:vars]
    http_port=8080
    [prod:children]
    web

What Ansible does, done the same way:
- `;` or `#` at the start of a line is a comment; on a host line, `#` starts a comment
  after the words too (the line is split into words as a shell would: quotes group).
- `[name]`, `[name:hosts]`, `[name:vars]`, `[name:children]`; any other `:tag` is an error.
- A host line is a host pattern (ranges `[01:20]`, `[a:c]`, `[1:9:2]`, `:port`) followed by
  `key=value` words. A value is read as a Python literal when it is one (`1` → 1,
  `True` → true, `[1, 2]` → a list, `'x'` → x), else it stays text (`yes` stays "yes").
- A `:vars` line is `key = value` split at the first `=`; the value is NOT split into words
  (`x = a b # c` is the text "a b # c") and is then read as a literal like host values.
- `[a:children]` may name a group defined later in the file; `[a:vars]` may come before
  `[a]`. A child or a vars section for a group never defined is an error, as in Ansible.
Errors name file:line and what was expected.
"""

from __future__ import annotations

import ast
import ipaddress
import re
import shlex
import warnings
from typing import Any, Protocol

from provision.errors import InputError, Location

COMMENT_MARKERS = (";", "#")
SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
MAX_LITERAL = 64 << 10  # characters of one value read as a Python literal


class IniSink(Protocol):
    """Where the parsed inventory goes (the inventory builder)."""

    def has_group(self, name: str) -> bool: ...

    def add_group(self, name: str, where: Location) -> None: ...

    def add_child(self, parent: str, child: str, where: Location) -> None: ...

    def add_host(self, name: str, group: str, port: int | None, where: Location) -> None: ...

    def set_group_var(self, group: str, key: str, value: Any, where: Location) -> None: ...

    def set_host_var(self, host: str, key: str, value: Any, where: Location) -> None: ...

    def expand(self, pattern: str, where: Location) -> list[str]: ...


def parse_ini(text: str, file: str, sink: IniSink) -> None:
    """Read an INI inventory into `sink`; the first problem is an InputError at file:line."""
    pending: dict[str, dict[str, Any]] = {}
    group, state = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        where = Location(file, number)
        line = raw.strip()
        if not line or line[0] in COMMENT_MARKERS:
            continue
        match = SECTION.match(line)
        if match:
            group, tag = match.group(1), match.group(2) or "hosts"
            if tag not in ("hosts", "children", "vars"):
                raise InputError(
                    f"section [{group}:{tag}] has an unknown type {tag!r}",
                    where,
                    hint="expected [GROUP], [GROUP:vars] or [GROUP:children]",
                )
            state = tag
            if not sink.has_group(group):
                if state == "vars" and group not in pending:
                    pending[group] = {"line": number, "state": "vars", "parents": []}
                sink.add_group(group, where)
            if group in pending and state != "vars":
                if pending[group]["state"] == "children":
                    _resolve_children(group, pending, sink, where)
                else:
                    del pending[group]
            continue
        if line.startswith("[") and line.endswith("]"):
            raise InputError(
                f"invalid section header {line!r}",
                where,
                hint="expected [GROUP], [GROUP:vars] or [GROUP:children], with no spaces",
            )
        if state == "hosts":
            _host_line(line, group, where, sink)
        elif state == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InputError(
                    f"expected key=value in [{group}:vars], found {_shown(line)}", where
                )
            sink.set_group_var(group, key.strip(), literal(value.strip(), where), where)
        else:
            found = GROUP_NAME.match(line)
            if not found:
                raise InputError(
                    f"expected a group name in [{group}:children], found {_shown(line)}", where
                )
            child = found.group(1)
            if sink.has_group(child):
                sink.add_child(group, child, where)
            elif child in pending:
                pending[child]["parents"].append(group)
            else:
                pending[child] = {"line": number, "state": "children", "parents": [group]}
    for name, decl in pending.items():
        where = Location(file, decl["line"])
        if decl["state"] == "vars":
            raise InputError(
                f"section [{name}:vars] is for group {name!r}, which is never defined",
                where,
                hint=f"add a [{name}] section (it may be empty) or fix the name",
            )
        raise InputError(
            f"section [{decl['parents'][-1]}:children] names group {name!r},"
            " which is never defined",
            where,
            hint=f"add a [{name}] section (it may be empty) or fix the name",
        )


def _resolve_children(
    group: str, pending: dict[str, dict[str, Any]], sink: IniSink, where: Location
) -> None:
    for parent in pending[group]["parents"]:
        sink.add_child(parent, group, where)
        if parent in pending and pending[parent]["state"] == "children":
            _resolve_children(parent, pending, sink, where)
    del pending[group]


def _host_line(line: str, group: str, where: Location, sink: IniSink) -> None:
    try:
        # shlex is slow; without quotes, backslashes or comments it splits as str.split does
        plain = not any(c in line for c in "'\"\\#")
        words = line.split() if plain else shlex.split(line, comments=True)
    except ValueError as exc:
        raise InputError(f"host line cannot be split into words: {exc}", where)
    if not words:
        return
    names, port = host_pattern(words[0], where, sink)
    variables: list[tuple[str, Any]] = []
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise InputError(
                f"expected key=value after the host name, found {_shown(word)}",
                where,
                hint="a host line is: NAME [key=value ...]; quote a value that has spaces",
            )
        variables.append((key, literal(value, where)))
    for name in names:
        sink.add_host(name, group, port, where)
        for key, value in variables:
            sink.set_host_var(name, key, value, where)


def host_pattern(word: str, where: Location, sink: IniSink) -> tuple[list[str], int | None]:
    """`name`, `name:port`, `[v6addr]:port`, ranges: (expanded names, port or None)."""
    if word.strip() == "---":
        raise InputError(
            "'---' is not a host name; it is a sign that this file is YAML",
            where,
            hint="name a YAML inventory .yml or .yaml",
        )
    host, port = split_port(word)
    if port is None and word.endswith(":"):
        raise InputError(
            f"host {_shown(word)} ends in ':' without a port",
            where,
            hint="write NAME:PORT, or ansible_port=PORT",
        )
    return sink.expand(host, where), port


_BRACKETED_PORT = re.compile(r"^\[([^\[\]]*:[^\[\]]*)\]:(\d+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])+):(\d+)$")


def split_port(word: str) -> tuple[str, int | None]:
    """(host, port): `h:22`, `[::1]:22`, `web[01:03]:22`; a bare IPv6 address has no port."""
    match = _BRACKETED_PORT.match(word)
    if match and _is_ipv6(match.group(1)):
        return match.group(1), int(match.group(2))
    match = _HOST_PORT.match(word)
    if match:
        return match.group(1), int(match.group(2))
    return word, None


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.partition("%")[0])
    except ValueError:
        return False
    return True


_PLAIN_WORD = re.compile(r"(?!(?:True|False|None)\Z)[A-Za-z_][A-Za-z0-9_.-]*|\d+\.\d+\.[\d.]+")


def literal(value: str, where: Location) -> Any:
    """A value as Ansible's INI plugin reads it: a Python literal if it is one, else text."""
    if len(value) > MAX_LITERAL or _PLAIN_WORD.fullmatch(value):
        return value  # never a literal: skip the parser (an address, a name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError):
        return value
    except RecursionError:
        raise InputError(f"value {_shown(value)} is nested too deeply", where)
    return _plain(parsed)


def _plain(value: Any) -> Any:
    """Only types a variable may hold: tuples and sets become lists, bytes become text,
    `...` and complex numbers become their text (as Ansible does)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if value is Ellipsis:
        return "..."
    if isinstance(value, complex):
        return str(value)
    return value


def _shown(text: str, limit: int = 60) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"
