"""Host facts among a host's variables, and which fact groups a template names.

`HostVars` are a host's variables plus the fact names (`facts`, `ansible_facts`,
`ansible_distribution`, ...), below every variable of the user's (a variable of the same
name wins). At compile time no facts are known: reading one raises FactsNeeded, which
tells compile that the `when:` or the task depends on the host. At plan time the planner
gives the probed groups (`with_facts`) and the same expression is decided.

`fact_groups` reads templates without running them (the Jinja AST, following the user's
variables they name), so that the probe reads every group a deferred task needs in one go.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import nodes

from provision.errors import Location
from provision.facts.hostvars import (
    ROOT_NAMES,
    GroupValues,
    group_of_key,
    groups_of_root,
    root_value,
)
from provision.project.templating import TEXT_ENV, Variables


class HostVars(Variables):
    """A host's variables, with the host facts below them (`facts=None`: not probed)."""

    def __init__(
        self,
        raw: Mapping[str, Any],
        origins: Mapping[str, Location] | None = None,
        facts: GroupValues | None = None,
    ) -> None:
        super().__init__(raw, origins)
        self._facts = facts

    def __getitem__(self, name: str) -> Any:
        if name in ROOT_NAMES and name not in self._raw:
            return root_value(name, self._facts)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return name in ROOT_NAMES or super().__contains__(name)

    def child(self, extra: Mapping[str, Any], origin: Location | None = None) -> HostVars:
        merged = HostVars(self._raw, self._origins, self._facts)
        merged._raw.update(extra)
        if origin:
            for key in extra:
                merged._origins[key] = origin
        return merged

    def with_facts(self, facts: GroupValues) -> HostVars:
        """The same variables over a host's probed fact groups."""
        return HostVars(self._raw, self._origins, facts)


# ------------------------------------------------------------------ static reading


@functools.lru_cache(maxsize=4096)
def _names_in(source: str, expression: bool) -> tuple[frozenset[str], frozenset[str]]:
    """(fact groups, other variable names) a template or expression names."""
    try:
        tree = TEXT_ENV.parse("{{ (" + source + ") }}" if expression else source)
    except Exception:  # noqa: BLE001 - a syntax error is reported when it is rendered
        return frozenset(), frozenset()
    groups: set[str] = set()
    names: set[str] = set()

    def walk(node: nodes.Node) -> None:
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            base = node.node
            if isinstance(base, nodes.Name) and base.name in ("facts", "ansible_facts"):
                key = node.attr if isinstance(node, nodes.Getattr) else None
                if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                    key = node.arg.value if isinstance(node.arg.value, str) else None
                group = group_of_key(base.name, key) if key is not None else None
                if group is not None:
                    groups.add(group)
                elif key is None:
                    groups.update(groups_of_root(base.name))
                if isinstance(node, nodes.Getitem):
                    walk(node.arg)
                return
        if isinstance(node, nodes.Name) and node.ctx == "load":
            names.add(node.name)
        for child in node.iter_child_nodes():
            walk(child)

    walk(tree)
    return frozenset(groups), frozenset(names)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if "{" in value else []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def fact_groups(value: Any, variables: Variables, expression: bool = False) -> frozenset[str]:
    """The fact groups a value's templates read, also through the variables they name (a
    variable of the user's that shadows a fact name is followed, not taken as the fact)."""
    raw = variables.raw()
    found: set[str] = set()
    seen: set[str] = set()
    pending: list[tuple[str, bool]] = []
    if expression and isinstance(value, str | int | float) and not isinstance(value, bool):
        pending.append((str(value), True))
    elif expression and isinstance(value, list):
        pending += [(str(v), True) for v in value if isinstance(v, str | int | float)]
    else:
        pending += [(s, False) for s in _strings(value)]
    while pending:
        source, is_expression = pending.pop()
        groups, names = _names_in(source, is_expression)
        for name in names:
            if name in raw:
                if name not in seen:
                    seen.add(name)
                    pending += [(s, False) for s in _strings(raw[name])]
            elif name in ROOT_NAMES:
                found.update(groups_of_root(name))
        found.update(groups)
    return frozenset(found)


def template_groups(path: Path, variables: Variables) -> frozenset[str]:
    """The fact groups a template file reads (nothing when it cannot be read)."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    return fact_groups(source, variables)
