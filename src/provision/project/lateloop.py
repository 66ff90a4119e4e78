"""A loop whose list is known only once the host is probed: `loop: "{{ out.stdout_lines }}"`
over a registered read-only command, `loop: "{{ st.stat... }}"`, `loop: "{{ ansible_mounts }}"`.

Compile leaves one placeholder task (`CompiledTask.late_loop`) where such a loop stands.
The planner expands it per host, in its walk, once the values it reads are known (the
probe's answer and the results registered before it): each item becomes a task exactly
like an item of a loop over variables (`LateLoop.expand`, built by compile).

The items come from the host's own output, so they are not trusted:

- each text in an item is used as written, never rendered as a template (`as_written`),
  so a line printing `{{ lookup('env', 'HOME') }}` is that text, not a lookup;
- each text a task may use as a word, a path or a line (a scalar item, and every text
  of a mapping item but its output fields `stdout`/`stderr`/`stderr_lines`/`msg`/`cmd`)
  is checked
  (`check_items`): no control character nor line break of any kind, no leading `-` (a
  program would take it as an option), no `..` path component (a path built from it
  would leave its folder), at most MAX_ITEM_CHARS characters; at most MAX_ITEMS items.

A refused item fails the host at plan time, naming the task's file:line and the item.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provision.errors import InputError, Location
from provision.project.yamlfile import UnsafeText

MAX_ITEMS = 10_000
MAX_ITEM_CHARS = 4096
# Whole outputs of a result mapping: many lines by nature; they reach an argument through
# that argument's own checks (a file's content, a message), never as a word or a path.
OUTPUT_FIELDS = ("stdout", "stderr", "stderr_lines", "msg", "cmd")
# Every control character (C0 but tab, DEL, C1 with NEL) and the Unicode line and
# paragraph separators: each is a line break somewhere, or a terminal escape.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_DOTDOT = re.compile(r"(?:^|/)\.\.(?:/|$)")


LATE_ITEM = "\u2063item\u2063"  # the text of an item where none is known yet


class StandIn:
    """An item where none is known yet (the speculative build, the placeholder's own
    fields): any key or attribute of it is a stand-in too, and its text is LATE_ITEM."""

    def __getattr__(self, name: str) -> StandIn:
        if name.startswith("__"):
            raise AttributeError(name)
        return StandIn()

    def __getitem__(self, key: object) -> StandIn:
        return StandIn()

    def __call__(self, *args: object, **kwargs: object) -> StandIn:
        return StandIn()

    def __str__(self) -> str:
        return LATE_ITEM

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


class LateItemError(InputError):
    """An item from the host that this tool refuses to use."""


@dataclass
class LateLoop:
    """A loop expanded per host at plan time. `expand(facts)` gives the item tasks
    (FactsNeeded while a value it reads is not known); `names` are the registered results
    it reads, `groups` the host fact groups (probed for it)."""

    key: str  # loop, with_items, with_list, with_dict
    expression: Any  # as written
    location: Location
    names: tuple[str, ...]
    groups: frozenset[str]
    expand: Callable[[Any], list[Any]]
    speculative: Callable[[], Any] | None = None  # one item built over a stand-in value

    def describe(self) -> str:
        return f"{self.key}: {self.expression}"


def as_written(value: Any) -> Any:
    """The value with every text in it (keys too) marked as never to be rendered."""
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, dict):
        return {as_written(k): as_written(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_written(v) for v in value]
    return value


def _why_refused(text: str) -> str:
    """Why a text from the host cannot be a word, a path or a line ("" when it can)."""
    if len(text) > MAX_ITEM_CHARS:
        return f"it is {len(text)} characters long (at most {MAX_ITEM_CHARS})"
    found = _CONTROL.search(text)
    if found:
        return f"it holds the control character {found.group()!r}"
    if text.startswith("-"):
        return "it starts with `-` (a program would read it as an option)"
    if _DOTDOT.search(text):
        return "it holds a `..` path component (a path built from it would leave its folder)"
    return ""


def _texts(value: Any, path: str, top: bool) -> list[tuple[str, str]]:
    """(where, text) of each text an item holds that is checked."""
    if isinstance(value, str):
        return [(path, value)]
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if top and key in OUTPUT_FIELDS:
                continue
            found += _texts(key, path, False) if isinstance(key, str) else []
            found += _texts(inner, f"{path}.{key}", False)
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found += _texts(inner, f"{path}[{index}]", False)
    return found


def shown(text: str, limit: int = 60) -> str:
    """A text from the host as an error may quote it: escaped, cut."""
    quoted = repr(text[:limit])
    return quoted + ("..." if len(text) > limit else "")


def check_items(items: list[Any], source: str, where: Location) -> list[Any]:
    """The items, each text marked as written; LateItemError for the first refused one."""
    if len(items) > MAX_ITEMS:
        raise LateItemError(
            f"the loop over {source} has {len(items)} items on this host (at most {MAX_ITEMS})",
            where,
            hint="filter the list in the loop expression (select, reject, first)",
        )
    for index, item in enumerate(items):
        result_item = isinstance(item, dict)
        for path, text in _texts(item, f"item {index}", result_item):
            why = _why_refused(text)
            if why:
                raise LateItemError(
                    f"the loop over {source}: {path} from the host, {shown(text)}, is refused: "
                    f"{why}",
                    where,
                    hint="filter the host's lines in the loop expression (select/reject), or "
                    "read them with a command that prints only plain names",
                )
    return [as_written(item) for item in items]
