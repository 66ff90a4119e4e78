"""Jinja2 rendering of variables, task arguments and templates (StrictUndefined everywhere).

Variables are resolved lazily, as Ansible does: a variable whose value is itself a
template is rendered when first used, against the same variables. A string that is
exactly one `{{ expr }}` keeps the expression's native type (a list stays a list).
Shell strings are rendered with every `{{ value }}` quoted for `sh` by the engine, and
only where the shell reads it as (part of) a plain word (see `shellsafe`).
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import re
import secrets
import shlex
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from provision.errors import InputError, Location
from provision.spec import fileformats, shellsafe

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
SHELL_ENV = _make_environment()

# -- shell strings: every value placed by the engine, as one quoted word -------------------
#
# A shell template is compiled with each `{{ expr }}` wrapped in the `_SHELL_WORD` filter,
# which stores the value and outputs a placeholder. The rendered text is then the author's
# text with placeholders where values go; `shellsafe.landings` says where each one landed,
# and only then is each placeholder replaced by the value, `shlex.quote`d. A `{{ }}` that
# does not land as (part of) an unquoted word is an input error, whatever its value.

_SHELL_WORD = "__provision_shell_word__"
# While a shell string renders: each value's text, the number of its `{{ }}`, a nonce.
_SHELL_VALUES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "provision_shell_values", default=None
)
_SHELL_NONCE: contextvars.ContextVar[str] = contextvars.ContextVar("provision_shell_nonce")
_SHELL_INDEXES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "provision_shell_indexes", default=None
)


class QuotedWord(str):
    """`{{ v | quote }}` in a shell string: the engine quotes `raw` once, not twice."""

    raw: str

    def __new__(cls, raw: str) -> QuotedWord:
        word = super().__new__(cls, shlex.quote(raw))
        word.raw = raw
        return word


def _shell_quote_filter(value: Any) -> QuotedWord:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here
    return QuotedWord(value.raw if isinstance(value, QuotedWord) else str(value))


def _unmark(text: str, values: list[str], nonce: str) -> str:
    """A value that holds this render's placeholders (the output of a `{% set %}` block or
    a macro): its text. A value's own text is never read as a placeholder: it cannot know
    the render's nonce."""
    if shellsafe.MARK_OPEN + nonce + ":" not in text:
        return text
    pattern = re.escape(shellsafe.MARK_OPEN + nonce + ":") + r"(\d+)" + shellsafe.MARK_CLOSE
    return re.sub(pattern, lambda m: values[int(m.group(1))], text)


@jinja2.pass_context
def _shell_word(context: Any, value: Any, index: int) -> str:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here
    values, indexes = _SHELL_VALUES.get(), _SHELL_INDEXES.get()
    if values is None or indexes is None:
        raise RuntimeError("a shell template rendered outside render_shell")
    text = value.raw if isinstance(value, QuotedWord) else str(value)
    nonce = _SHELL_NONCE.get()
    values.append(_unmark(text, values, nonce))
    indexes.append(index)
    return shellsafe.placeholder(len(values) - 1, nonce)


SHELL_ENV.filters[_SHELL_WORD] = _shell_word
SHELL_ENV.filters["quote"] = _shell_quote_filter


class _ShellTemplate:
    """A compiled shell template and the source text and line of each of its `{{ }}`."""

    def __init__(self, template: jinja2.Template, expressions: list[tuple[str, int]]) -> None:
        self.template = template
        self.expressions = expressions


def _expressions(source: str) -> list[tuple[str, int]]:
    """Each `{{ ... }}` of a template as written, with its line in the template."""
    found: list[tuple[str, int]] = []
    current: list[str] | None = None
    start = 1
    for lineno, token, value in SHELL_ENV.lexer.tokeniter(source, None):
        if token == "variable_begin":
            current, start = [value], lineno
        elif current is not None:
            current.append(value)
            if token == "variable_end":
                found.append(("".join(current), start))
                current = None
    return found


@functools.lru_cache(maxsize=4096)
def _compiled_shell(source: str) -> _ShellTemplate:
    if shellsafe.MARK_OPEN in source or shellsafe.MARK_CLOSE in source:
        raise InputError("a shell string may not contain the characters U+E000 or U+E001")
    tree = SHELL_ENV.parse(source)
    if any(True for _ in tree.find_all(nodes.FilterBlock)):
        raise InputError(
            "`{% filter %}` blocks are not allowed in a shell string: their output would "
            "reach the shell unquoted"
        )
    index = 0
    for output in tree.find_all(nodes.Output):
        wrapped: list[nodes.Expr] = []
        for child in output.nodes:
            if not isinstance(child, nodes.TemplateData):
                child = nodes.Filter(
                    child, _SHELL_WORD, [nodes.Const(index)], [], None, None, lineno=child.lineno
                )
                index += 1
            wrapped.append(child)
        output.nodes = wrapped
    expressions = _expressions(source)
    if len(expressions) != index:
        expressions = []  # cannot pair them up: messages then quote the output instead
    return _ShellTemplate(SHELL_ENV.from_string(tree), expressions)


def render_shell(
    source: str, variables: Mapping[str, Any], location: Location | None, what: str
) -> str:
    """Render a shell string: each value becomes one quoted word, placed by the engine."""
    try:
        compiled = _compiled_shell(source)
    except InputError as exc:
        raise InputError(f"{what}: {exc.message}", location) from None
    values: list[str] = []
    indexes: list[int] = []
    tokens = (
        _SHELL_VALUES.set(values),
        _SHELL_INDEXES.set(indexes),
        _SHELL_NONCE.set(secrets.token_hex(8)),
    )
    try:
        context = compiled.template.new_context(variables, shared=True)  # type: ignore[arg-type]
        marked = "".join(compiled.template.root_render_func(context))
    finally:
        _SHELL_NONCE.reset(tokens[2])
        _SHELL_INDEXES.reset(tokens[1])
        _SHELL_VALUES.reset(tokens[0])
    for landing in shellsafe.landings(marked):
        if landing.context != shellsafe.WORD:
            raise _misplaced(source, compiled, indexes, landing, location, what)
    for number, text in enumerate(values):
        problem = shellsafe.unfit_for_argument(text)
        if problem:
            expr = _expression_text(compiled, indexes, number)
            raise InputError(
                f"{what}: the value of {expr} holds {problem}, which no command argument can carry",
                location,
            )
    return shellsafe.MARK.sub(lambda m: shlex.quote(values[int(m.group(1))]), marked)


def _expression_text(compiled: _ShellTemplate, indexes: list[int], number: int) -> str:
    if 0 <= number < len(indexes) and indexes[number] < len(compiled.expressions):
        return f"`{compiled.expressions[indexes[number]][0]}`"
    return "a `{{ }}`"


_HINTS = {
    "single": "remove the quotes around it: {example} (the value is quoted for you)",
    "double": "remove the quotes around it: {example} (the value is quoted for you); inside "
    'a longer quoted string, assign it first: x={expr}; echo "text $x"',
    "ansi": "remove the $'...' around it; the value is quoted for you",
    "backtick": "use $(...) instead of backquotes: $(cmd {expr})",
    "param": 'assign it to a shell variable first: x={expr}; echo "${{x%.conf}}"',
    "arith": 'assign it first and use [ ]: n={expr}; [ "$n" -gt 1 ]',
    "test": "use [ ] or test instead of [[ ]]: [ -f {expr} ]",
    "comment": "a comment cannot hold a value: take it out of the comment",
    "heredoc": "pass the value as an argument instead (printf '%s\\n' {expr} > FILE), or "
    "write the file with a `copy` or `template` task",
    "heredoc-word": "write the here-document delimiter literally (<<'EOF')",
    "escaped": "remove the backslash before it",
    "dollar": "remove the $ before it",
    "eval": "do not hand a value to a command that runs its argument as shell code",
    "name": "do not use a value as a variable name (bash evaluates a[...] in names)",
}


def _misplaced(
    source: str,
    compiled: _ShellTemplate,
    indexes: list[int],
    landing: shellsafe.Landing,
    location: Location | None,
    what: str,
) -> InputError:
    expr = _expression_text(compiled, indexes, landing.index)
    line = ""
    if 0 <= landing.index < len(indexes) and indexes[landing.index] < len(compiled.expressions):
        expr_line = compiled.expressions[indexes[landing.index]][1]
        if "\n" in source.strip("\n"):
            line = f" (line {expr_line} of the command)"
    plain = _unquoted_example(source, compiled, indexes, landing)
    hint = _HINTS.get(landing.context, "move it out of there").format(
        example=f"`{plain}`" if plain else "`grep -q {{ v }} /etc/f`",
        expr=expr.strip("`") if expr.startswith("`") else "{{ v }}",
    )
    return InputError(
        f"{what}: {expr}{line} lands {shellsafe.describe(landing.context)}; a value may "
        "only stand as (part of) a plain, unquoted word, where the engine quotes it so that "
        "it arrives as exactly one word",
        location,
        hint=f"{hint}; or give the command as a list of words (argv form). See "
        'docs/tasks.md, "Quoting rules".',
    )


def _unquoted_example(
    source: str, compiled: _ShellTemplate, indexes: list[int], landing: shellsafe.Landing
) -> str:
    """The source with the quotes right around the offending `{{ }}` removed, if simple."""
    if landing.context not in ("single", "double") or "\n" in source.strip():
        return ""
    if not (0 <= landing.index < len(indexes)) or not compiled.expressions:
        return ""
    expr = compiled.expressions[indexes[landing.index]][0]
    for quote in ("'", '"'):
        quoted = f"{quote}{expr}{quote}"
        if quoted in source:
            return source.replace(quoted, expr, 1)
    return ""


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
    if shell:
        with _wrap_errors(location, what):
            return render_shell(source, variables, location, what)
    with _wrap_errors(location, what):
        match = _SINGLE_EXPRESSION.match(source)
        if match:
            return _evaluate(TEXT_ENV, match.group("expr"), variables)
        return _run(TEXT_ENV, source, variables)


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
