"""YAML loading that remembers where every mapping, list and key came from."""

from __future__ import annotations

import contextlib
import gc
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from provision.errors import InputError, Location

MAX_INPUT_BYTES = 5 * 1024 * 1024
# Values that YAML aliases may add on top of the nodes written in the file: a few kilobytes
# of nested aliases ("billion laughs") would otherwise unfold into billions of values.
MAX_ALIAS_VALUES = 100_000
MERGE_TAG = "tag:yaml.org,2002:merge"

try:  # the C loader is several times faster on large files
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _BaseLoader = yaml.SafeLoader


class YDict(dict):
    """A mapping from a YAML file: knows its file and line, and each key's line."""

    file: str = "<input>"
    line: int | None = None
    key_lines: dict[Any, int]

    def where(self, key: Any = None) -> Location:
        line = self.key_lines.get(key, self.line) if key is not None else self.line
        return Location(self.file, line)


class UnsafeText(str):
    """A `!unsafe` string (Ansible's tag): used as written, never rendered as a template."""


class YList(list):
    """A sequence from a YAML file: knows its file and line, and each item's line."""

    file: str = "<input>"
    line: int | None = None
    item_lines: list[int]

    def where(self, index: int | None = None) -> Location:
        if index is not None and 0 <= index < len(self.item_lines):
            return Location(self.file, self.item_lines[index])
        return Location(self.file, self.line)


def _make_loader(file: str, aliases: bool = True) -> type:
    class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode) -> YDict:
        own = sum(1 for key_node, _ in node.value if key_node.tag != MERGE_TAG)
        loader.flatten_mapping(node)
        merged = len(node.value) - own  # `<<: *base` pairs come first; the file's own keys win
        result = YDict()
        result.file = file
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        own_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise InputError(
                    "a mapping key must be a plain value",
                    Location(file, key_node.start_mark.line + 1),
                )
            if index < merged:
                if key in result:
                    continue  # the first merged mapping that has the key wins, as YAML says
            elif key in own_keys:
                raise InputError(
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                    Location(file, key_node.start_mark.line + 1),
                )
            else:
                own_keys.add(key)
                result.pop(key, None)  # keep the file's order: an override sits where it is written
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(loader: Any, node: yaml.SequenceNode) -> YList:
        result = YList(loader.construct_object(child, deep=True) for child in node.value)
        result.file = file
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result

    def construct_int(loader: Any, node: yaml.ScalarNode) -> Any:
        # `mode: 0644` stays the text "0644": YAML 1.1 would read it as the number 420.
        if re.fullmatch(r"0[0-7]+", node.value):
            return node.value
        return yaml.SafeLoader.construct_yaml_int(loader, node)

    def construct_document(loader: Any, node: yaml.Node) -> Any:
        if aliases:
            check_alias_expansion(node, file)
        return _BaseLoader.construct_document(loader, node)

    def construct_vault(loader: Any, node: yaml.Node) -> str:
        where = Location(file, node.start_mark.line + 1)
        if not isinstance(node, yaml.ScalarNode):
            raise InputError("a `!vault` value must be the text ansible-vault printed", where)
        from provision.project import vault
        from provision.reporting.mask import add_vault_value

        plain = vault.decrypt(node.value, where)
        add_vault_value(plain)
        return plain

    def construct_unsafe(loader: Any, node: yaml.Node) -> UnsafeText:
        if not isinstance(node, yaml.ScalarNode):
            raise InputError(
                "`!unsafe` marks a text value", Location(file, node.start_mark.line + 1)
            )
        return UnsafeText(loader.construct_scalar(node))

    Loader.add_constructor("!unsafe", construct_unsafe)
    Loader.construct_document = construct_document
    Loader.add_constructor("!vault", construct_vault)
    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def read_bytes(path: Path, what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """At most `limit` bytes of a regular file, or an InputError that says why not.

    The size is checked on what is read, not on what `stat` says: a file that grows, a
    FIFO or a device such as /dev/zero can never make this read forever or hang."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        _check_regular(path, what, os.stat(path).st_mode)  # a clear word before opening
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}")
    except PermissionError:
        raise InputError(f"{what} cannot be read (permission denied): {path}")
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a directory, expected a file")
    except OSError as exc:
        raise InputError(f"{what} cannot be read: {path}: {exc.strerror}")
    try:
        _check_regular(path, what, os.fstat(fd).st_mode)  # what was opened, not a swap
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputError(f"{what} cannot be read: {path}: {exc.strerror}")
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(
            f"{what} {path} has more than {limit} bytes; the limit is {limit} bytes",
            Location(str(path)),
        )
    return b"".join(chunks)


def _check_regular(path: Path, what: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} {path} is a directory, expected a file")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{what} {path} is {_file_kind(mode)}, expected a regular file", Location(str(path))
        )


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text(path: Path, what: str) -> str:
    """The file's text, or an InputError that says why it cannot be read."""
    data = read_bytes(path, what)
    if b"\0" in data:
        raise InputError(f"{what} is binary, expected YAML text", Location(str(path)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not UTF-8 text", Location(str(path), line))


def check_alias_expansion(root: yaml.Node, file: str, limit: int = MAX_ALIAS_VALUES) -> None:
    """Refuse a document whose aliases unfold into more than `limit` extra values.

    Works on the composed node graph, where an alias is a second reference to a node:
    each node's unfolded size is computed once (post-order, no recursion), so a
    "billion laughs" document is refused in time linear in its length."""
    refs: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    state: dict[int, int] = {}  # 1: on the path being walked, 2: done
    while stack:
        node, children_done = stack.pop()
        if children_done:
            state[id(node)] = 2
            order.append(node)
            continue
        if state.get(id(node)) == 2:
            continue
        if state.get(id(node)) == 1:
            raise InputError(
                "a YAML alias refers to a collection that contains it (a recursive value)",
                Location(file, node.start_mark.line + 1),
            )
        state[id(node)] = 1
        stack.append((node, True))
        for child in reversed(_children(node)):
            refs[id(child)] = refs.get(id(child), 0) + 1
            if state.get(id(child)) == 1:
                raise InputError(
                    "a YAML alias refers to a collection that contains it (a recursive value)",
                    Location(file, node.start_mark.line + 1),
                )
            if state.get(id(child)) != 2:
                stack.append((child, False))
    size: dict[int, int] = {}
    for node in order:  # post-order: children before their parents
        size[id(node)] = 1 + sum(size[id(child)] for child in _children(node))
    extra = size[id(root)] - len(order)
    if extra <= limit:
        return
    line = node_line = None
    for node in order:  # the first collection that repeats a large shared value
        shared = [c for c in _children(node) if refs[id(c)] > 1]
        if shared and size[id(node)] > limit:
            node_line = node.start_mark.line + 1
            line = _alias_line(node, shared)
            break
    raise InputError(
        f"YAML aliases expand to more than {limit} values ({extra} in all); "
        "write the values out or use fewer nested aliases",
        Location(file, line or node_line or root.start_mark.line + 1),
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _alias_line(node: yaml.Node, shared: list[yaml.Node]) -> int:
    """The line of the key whose value is a shared (aliased) node, else the node's own line."""
    ids = {id(child) for child in shared}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if id(value_node) in ids or id(key_node) in ids:
                return key_node.start_mark.line + 1
    return node.start_mark.line + 1


@contextlib.contextmanager
def gc_paused() -> Any:
    """The cyclic garbage collector off for a block that builds many acyclic objects.

    Loading a large inventory allocates hundreds of thousands of dicts and strings, and
    each allocation burst triggers a full collection that walks all of them again: with
    the collector on, loading 50,000 hosts is three times slower and grows faster than
    linearly. Nothing built here is cyclic, so nothing is lost by pausing it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text; syntax errors become InputErrors with line and column."""
    with gc_paused():
        return _parse_yaml(text, file)


def _parse_yaml(text: str, file: str) -> Any:
    try:
        loader = _make_loader(file, aliases="*" in text)  # no `*`: the text has no alias
        return yaml.load(text, Loader=loader)  # noqa: S506 - safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"YAML syntax error: {problem}", location)
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", Location(file))
    except RecursionError:
        raise InputError("YAML nesting too deep", Location(file, _too_deep_line(text)))


MAX_YAML_DEPTH = 100


def _too_deep_line(text: str) -> int | None:
    """The line where nesting passes MAX_YAML_DEPTH, from the (non-recursive) event parser."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return event.start_mark.line + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def load_yaml(path: Path, what: str) -> Any:
    """Read and parse one YAML file (`what` names it in errors: "inventory", "playbook").
    A file encrypted with ansible-vault is decrypted first; all its values are secrets."""
    text = read_text(path, what)
    if not text.startswith("$ANSIBLE_VAULT;"):
        return parse_yaml(text, str(path))
    from provision.project import vault
    from provision.reporting.mask import add_vault_value

    data = parse_yaml(vault.decrypt(text, Location(str(path), 1)), str(path))
    add_vault_value(data)
    return data


def type_name(value: Any) -> str:
    """A user-facing name for a YAML value's type."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def where_of(container: Any, key: Any = None, fallback: str = "<input>") -> Location:
    """The location of `container[key]` if the container came from YAML."""
    if isinstance(container, YDict | YList):
        return container.where(key)
    return Location(fallback)
