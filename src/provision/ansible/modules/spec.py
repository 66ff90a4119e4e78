"""How one Ansible module is declared: its arguments (names, aliases, value maps, the
ones refused with what to write instead) and the task type of this tool it becomes.

A `Module` is pure data plus two optional functions: `prepare` (before rendering, on the
raw arguments, already renamed to the target type's names) and `finish` (after
rendering). `adapter()` turns it into a `TaskType` subclass of the target type whose
`parse`/`coerce` speak Ansible's argument names; everything else (facts, plan, checks)
is the target type's own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from provision.errors import InputError, Location
from provision.project.yamlfile import type_name

_ANY: Any = object()


@dataclass(frozen=True)
class A:
    """One Ansible argument.

    `to`: the target type's argument (default: the same name; "" for an argument
    `prepare`/`finish` reads and drops). `values`: Ansible value → ours, after rendering.
    `only`: the one value accepted (as Ansible spells it: `validate_certs: true`).
    `refuse`: known to Ansible, not supported here: what to write instead."""

    name: str
    to: str | None = None
    aliases: tuple[str, ...] = ()
    values: Mapping[Any, Any] = field(default_factory=dict)
    only: Any = _ANY
    refuse: str = ""

    @property
    def target(self) -> str:
        return self.name if self.to is None else self.to

    @property
    def restricted(self) -> bool:
        """Accepted with one value only (`only`)."""
        return self.only is not _ANY

    @property
    def refused(self) -> bool:
        """Refused whatever its value."""
        return bool(self.refuse) and not self.restricted


Prepare = Callable[[dict[str, Any], "Call"], dict[str, Any]]
Finish = Callable[[dict[str, Any], "Call"], dict[str, Any]]


@dataclass(frozen=True)
class Module:
    """An Ansible module: short name, collection, the task type it becomes, its args."""

    name: str
    collection: str
    target: str
    args: tuple[A, ...]
    doc: str = ""  # the differences from Ansible, for docs/ansible.md
    free_form: str = ""  # the argument a plain string value is (command: cmd)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # our defaults where Ansible's differ
    prepare: Prepare | None = None
    finish: Finish | None = None
    # the target chosen by the arguments as written (file: state directory|absent...)
    route: Callable[[Any, Call], str] | None = None

    @property
    def fqcn(self) -> str:
        return f"{self.collection}.{self.name}"

    def arg(self, key: str) -> A | None:
        for a in self.args:
            if key == a.name or key in a.aliases:
                return a
        return None

    def by_slot(self, slot: str) -> A | None:
        """The argument whose value is in `slot` (its target's name, or `_NAME`)."""
        for a in self.args:
            if (a.target or "_" + a.name) == slot:
                return a
        return None

    def names(self) -> str:
        shown = []
        for a in self.args:
            if a.refuse:
                continue
            alias = f" (or {', '.join(a.aliases)})" if a.aliases else ""
            shown.append(a.name + alias)
        return ", ".join(shown)


@dataclass(frozen=True)
class Call:
    """One use of a module in a task file: the key as written and where it is."""

    module: Module
    key: str
    location: Location

    def error(self, message: str, hint: str = "", line: int | None = None) -> InputError:
        where = self.location if line is None else Location(self.location.file, line)
        return InputError(f"{self.key}: {message}", where, hint)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def templated(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(templated(v) for v in value.values())
    if isinstance(value, list):
        return any(templated(v) for v in value)
    return False


FREE_FORM_KEYS = ("creates", "removes", "chdir", "executable", "stdin", "warn")


def split_words(text: str) -> list[str]:
    """`text` split at blanks outside quotes and outside `{{ }}`/`{% %}` (as Ansible
    splits `key=value` arguments); quotes are kept."""
    words: list[str] = []
    current = ""
    quote = ""
    depth = 0
    index = 0
    while index < len(text):
        pair = text[index : index + 2]
        char = text[index]
        if not quote and pair in ("{{", "{%"):
            depth += 1
            current += pair
            index += 2
            continue
        if not quote and depth and pair in ("}}", "%}"):
            depth -= 1
            current += pair
            index += 2
            continue
        if not depth and quote and char == quote:
            quote = ""
        elif not depth and not quote and char in "'\"":
            quote = char
        elif not depth and not quote and char in " \t":
            if current:
                words.append(current)
            current = ""
            index += 1
            continue
        current += char
        index += 1
    if current:
        words.append(current)
    return words


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def key_values(call: Call, text: str) -> dict[str, Any]:
    """Ansible's `key=value` string form (`lineinfile: path=/x line=a`); for command and
    shell the free-form text, with `creates=`, `removes=`, `chdir=`... taken out of it."""
    module = call.module
    args: dict[str, Any] = {}
    rest = []
    for word in split_words(text):
        key, sep, value = word.partition("=")
        known = sep and key.isidentifier() and module.arg(key) is not None
        if module.free_form and known and key in FREE_FORM_KEYS:
            args[key] = _unquote(value)
        elif module.free_form:
            rest.append(word)
        elif known:
            args[key] = _unquote(value)
        else:
            raise call.error(
                f"`{word}` is not a `key=value` argument of {module.fqcn}",
                hint=f"write the arguments as a YAML mapping; arguments: {module.names()}",
            )
    if module.free_form and rest:
        # the text as written, unless key=value words were taken out of it
        args[module.free_form] = " ".join(rest) if args else text
    return args


def translate_names(
    call: Call, raw: Any, key_lines: Mapping[str, int]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Ansible's argument names → the target's (before rendering). Returns the renamed
    arguments and, for each target name, the Ansible name it came from."""
    module = call.module
    if isinstance(raw, str):
        raw = key_values(call, raw)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise call.error(
            f"arguments must be a mapping, found {type_name(raw)}",
            hint=f"arguments of {module.fqcn}: {module.names()}",
        )
    result: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in raw.items():
        line = key_lines.get(key)
        a = module.arg(str(key))
        if a is None:
            raise call.error(
                f"`{key}` is not an argument of {module.fqcn}",
                hint=f"arguments of {module.fqcn}: {module.names()}",
                line=line,
            )
        if a.refuse and a.only is _ANY:
            raise call.error(
                f"argument `{key}` of {module.fqcn} is not supported by provision",
                hint=a.refuse,
                line=line,
            )
        if a.only is not _ANY and not templated(value) and not _same(value, a.only):
            raise call.error(
                f"`{key}: {shown(value)}` is not supported (only `{key}: {_spell(a.only)}`)",
                hint=a.refuse or f"remove `{key}`, or write `{key}: {_spell(a.only)}`",
                line=line,
            )
        slot = a.target or "_" + a.name  # "_NAME": read by prepare/finish, then dropped
        if slot in origin:
            raise call.error(
                f"`{key}` and `{origin[slot]}` are the same argument; give it once", line=line
            )
        origin[slot] = str(key)
        result[slot] = value
    for key, value in module.fixed.items():
        result.setdefault(key, value)
    if module.prepare is not None:
        result = module.prepare(result, call)
    return result, origin


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):
        if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
            return (value.lower() in ("yes", "true")) == wanted
        return value is wanted
    return value == wanted


def _spell(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def translate_values(
    call: Call, rendered: dict[str, Any], hidden: Collection[str]
) -> dict[str, Any]:
    """Ansible's values → the target's (after rendering): value maps, `only` checks."""
    module = call.module
    result = dict(rendered)
    for slot, value in rendered.items():
        a = module.by_slot(slot)
        if a is None:
            continue
        if a.restricted and value is not None and not _same(value, a.only):
            found = shown(value) if slot not in hidden else "a value from a variable (not shown)"
            raise call.error(f"`{a.name}` must be {_spell(a.only)} here, found {found}")
        if a.values and isinstance(value, str | bool) and value in a.values:
            result[slot] = a.values[value]
    if module.finish is not None:
        result = module.finish(result, call)
    return {k: v for k, v in result.items() if k and not k.startswith("_")}


def lines_of(module: Module, given: Mapping[str, int]) -> dict[str, int]:
    """Each target argument's line, from the lines of the Ansible names as written."""
    lines = {}
    for a in module.args:
        for name in (a.name, *a.aliases):
            if name in given:
                lines[a.target or "_" + a.name] = given[name]
    return lines
