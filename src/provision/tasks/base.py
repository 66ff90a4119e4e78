"""The task-type protocol, argument declaration and validation, and discovery.

A task type is a `TaskType` subclass with a `type_name`, a `Params` dataclass (its
arguments, each declared with `arg(...)`), the facts it reads, a pure `plan`, and its
verify assertions. Defining the class in a module of this package is all it takes:
`task_types()` imports every module here and each subclass registers itself; the verify
check of an assertion kind registers with `@verifies(KIND)` the same way.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import types
import typing
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, NewType

from provision.errors import InputError, Location
from provision.facts.base import Fact
from provision.facts.kinds import parse_mode
from provision.planning.model import NO_DISRUPTION, Disruption, HostState, Outcome
from provision.project.regexsafe import SAFE_HINT, backtracking_risk
from provision.project.yamlfile import type_name
from provision.tasks.names import owner_problem

REQUIRED: Any = object()
PATH_ARGS = ("path", "dest", "file", "creates", "removes")
KINDS = ("str", "bool", "int", "mode", "strlist", "dict", "any")
_META = "provision.arg"

#: a file mode: `0644`, `644` or 0o644 in YAML, an int once validated
Mode = NewType("Mode", int)


@dataclass(frozen=True)
class Arg:
    """One argument of a task type: its kind, default, allowed values and one-line doc.
    Derived from the type's `Params` fields; `attr` is the field's name when the
    argument's name is a Python keyword (`in` → `in_`)."""

    name: str
    kind: str  # one of KINDS
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    doc: str = ""
    attr: str = ""

    @property
    def field_name(self) -> str:
        return self.attr or self.name


@dataclass(frozen=True)
class _ArgMeta:
    doc: str
    choices: tuple[str, ...]
    name: str
    kind: str


def arg(
    default: Any = REQUIRED,
    *,
    doc: str,
    choices: tuple[str, ...] = (),
    name: str = "",
    kind: str = "",
) -> Any:
    """A `Params` field: the argument's default (none: required), its one-line doc for
    docs/tasks.md, its allowed values, its YAML name when the field's name differs
    (`in_: ... = arg(name="in")`) and its kind when the annotation does not say it
    (`str`, `bool`, `int`, `Mode`, `list[str]`, `dict[...]`; anything else is `any`)."""
    meta = {_META: _ArgMeta(doc, tuple(choices), name, kind)}
    if default is REQUIRED:
        return field(metadata=meta)
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _kind_of(hint: Any) -> str:
    """The argument kind an annotation names (None in a union only makes it optional)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) != 1:
            return "any"
        hint = options[0]
    origin = typing.get_origin(hint)
    if hint is Mode:
        return "mode"
    if hint is bool:
        return "bool"
    if hint is int:
        return "int"
    if hint is str:
        return "str"
    if hint is list or origin is list:
        return "strlist"
    if hint is dict or origin is dict:
        return "dict"
    return "any"


def args_of(params: type) -> tuple[Arg, ...]:
    """The arguments a `Params` dataclass declares, in field order: its own fields first,
    then those of a shared base (wholefile.FileParams)."""
    hints = typing.get_type_hints(params)
    result = []
    own = params.__dict__.get("__annotations__", {})
    ordered = sorted(fields(params), key=lambda f: f.name not in own)
    for f in ordered:
        meta: _ArgMeta | None = f.metadata.get(_META)
        if meta is None:
            raise TypeError(f"{params.__qualname__}.{f.name}: declare it with arg(doc=...)")
        kind = meta.kind or _kind_of(hints[f.name])
        if kind not in KINDS:
            raise TypeError(f"{params.__qualname__}.{f.name}: unknown kind {kind!r}")
        result.append(
            Arg(
                meta.name or f.name,
                kind,
                _default_of(f),
                meta.choices,
                meta.doc,
                f.name if meta.name else "",
            )
        )
    return tuple(result)


def _default_of(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return REQUIRED


@dataclass
class TaskContext:
    """What a task type may read besides its arguments (all resolved before any host)."""

    location: Location
    role_dir: Path | None
    variables: Mapping[str, Any]
    secret: bool = False
    secret_values: list[str] = field(default_factory=list)
    raw_args: Mapping[str, Any] = field(default_factory=dict)  # as written, before rendering
    arg_lines: Mapping[str, int] = field(default_factory=dict)  # each argument's own line
    become_user: str = "root"  # who the task's commands run as (files it creates are theirs)


@dataclass(frozen=True)
class Assertion:
    """One verify check derived from a declaration (`provision verify` runs it in testinfra)."""

    kind: str  # package, file, sysctl, service, repo, user, group, command
    target: str
    expect: dict[str, Any]
    describe: str


def _coerce(
    arg: Arg, value: Any, type_key: str, location: Location, show_value: bool = True
) -> Any:
    """The argument's value in its kind. An error states the type found, and quotes the
    value only when `show_value` (the task file wrote it literally: a value that came
    from a variable may be a secret)."""

    def bad(expected: str) -> InputError:
        shown = f" ({value!r})" if show_value else " (from a variable; value not shown)"
        return InputError(
            f"{type_key}: argument `{arg.name}` must be {expected}, found {type_name(value)}"
            + shown,
            location,
        )

    if arg.kind == "any":
        return value
    if arg.kind == "str":
        if isinstance(value, bool) or isinstance(value, dict | list) or value is None:
            raise bad("a string")
        if arg.name in PATH_ARGS:
            if not str(value).startswith("/"):
                raise bad("an absolute path")
        return str(value)
    if arg.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "false", "no"):
            return value.lower() in ("true", "yes")
        raise bad("true or false")
    if arg.kind == "int":
        if isinstance(value, bool):
            raise bad("a whole number")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad("a whole number")
    if arg.kind == "mode":
        if value is None:
            return None
        mode = parse_mode(value)
        if mode is None:
            raise bad("a file mode like '0644'")
        return mode
    if arg.kind == "strlist":
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return [str(value)]
        if isinstance(value, list) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            return [str(v) for v in value]
        raise bad("a string or a list of strings")
    if arg.kind == "dict":
        if not isinstance(value, dict):
            raise bad("a mapping")
        return dict(value)
    raise AssertionError(arg.kind)


class TaskType:
    """A task type: validated arguments, the facts it reads, a pure plan, its checks.

    The class docstring is the type's section of docs/tasks.md: its first line the
    heading (`` `name`: what it manages``), the rest the prose below the argument table."""

    type_name: ClassVar[str]
    # The arguments: a dataclass whose fields are declared with `arg(...)`; `args` is
    # derived from it.
    Params: ClassVar[type[Any]]
    args: ClassVar[tuple[Arg, ...]]
    shell_args: ClassVar[tuple[str, ...]] = ()  # rendered with every {{ value }} shell-quoted
    # A check that changes nothing (assert): deferred to apply, it runs after the handlers
    # notified so far, so it checks the host as the earlier changes left it.
    read_only: ClassVar[bool] = False
    params: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "Params" in own:
            cls.args = args_of(cls.Params)
        if "type_name" in own:
            register(cls)

    def __init__(self, params: Mapping[str, Any], context: TaskContext) -> None:
        values = {}
        for a in self.args:
            value = params.get(a.name, a.default)
            if value is REQUIRED:
                raise KeyError(f"{self.type_name}: no value for `{a.name}`")
            values[a.field_name] = value
        self.params = self.Params(**values)
        self.context = context
        self._check_owners()
        self.validate()

    def _check_owners(self) -> None:
        """`owner`/`group` of any type reach chown: names or numeric ids, never an option."""
        for key in ("owner", "group"):
            value = getattr(self.params, key, None)
            if isinstance(value, str):
                problem = owner_problem(value, key)
                if problem:
                    raise self.fail(problem)

    @classmethod
    def parse(cls, raw: Any, location: Location) -> dict[str, Any]:
        """Check the argument names and shapes (before rendering); unknown names are errors."""
        if not isinstance(raw, dict):
            raise InputError(
                f"{cls.type_name}: arguments must be a mapping, found {type_name(raw)}",
                location,
                hint=f"accepted arguments: {cls.accepted()}",
            )
        names = {a.name for a in cls.args}
        for key in raw:
            if key not in names:
                raise InputError(
                    f"{cls.type_name}: unknown argument `{key}`",
                    location,
                    hint=f"accepted arguments: {cls.accepted()}",
                )
        return dict(raw)

    @classmethod
    def accepted(cls) -> str:
        return ", ".join(
            a.name + (" (required)" if a.default is REQUIRED else "") for a in cls.args
        )

    @classmethod
    def coerce(
        cls,
        rendered: dict[str, Any],
        location: Location,
        arg_lines: Mapping[str, int] | None = None,
        hidden: Collection[str] = (),
    ) -> dict[str, Any]:
        """Apply kinds, defaults and choices to the rendered arguments. An error about one
        argument names that argument's own line (`arg_lines`), else the task type's; it
        never quotes the value of an argument in `hidden` (rendered from variables)."""
        params: dict[str, Any] = {}
        for arg in cls.args:
            line = (arg_lines or {}).get(arg.name, location.line)
            where = Location(location.file, line)
            show = arg.name not in hidden
            if arg.name in rendered and rendered[arg.name] is not None:
                value = _coerce(arg, rendered[arg.name], cls.type_name, where, show)
            elif arg.default is REQUIRED:
                raise InputError(
                    f"{cls.type_name}: missing required argument `{arg.name}`",
                    location,
                    hint=f"accepted arguments: {cls.accepted()}",
                )
            else:
                value = arg.default
            if arg.choices and value is not None and value not in arg.choices:
                found = repr(value) if show else "a value from a variable (not shown)"
                raise InputError(
                    f"{cls.type_name}: `{arg.name}` must be one of {', '.join(arg.choices)};"
                    f" found {found}",
                    where,
                )
            params[arg.name] = value
        return params

    def fail(self, message: str, hint: str = "", arg: str | None = None) -> InputError:
        """An input error at the task, or at argument `arg`'s own line when it is known."""
        where = self.context.location
        if arg is not None and arg in self.context.arg_lines:
            where = Location(where.file, self.context.arg_lines[arg])
        return InputError(f"{self.type_name}: {message}", where, hint)

    def check_regexp(self, arg: str, value: str) -> None:
        """Argument `arg` holds a Python regexp that compiles and cannot backtrack for ever
        (it runs on the controller's copy of a host's file, which the host controls)."""
        try:
            re.compile(value)
        except re.error as exc:
            raise self.fail(f"`{arg}` is not a valid regular expression: {exc}", arg=arg)
        problem = backtracking_risk(value)
        if problem:
            raise self.fail(
                f"`{arg}` could take exponential time to match: {problem}", SAFE_HINT, arg
            )

    def validate(self) -> None:
        """Cross-argument checks; raise self.fail(...)."""

    def describe(self) -> str:
        """The default task name: TYPE plus its main argument."""
        return f"{self.type_name} {getattr(self.params, self.args[0].field_name)}"

    def facts(self) -> list[Fact]:
        raise NotImplementedError

    def plan(self, state: HostState) -> Outcome:
        raise NotImplementedError

    def restarts_unit(self) -> str | None:
        """The unit this task restarts, if that is all it does: run as a handler, it is
        skipped when that unit was started after the change that notified it."""
        return None

    def disrupts_at_most(self) -> Disruption:
        """The most this task may disrupt (what `plan` counts for it when it is decided only
        at apply); a Change it plans carries what it really disrupts."""
        return NO_DISRUPTION

    def as_reload(self) -> TaskType | None:
        """This task doing a reload instead of a restart, when it restarts a unit that can
        reload (a `restarted` handler whose notifying changes all say a reload suffices)."""
        return None

    def assertions(self) -> list[Assertion]:
        return []


REGISTRY: dict[str, type[TaskType]] = {}
Checker = Callable[[Any, str, dict[str, Any]], "str | None"]
_CHECKERS: dict[str, Checker] = {}


def register(cls: type[TaskType]) -> type[TaskType]:
    """Register a task type (done for every subclass that sets `type_name`)."""
    other = REGISTRY.get(cls.type_name)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise TypeError(f"task type {cls.type_name!r} defined twice: {other} and {cls}")
    REGISTRY[cls.type_name] = cls
    return cls


def verifies(kind: str) -> Callable[[Checker], Checker]:
    """Register `check(host, target, expect) -> problem or None` for the assertions of
    `kind` (`provision verify` calls it with a testinfra host)."""

    def add(check: Checker) -> Checker:
        _CHECKERS[kind] = check
        return check

    return add


@cache
def _discover() -> None:
    import provision.tasks as package

    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)


_TYPE_NAME_LINE = re.compile(r'^    type_name = "([A-Za-z0-9_.]+)"$', re.MULTILINE)


@cache
def _type_modules() -> dict[str, str]:
    """Where each task type is defined, read from the sources of this package without
    importing them (the `type_name = "..."` line of each class): {type name: module}."""
    import provision.tasks as package

    found: dict[str, str] = {}
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        for folder in package.__path__:
            try:
                text = (Path(folder) / (module.name.rpartition(".")[2] + ".py")).read_text()
            except OSError:
                continue
            for name in _TYPE_NAME_LINE.findall(text):
                found.setdefault(name, module.name)
            break
    return found


class TaskTypes(Mapping[str, "type[TaskType]"]):
    """The task types by name, importing a type's module when the type is first looked up:
    a run imports the modules of the types its tasks use, not all of them (importing all
    cost ~0.05 s, ~10 % of a converged run's controller time). A name not found where its
    source says, or not found at all, is looked up after importing every module, so the
    answer is always the one full discovery gives; iterating imports every module."""

    def _find(self, name: str) -> type[TaskType] | None:
        found = REGISTRY.get(name)
        if found is not None:
            return found
        module = _type_modules().get(name) if isinstance(name, str) else None
        if module is not None:
            importlib.import_module(module)
            found = REGISTRY.get(name)
            if found is not None:
                return found
        _discover()
        return REGISTRY.get(name)

    def __getitem__(self, name: str) -> type[TaskType]:
        found = self._find(name)
        if found is None:
            raise KeyError(name)
        return found

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._find(name) is not None

    def __iter__(self) -> Iterator[str]:
        _discover()
        return iter(dict(REGISTRY))

    def __len__(self) -> int:
        _discover()
        return len(REGISTRY)


_TASK_TYPES = TaskTypes()


def task_types() -> dict[str, type[TaskType]]:
    """All task types, by name: every module of this package is imported once, which
    registers the types it defines (and the fact kinds some of them define)."""
    _discover()
    return REGISTRY


def task_type_table() -> Mapping[str, type[TaskType]]:
    """The task types, by name, for compiling tasks: a type's module is imported when the
    type is first looked up (see `TaskTypes`)."""
    return _TASK_TYPES


def checkers() -> dict[str, Checker]:
    """The verify check of each assertion kind, by kind (from every task module)."""
    _discover()
    return _CHECKERS
