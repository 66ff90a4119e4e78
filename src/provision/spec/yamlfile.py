"""YAML loading that remembers where every mapping, list and key came from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from provision.errors import InputError, Location

MAX_INPUT_BYTES = 5 * 1024 * 1024

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


class YList(list):
    """A sequence from a YAML file: knows its file and line, and each item's line."""

    file: str = "<input>"
    line: int | None = None
    item_lines: list[int]

    def where(self, index: int | None = None) -> Location:
        if index is not None and 0 <= index < len(self.item_lines):
            return Location(self.file, self.item_lines[index])
        return Location(self.file, self.line)


def _make_loader(file: str) -> type:
    class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode) -> YDict:
        loader.flatten_mapping(node)
        result = YDict()
        result.file = file
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise InputError(
                    "a mapping key must be a plain value",
                    Location(file, key_node.start_mark.line + 1),
                )
            if key in result:
                raise InputError(
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                    Location(file, key_node.start_mark.line + 1),
                )
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

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def read_text(path: Path, what: str) -> str:
    """The file's text, or an InputError that says why it cannot be read."""
    try:
        if path.is_dir():
            raise InputError(f"{what} {path} is a directory, expected a file")
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(
                f"{what} {path} is {size} bytes; the limit is {MAX_INPUT_BYTES} bytes",
                Location(str(path)),
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}")
    except PermissionError:
        raise InputError(f"{what} cannot be read (permission denied): {path}")
    except OSError as exc:
        raise InputError(f"{what} cannot be read: {path}: {exc.strerror}")
    if b"\0" in data:
        raise InputError(f"{what} is binary, expected YAML text", Location(str(path)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not UTF-8 text", Location(str(path), line))


def parse_yaml(text: str, file: str) -> Any:
    """Parse YAML text; syntax errors become InputErrors with line and column."""
    try:
        return yaml.load(text, Loader=_make_loader(file))  # noqa: S506 - safe loader subclass
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
    """Read and parse one YAML file (`what` names it in errors: "inventory", "playbook")."""
    return parse_yaml(read_text(path, what), str(path))


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
