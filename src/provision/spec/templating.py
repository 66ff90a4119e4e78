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
import threading
import time
import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from provision.errors import InputError, Location

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


# ------------------------------------------------------------------ render bounds
# One render (with the variables it resolves on the way) may produce at most
# MAX_RENDER_CHARS characters, take MAX_RENDER_STEPS loop iterations and calls, and run
# MAX_RENDER_SECONDS: past any of them it stops with an input error naming file:line.
MAX_RENDER_CHARS = 16 * 1024 * 1024
MAX_RENDER_STEPS = 2_000_000
MAX_RENDER_ITEMS = 1_000_000  # list and mapping entries in one value (shared ones counted)
MAX_RENDER_SECONDS = 20.0
MAX_INT_BITS = 64 * 1024  # integers built by * and ** (about 20,000 digits)
_CHECK_CLOCK_EVERY = 1024


class RenderLimitError(OverflowError):
    """A template went past a render bound (mapped to an InputError with file:line)."""


class _Budget(threading.local):
    depth = 0
    steps = 0
    deadline = 0.0


_BUDGET = _Budget()


class _bounded:  # noqa: N801 - used as a context manager
    """The outermost render starts a fresh budget; renders nested in it share it."""

    def __enter__(self) -> None:
        if _BUDGET.depth == 0:
            _BUDGET.steps = 0
            _BUDGET.deadline = time.monotonic() + MAX_RENDER_SECONDS
        _BUDGET.depth += 1

    def __exit__(self, *exc: object) -> None:
        _BUDGET.depth -= 1


def _step(count: int = 1) -> None:
    _BUDGET.steps += count
    if _BUDGET.steps > MAX_RENDER_STEPS:
        raise RenderLimitError(
            f"rendering took more than {MAX_RENDER_STEPS} loop iterations and calls"
        )
    if _BUDGET.steps % _CHECK_CLOCK_EVERY < count and time.monotonic() > _BUDGET.deadline:
        raise RenderLimitError(f"rendering took longer than {MAX_RENDER_SECONDS:g} seconds")


def _too_big(what: str) -> RenderLimitError:
    return RenderLimitError(f"{what} would be larger than {MAX_RENDER_CHARS} characters")


def _weight(value: Any, limit: int = MAX_RENDER_CHARS) -> int:
    """About how many characters `value` prints as, counted up to just past `limit`
    (a list repeating itself through shared references counts every copy). Past
    MAX_RENDER_ITEMS entries the value counts as too large whatever its text."""
    total = 0
    items = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 4
        elif isinstance(item, dict):
            total += 2
            stack.extend(item.keys())
            stack.extend(item.values())
            items += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2
            stack.extend(item)
            items += len(item)
        else:
            total += 3
        if items > MAX_RENDER_ITEMS:
            return limit + 1
    return total


def _check_weight(value: Any, what: str) -> Any:
    if isinstance(value, list | tuple | dict | set | frozenset) and _weight(value) > (
        MAX_RENDER_CHARS
    ):
        raise _too_big(what)
    return value


_PERCENT_SPEC = re.compile(r"%[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


def _check_format(fmt: str, args: Iterable[Any], brace: bool) -> None:
    """Refuse a format string whose widths or precisions ask for a huge result."""
    dynamic = False
    specs = _BRACE_SPEC.findall(fmt) if brace else _PERCENT_SPEC.findall(fmt)
    for spec in specs:
        parts = [spec] if brace else list(spec)
        for part in parts:
            if "*" in part or "{" in part:
                dynamic = True
            for number in re.findall(r"\d+", part):
                if len(number) > 9 or int(number) > MAX_RENDER_CHARS:
                    raise _too_big("a formatted string")
    if dynamic:
        for arg in args:
            if isinstance(arg, int) and abs(arg) > MAX_RENDER_CHARS:
                raise _too_big("a formatted string")


def _sized(value: Any) -> int | None:
    if isinstance(value, str | bytes | list | tuple):
        return len(value)
    return None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if _sized(seq) is not None and isinstance(times, int):
                if times > 0 and _weight(seq) * times > MAX_RENDER_CHARS:
                    raise _too_big("a repeated value")
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise RenderLimitError("a product of two huge numbers")
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            if right > MAX_INT_BITS or left.bit_length() * right > MAX_INT_BITS:
                raise RenderLimitError(f"{left} ** {right} is too large a number")
    elif operator == "+":
        a, b = _sized(left), _sized(right)
        if a is not None and b is not None and a + b > MAX_RENDER_CHARS:
            raise _too_big("a joined value")
    elif operator == "%" and isinstance(left, str):
        args = right if isinstance(right, tuple) else (right,)
        _check_format(left, args, brace=False)


def _bounded_iter(iterable: Any) -> Iterator[Any]:
    """What every `{% for %}` loops over: each iteration is one step of the budget."""
    for item in iterable:
        _step()
        yield item


def _bounded_concat(items: list[Any]) -> str:
    """`a ~ b`: the joined text, refused when it would pass the size bound."""
    parts = [str(item) for item in items]
    if sum(len(part) for part in parts) > MAX_RENDER_CHARS:
        raise _too_big("a joined string (~)")
    _step()
    return "".join(parts)


def _bounded_output(value: Any) -> Any:
    """A `{{ value }}` in a template: a collection is weighed before it is printed."""
    return _check_weight(value, "a printed value")


def _checked_filter(name: str, check: Any) -> Any:
    original = FILTERS[name]
    skip = 0 if _PassArg.from_obj(original) is None else 1  # the context Jinja passes first

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check(*args[skip:], **kwargs)
        _step()
        return original(*args, **kwargs)

    return wrapper


def _check_width(value: Any, width: Any = 80, *rest: Any, **kwargs: Any) -> None:
    width = kwargs.get("width", width)
    lines = str(value).count("\n") + 1
    size = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if len(str(value)) + lines * size > MAX_RENDER_CHARS:
        raise _too_big("a padded or indented string")


def _check_replace(value: Any, old: Any = "", new: Any = "", *rest: Any, **kwargs: Any) -> None:
    text, old, new = str(value), str(old), str(new)
    count = text.count(old) if old else len(text) + 1
    if len(text) + count * max(0, len(new) - len(old)) > MAX_RENDER_CHARS:
        raise _too_big("a replaced string")


def _check_join(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, Iterable) and not isinstance(value, str):
        separator = args[0] if args else kwargs.get("d", "")
        items = value if isinstance(value, list | tuple) else []
        if _weight(list(items)) + len(items) * len(str(separator)) > MAX_RENDER_CHARS:
            raise _too_big("a joined string")


def _check_format_filter(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_format(str(value), [*args, *kwargs.values()], brace=False)


def _check_count(value: Any, count: Any = 1, *rest: Any, **kwargs: Any) -> None:
    if isinstance(count, int) and count > 100_000:
        raise RenderLimitError(f"a slice or batch count of {count} is too large")


def _check_nothing(*args: Any, **kwargs: Any) -> None:
    return None


_BOUNDED_FILTERS = {
    "center": _checked_filter("center", _check_width),
    "indent": _checked_filter("indent", _check_width),
    "replace": _checked_filter("replace", _check_replace),
    "join": _checked_filter("join", _check_join),
    "format": _checked_filter("format", _check_format_filter),
    "slice": _checked_filter("slice", _check_count),
    "batch": _checked_filter("batch", _check_count),
    "_bounded_iter": _bounded_iter,
    "_bounded_concat": _bounded_concat,
    "_bounded_output": _bounded_output,
}


class _BoundLoops(NodeTransformer):
    """Rewrites a parsed template so that loops, `~` and printed values are bounded."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 - visitor API
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_bounded_iter", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802 - visitor API
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, "_bounded_concat", [], [], None, None, lineno=node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:  # noqa: N802 - visitor API
        self.generic_visit(node)
        node.nodes = [
            child
            if isinstance(child, nodes.TemplateData)
            else nodes.Filter(child, "_bounded_output", [], [], None, None, lineno=child.lineno)
            for child in node.nodes
        ]
        return node


def _lipsum(n: int = 5, *args: Any, **kwargs: Any) -> str:
    if not isinstance(n, int) or n > 100:
        raise RenderLimitError("lipsum() makes at most 100 paragraphs here")
    return jinja2.utils.generate_lorem_ipsum(n, *args, **kwargs)


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox plus bounds on time, loop steps and the size of what it builds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters.update(_BOUNDED_FILTERS)
        self.globals["lipsum"] = _lipsum

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _BoundLoops().visit(tree)
        return tree

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        _step()
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _step()
        if isinstance(__obj, types.BuiltinMethodType) and isinstance(
            getattr(__obj, "__self__", None), str | bytes | list | tuple
        ):
            _check_method(__obj, args, kwargs)
        return SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(fmt, [*args, *kwargs.values()], brace=True)
            return wrapped(*args, **kwargs)

        return checked


def _check_method(method: Any, args: tuple, kwargs: dict) -> None:
    """`'x'.ljust(10**9)`, `s.replace('', s)`, `sep.join(items)` and the like."""
    owner = method.__self__
    name = method.__name__
    if name == "replace" and isinstance(owner, str) and len(args) >= 2:
        _check_replace(owner, args[0], args[1])
    elif name == "join" and args:
        _check_join(args[0], owner)
    for arg in [*args, *kwargs.values()]:
        if isinstance(arg, int) and not isinstance(arg, bool) and arg > MAX_RENDER_CHARS:
            raise _too_big(f"the result of {name}()")


def _make_environment(finalize: Any = None) -> jinja2.Environment:
    kwargs: dict[str, Any] = {
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
        "autoescape": False,
    }
    if finalize is not None:
        kwargs["finalize"] = finalize
    env = BoundedEnvironment(**kwargs)
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
    with _bounded():
        template = _compiled(env, source)
        context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
        parts: list[str] = []
        size = 0
        for part in template.root_render_func(context):
            size += len(part)
            if size > MAX_RENDER_CHARS:
                raise _too_big("the rendered text")
            _step()
            parts.append(part)
        return "".join(parts)


def _evaluate(env: jinja2.Environment, expression: str, variables: Mapping[str, Any]) -> Any:
    with _bounded():
        template = _compiled(env, "{%- set __result__ = (" + expression + ") -%}")
        context = template.new_context(variables, shared=True)  # type: ignore[arg-type]
        for _ in template.root_render_func(context):
            pass
        result = context.vars["__result__"]
        if isinstance(result, jinja2.Undefined):
            str(result)  # raises for StrictUndefined
        return _check_weight(result, "the value")


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
    source: str, variables: Mapping[str, Any], file: str, what: str = "template"
) -> str:
    """Render a template file's text; errors name the template file and line."""
    try:
        return _run(TEXT_ENV, source, variables)
    except Exception as exc:  # noqa: BLE001 - converted to an InputError below
        line = getattr(exc, "lineno", None) or _template_line(exc)
        with _wrap_errors(Location(file, line), f"{what} {file}"):
            raise


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised from, from Jinja's compiled frames."""
    import traceback

    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            line = template.get_corresponding_lineno(lineno)
    return line
