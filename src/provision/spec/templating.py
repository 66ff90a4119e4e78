"""Jinja2 rendering of variables, task arguments and templates (StrictUndefined everywhere).

Variables are resolved lazily, as Ansible does: a variable whose value is itself a
template is rendered when first used, against the same variables. A string that is
exactly one `{{ expr }}` keeps the expression's native type (a list stays a list).
Shell strings are rendered with every `{{ value }}` quoted for `sh`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from provision.errors import InputError, Location
from provision.spec import fileformats

_SINGLE_EXPRESSION = re.compile(r"\A[ \t]*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}[ \t]*\Z", re.DOTALL)


class EnvironmentVariables(Mapping):
    """`{{ env.NAME }}`: the controller's environment; a missing name is an input error."""

    def __getitem__(self, name: str) -> str:
        try:
            return os.environ[name]
        except KeyError:
            raise _MissingVariable(f"env.{name}", "environment variable is not set")

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


class _MissingVariable(Exception):
    def __init__(self, name: str, why: str = "undefined variable") -> None:
        super().__init__(name)
        self.name = name
        self.why = why


def _to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)


def _mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, jinja2.Undefined):
        raise InputError(msg or "a mandatory variable is undefined")
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return bool(value)


def _shell_finalize(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    return shlex.quote(str(value))


def _make_environment(finalize: Any = None) -> jinja2.Environment:
    kwargs: dict[str, Any] = {
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
        "autoescape": False,
    }
    if finalize is not None:
        kwargs["finalize"] = finalize
    env = SandboxedEnvironment(**kwargs)
    env.policies["json.dumps_kwargs"] = {"sort_keys": True}
    env.filters.update(
        {
            "tojson": _to_json,
            "to_json": _to_json,
            "to_nice_json": lambda v, indent=2: _to_json(v, indent),
            "quote": lambda v: shlex.quote(str(v)),
            "mandatory": _mandatory,
            "bool": _to_bool,
        }
    )
    return env


TEXT_ENV = _make_environment()
SHELL_ENV = _make_environment(_shell_finalize)


class JsonText(str):
    """Text made by `tojson`: a JSON file takes it as it is."""


def _current_template_line() -> int | None:
    """The template line being rendered (from the compiled template's frame), if any."""
    frame = sys._getframe(1)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


@jinja2.pass_context  # pass_context: never applied at compile time, so never cached
def _marking_finalize(context: Any, value: Any) -> str:
    """Line-oriented files: each value is marked with its template line for resolve_marks."""
    if isinstance(value, jinja2.Undefined):
        return str(value)  # StrictUndefined raises here
    return fileformats.mark(str(value), _current_template_line())


@jinja2.pass_context
def _json_finalize(context: Any, value: Any) -> str:
    """JSON files: a value is JSON made by `tojson`, a number, or text that stays a string."""
    if isinstance(value, jinja2.Undefined):
        return str(value)
    if isinstance(value, JsonText):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        bad = re.search(r'["\\\x00-\x1f\x7f\u2028\u2029]', value)
        if bad is None:
            return value
        what = '`"`' if bad.group() == '"' else "`\\`" if bad.group() == "\\" else None
        what = what or fileformats.describe_char(bad.group())
        raise fileformats.ValueRefused(
            f"contains {what} at character {bad.start() + 1}, which would end or break a "
            "JSON string; write it as `{{ value | tojson }}` without quotes around it",
            _current_template_line(),
        )
    raise fileformats.ValueRefused(
        f"is a {type(value).__name__}; write it as `{{{{ value | tojson }}}}` in a JSON file",
        _current_template_line(),
    )


def _json_environment() -> jinja2.Environment:
    env = _make_environment(_json_finalize)
    env.filters.update(
        {
            "tojson": lambda v, indent=None: JsonText(_to_json(v, indent)),
            "to_json": lambda v, indent=None: JsonText(_to_json(v, indent)),
            "to_nice_json": lambda v, indent=2: JsonText(_to_json(v, indent)),
        }
    )
    return env


MARKING_ENV = _make_environment(_marking_finalize)
JSON_ENV = _json_environment()


class Variables(Mapping):
    """The variables of one host in one play, rendered on first use."""

    def __init__(self, raw: Mapping[str, Any], origins: Mapping[str, Location] | None = None):
        self._raw = dict(raw)
        self._origins = dict(origins or {})
        self._resolved: dict[str, Any] = {}
        self._resolving: list[str] = []

    def __getitem__(self, name: str) -> Any:
        if name in self._resolved:
            return self._resolved[name]
        if name == "env":
            return ENVIRONMENT
        if name not in self._raw:
            if name in TEXT_ENV.globals:
                return TEXT_ENV.globals[name]
            raise KeyError(name)
        if name in self._resolving:
            chain = " -> ".join([*self._resolving[self._resolving.index(name) :], name])
            raise InputError(f"variable refers to itself: {chain}", self._origins.get(name))
        self._resolving.append(name)
        try:
            value = render_value(self._raw[name], self, self._origins.get(name))
        finally:
            self._resolving.pop()
        self._resolved[name] = value
        return value

    def __contains__(self, name: object) -> bool:
        return name == "env" or name in self._raw or name in TEXT_ENV.globals

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def raw(self) -> dict[str, Any]:
        return dict(self._raw)

    def child(self, extra: Mapping[str, Any], origin: Location | None = None) -> Variables:
        """These variables plus `extra` (e.g. `item` of a loop), highest precedence."""
        merged = Variables(self._raw, self._origins)
        merged._raw.update(extra)
        for key in extra:
            if origin:
                merged._origins[key] = origin
        return merged

    def origin(self, name: str) -> Location | None:
        return self._origins.get(name)


ENVIRONMENT = EnvironmentVariables()


def _undefined_name(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"'([^']+)' is undefined", text)
    if match:
        return match.group(1)
    match = re.search(r"has no attribute '([^']+)'", text)
    if match:
        return match.group(1)
    return text


@functools.lru_cache(maxsize=8192)
def _compiled(env: jinja2.Environment, source: str) -> jinja2.Template:
    """Compiled once per distinct text: the same task strings render for every host."""
    return env.from_string(source)


def _run(env: jinja2.Environment, source: str, variables: Mapping[str, Any]) -> str:
    template = _compiled(env, source)
    context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
    return "".join(template.root_render_func(context))


def _evaluate(env: jinja2.Environment, expression: str, variables: Mapping[str, Any]) -> Any:
    template = _compiled(env, "{%- set __result__ = (" + expression + ") -%}")
    context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
    for _ in template.root_render_func(context):
        pass
    result = context.vars["__result__"]
    if isinstance(result, jinja2.Undefined):
        str(result)  # raises for StrictUndefined
    return result


def _wrap_errors(location: Location | None, what: str) -> Any:
    class _Wrapper:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
            if exc is None or isinstance(exc, InputError):
                return False
            if isinstance(exc, _MissingVariable):
                raise InputError(f"{exc.why}: {exc.name} (in {what})", location) from None
            if isinstance(exc, jinja2.UndefinedError):
                raise InputError(
                    f"undefined variable: {_undefined_name(exc)} (in {what})", location
                ) from None
            if isinstance(exc, jinja2.TemplateSyntaxError):
                line = location.line if location else None
                raise InputError(
                    f"template syntax error in {what}: {exc.message}",
                    Location(location.file, line) if location else None,
                ) from None
            if isinstance(exc, RecursionError | OverflowError | MemoryError):
                reason = str(exc) or type(exc).__name__
                raise InputError(f"cannot render {what}: {reason}", location) from None
            if isinstance(exc, jinja2.TemplateError | TypeError | ValueError | ZeroDivisionError):
                raise InputError(f"cannot render {what}: {exc}", location) from None
            return False

    return _Wrapper()


def render_string(
    source: str,
    variables: Mapping[str, Any],
    location: Location | None = None,
    what: str = "a value",
    shell: bool = False,
) -> Any:
    """Render one string; a lone `{{ expr }}` keeps its native type (not for shell strings)."""
    if "{" not in source:
        return source
    env = SHELL_ENV if shell else TEXT_ENV
    with _wrap_errors(location, what):
        match = None if shell else _SINGLE_EXPRESSION.match(source)
        if match:
            return _evaluate(env, match.group("expr"), variables)
        return _run(env, source, variables)


def render_value(
    value: Any,
    variables: Mapping[str, Any],
    location: Location | None = None,
    what: str = "a value",
) -> Any:
    """Render every string inside a value (mappings and lists recursively)."""
    if isinstance(value, str):
        return render_string(value, variables, location, what)
    if isinstance(value, dict):
        return {k: render_value(v, variables, location, what) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, variables, location, what) for v in value]
    return value


def evaluate(
    expression: Any, variables: Mapping[str, Any], location: Location | None, what: str
) -> Any:
    """Evaluate a bare Jinja2 expression (`when:`, `assert that:`); a list means all of them."""
    if isinstance(expression, bool):
        return expression
    if isinstance(expression, list):
        return all(evaluate(item, variables, location, what) for item in expression)
    if not isinstance(expression, str | int | float):
        raise InputError(f"{what} must be an expression or a list of them", location)
    source = str(expression).strip()
    match = _SINGLE_EXPRESSION.match(source)
    if match:  # tolerate `when: "{{ x }}"`
        source = match.group("expr")
    with _wrap_errors(location, what):
        return _evaluate(TEXT_ENV, source, variables)


def render_template_file(
    source: str,
    variables: Mapping[str, Any],
    file: str,
    what: str = "template",
    fmt: str = "raw",
    where: Location | None = None,
) -> str:
    """Render a template file's text for a file of format `fmt` (see fileformats): in a
    line-oriented format each value is checked (and escaped) where it lands. Errors name
    the template file and line (or `where`, for a template held in a task argument)."""
    env = TEXT_ENV if fmt == "raw" else JSON_ENV if fmt == "json" else MARKING_ENV
    try:
        text = _run(env, source, variables)
        return fileformats.resolve_marks(text, fmt) if env is MARKING_ENV else text
    except fileformats.ValueRefused as exc:
        raise _refused(exc, source, file, what, fmt, where) from None
    except Exception as exc:  # noqa: BLE001 - converted to an InputError below
        line = getattr(exc, "lineno", None) or _template_line(exc)
        location = where or Location(file, line)
        with _wrap_errors(location, f"{what} {file}" if where is None else what):
            raise


def _refused(
    exc: fileformats.ValueRefused,
    source: str,
    file: str,
    what: str,
    fmt: str,
    where: Location | None,
) -> InputError:
    """The input error for a value that does not fit its file (never quoting the value)."""
    subject = fileformats.name_values(source, exc.line, exc.ordinal)
    if where is None:
        location = Location(file, exc.line)
        place = f"{what} {file}"
    else:
        location = where
        place = what + (f" (line {exc.line})" if exc.line else "")
    return InputError(
        f"{place}, {fileformats.a_format(fmt)} file: {subject} {exc.message}",
        location,
        hint="fix the variable's value; `format: raw` on the task turns these checks off "
        "for a file that has no lines or keys",
    )


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised from, from Jinja's compiled frames."""
    import traceback

    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            line = template.get_corresponding_lineno(lineno)
    return line
