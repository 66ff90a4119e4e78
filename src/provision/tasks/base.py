"""The task-type protocol and argument validation shared by every type."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from provision.errors import InputError, Location
from provision.facts.base import Fact
from provision.facts.kinds import parse_mode
from provision.planning.model import HostState, Outcome
from provision.project.yamlfile import type_name
from provision.tasks.names import owner_problem

REQUIRED = object()
PATH_ARGS = ("path", "dest", "file", "creates", "removes")


@dataclass(frozen=True)
class Arg:
    """One argument of a task type: its kind, default and allowed values."""

    name: str
    kind: str  # str, bool, int, mode, strlist, dict, any
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()


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
    """A task type: validated arguments, the facts it reads, a pure plan, its checks."""

    type_name: ClassVar[str]
    args: ClassVar[tuple[Arg, ...]]
    shell_args: ClassVar[tuple[str, ...]] = ()  # rendered with every {{ value }} shell-quoted
    # A check that changes nothing (assert): deferred to apply, it runs after the handlers
    # notified so far, so it checks the host as the earlier changes left it.
    read_only: ClassVar[bool] = False

    def __init__(self, params: dict[str, Any], context: TaskContext) -> None:
        self.p = params
        self.context = context
        self._check_owners()
        self.validate()

    def _check_owners(self) -> None:
        """`owner`/`group` of any type reach chown: names or numeric ids, never an option."""
        for key in ("owner", "group"):
            value = self.p.get(key)
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

    def validate(self) -> None:
        """Cross-argument checks; raise self.fail(...)."""

    def describe(self) -> str:
        """The default task name: TYPE plus its main argument."""
        first = self.args[0].name
        return f"{self.type_name} {self.p.get(first)}"

    def facts(self) -> list[Fact]:
        raise NotImplementedError

    def plan(self, state: HostState) -> Outcome:
        raise NotImplementedError

    def restarts_unit(self) -> str | None:
        """The unit this task restarts, if that is all it does: run as a handler, it is
        skipped when that unit was started after the change that notified it."""
        return None

    def assertions(self) -> list[Assertion]:
        return []


REGISTRY: dict[str, type[TaskType]] = {}


def register(cls: type[TaskType]) -> type[TaskType]:
    REGISTRY[cls.type_name] = cls
    return cls


def task_types() -> dict[str, type[TaskType]]:
    """All task types, by name (importing their modules registers them)."""
    from provision.tasks import (  # noqa: F401
        assert_,
        command,
        directory,
        files,
        filesystem,
        groups,
        line,
        lvm_lv,
        lvm_vg,
        mount,
        package,
        repo,
        rpm_key,
        service,
        sysctl,
    )

    return REGISTRY
