"""`lint --ansible`: the Jinja in a task's values, checked against the filters, tests and
lookups this tool's template environment has (the one every run renders with), without
rendering anything: each template is parsed and its syntax tree walked.

A value is a template when it holds `{{` or `{%`; `when`, `changed_when`, `failed_when`
(and `that` of assert) are bare expressions, as in Ansible. Each problem names the file and
the line of the template's node (a block scalar's first line is the line after its key).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from provision.errors import Location
from provision.project import jinjafilters, registered  # registered: `is changed`, ...
from provision.project.templating import TEXT_ENV
from provision.project.yamlfile import YDict, YList, where_of

# Task keys whose values are bare Jinja expressions (no `{{ }}`), as Ansible reads them.
EXPRESSION_KEYS = frozenset({"when", "changed_when", "failed_when", "that"})
LOOKUP_CALLS = frozenset({"lookup", "query", "q"})
assert "changed" in registered.RESULT_TESTS  # its import adds Ansible's result tests
_BLOCK_SCALAR = re.compile(r":\s*[|>][-+0-9]*\s*(#.*)?$")


@functools.lru_cache(maxsize=64)
def _file_lines(file: str) -> tuple[str, ...]:
    try:
        return tuple(Path(file).read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()


def _first_line(where: Location) -> int:
    """The line a value's text starts on: its key's line, or the next for `|` and `>`."""
    line = where.line or 1
    lines = _file_lines(where.file)
    if 0 < line <= len(lines) and _BLOCK_SCALAR.search(lines[line - 1]):
        return line + 1
    return line


def _closest(name: str, known: Any) -> str:
    short = name.removeprefix("ansible.builtin.").removeprefix("ansible.legacy.")
    if short != name and short in known:
        return f"write `{short}` (the short name)"
    close = difflib.get_close_matches(short, list(known), n=1)
    return f"did you mean `{close[0]}`?" if close else ""


def problems_in(
    source: str, where: Location, expression: bool, whole_file: bool = False
) -> list[tuple[str, str]]:
    """(problem with file:line, what to write instead) for one templated value (or, with
    `whole_file`, a template file's text: its lines are the file's own)."""
    text = "{{ (" + source + ") }}" if expression else source
    first = 1 if whole_file else _first_line(where)
    try:
        tree = TEXT_ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        at = Location(where.file, first + (exc.lineno or 1) - 1)
        return [(f"{at}: template syntax error: {exc.message}", "")]
    found: list[tuple[str, str]] = []

    def at(node: nodes.Node) -> Location:
        return Location(where.file, first + (getattr(node, "lineno", 1) or 1) - 1)

    for node in tree.find_all((nodes.Filter, nodes.Test, nodes.Call)):
        if isinstance(node, nodes.Filter) and node.name not in TEXT_ENV.filters:
            hint = _closest(node.name, TEXT_ENV.filters)
            found.append((f"{at(node)}: Jinja filter `{node.name}` is not supported", hint))
        elif isinstance(node, nodes.Test) and node.name not in TEXT_ENV.tests:
            hint = _closest(node.name, TEXT_ENV.tests)
            found.append((f"{at(node)}: Jinja test `{node.name}` is not supported", hint))
        elif (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Name)
            and node.node.name in LOOKUP_CALLS
            and node.args
            and isinstance(node.args[0], nodes.Const)
        ):
            name = str(node.args[0].value)
            short = name.removeprefix("ansible.builtin.")
            refused = jinjafilters.REFUSED_LOOKUPS.get(name) or jinjafilters.REFUSED_LOOKUPS.get(
                short
            )
            if refused:
                found.append(
                    (
                        f"{at(node)}: lookup `{name}` is refused: {refused}",
                        jinjafilters.REFUSED_HINT,
                    )
                )
            elif short not in jinjafilters.LOOKUPS:
                supported = ", ".join(jinjafilters.LOOKUPS)
                found.append(
                    (f"{at(node)}: lookup `{name}` is not supported", f"lookups: {supported}")
                )
    return found


def _values(value: Any, where: Location, key: Any) -> Iterator[tuple[str, Location, bool]]:
    """(text, location, is a bare expression) for every string inside a task value."""
    if isinstance(value, str):
        if key in EXPRESSION_KEYS:
            yield value, where, True
        elif "{{" in value or "{%" in value:
            yield value, where, False
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _values(v, where_of(value, k, where.file), k)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            at = where_of(value, index, where.file) if isinstance(value, YList) else where
            # a list under `when:` (or `that:`) is a list of expressions
            yield from _values(item, at, key)


def task_problems(task: dict[str, Any], where: Location, skip: tuple[str, ...] = ()) -> list:
    """Every unknown filter, test or lookup (and template syntax error) in a task's values;
    the keys in `skip` (a block's own tasks) are left to their own findings."""
    found: list[tuple[str, str]] = []
    for key, value in task.items():
        if key in skip:
            continue
        at = where_of(task, key, where.file) if isinstance(task, YDict) else where
        for text, location, expression in _values(value, at, key):
            found += problems_in(text, location, expression)
    return found
