"""Jinja2 rendering of variables, task arguments and templates (StrictUndefined everywhere).

Variables are resolved lazily, as Ansible does: a variable whose value is itself a
template is rendered when first used, against the same variables. A string that is
exactly one `{{ expr }}` keeps the expression's native type (a list stays a list).
Shell strings are rendered with every `{{ value }}` quoted for `sh` by the engine, and
only where the shell reads it as (part of) a plain word (see `shellsafe`).
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import hashlib
import json
import os
import re
import secrets
import shlex
import sys
import threading
import time
import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.filters import FILTERS
from jinja2.optimizer import Optimizer
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from provision.errors import InputError, Location
from provision.project import codecache, fileformats, jinjafilters, jinjatests, shellsafe
from provision.project.yamlfile import UnsafeText

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
    return json.dumps(jinjafilters.plain(value), indent=indent, sort_keys=True, ensure_ascii=False)


# ------------------------------------------------------------------ render bounds
# One render (with the variables it resolves on the way) may produce at most
# MAX_RENDER_CHARS characters, take MAX_RENDER_STEPS loop iterations and calls, and run
# MAX_RENDER_SECONDS: past any of them it stops with an input error naming file:line.
MAX_RENDER_CHARS = 16 * 1024 * 1024
MAX_RENDER_STEPS = 2_000_000
MAX_RENDER_ITEMS = 1_000_000  # list and mapping entries in one value (shared ones counted)
MAX_RENDER_SECONDS = 10.0
# What one filter call takes in (filters in CHEAP_FILTERS excepted): a filter's own cost
# (wordwrap, sort, pprint...) runs inside one call, where no step or clock check reaches.
MAX_FILTER_INPUT_CHARS = 1024 * 1024  # text, or the printed size of a list or mapping
MAX_FILTER_INPUT_ITEMS = 100_000  # entries of a list or mapping
# Filters that take constant time or one pass at most the size of what they return.
CHEAP_FILTERS = frozenset(
    {"length", "count", "first", "last", "default", "d", "bool", "string", "mandatory"}
    | {"int", "float", "abs"}
)
MAX_INT_BITS = 64 * 1024  # integers built by * and ** (about 20,000 digits)
_CHECK_CLOCK_EVERY = 1024
# A macro call costs about as much as this many loop iterations: weighing it so keeps a
# runaway macro recursion within the step bound long before the clock bound.
MACRO_CALL_STEPS = 16


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
        _check_filter_input(name, args[skip:])
        _step()
        return original(*args, **kwargs)

    wrapper._provision_checked = True  # type: ignore[attr-defined]
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


def _check_wordwrap(value: Any, width: Any = 79, *rest: Any, **kwargs: Any) -> None:
    # textwrap cuts a long word one width at a time, copying the rest each time: the cost
    # grows as length * length / width.
    width = kwargs.get("width", width)
    size = len(str(value))
    if isinstance(width, int) and size * size // max(width, 1) > 10**11:
        raise RenderLimitError(
            f"wordwrap of {size} characters at width {width} would take too long"
        )


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
    "wordwrap": _checked_filter("wordwrap", _check_wordwrap),
    "_bounded_iter": _bounded_iter,
    "_bounded_concat": _bounded_concat,
    "_bounded_output": _bounded_output,
}


def _filter_input_problem(value: Any) -> str:
    """Why `value` is too large to hand to a filter, or ""."""
    if isinstance(value, str | bytes):
        if len(value) > MAX_FILTER_INPUT_CHARS:
            return f"{len(value)} characters (at most {MAX_FILTER_INPUT_CHARS})"
    elif isinstance(value, list | tuple | dict | set | frozenset | range):
        if len(value) > MAX_FILTER_INPUT_ITEMS:
            return f"{len(value)} items (at most {MAX_FILTER_INPUT_ITEMS})"
        if not isinstance(value, range) and _weight(value, MAX_FILTER_INPUT_CHARS) > (
            MAX_FILTER_INPUT_CHARS
        ):
            return f"a value printing as more than {MAX_FILTER_INPUT_CHARS} characters"
    return ""


def _check_filter_input(name: str, args: tuple) -> None:
    problem = _filter_input_problem(args[0]) if args else ""
    if problem:
        raise RenderLimitError(f"the `{name}` filter was given {problem}")


def _counted(items: Iterator[Any]) -> Iterator[Any]:
    """A lazy filter result (map, select...): each item it yields is a render step."""
    for item in items:
        _step()
        yield item


def _guarded_filter(name: str, original: Any) -> Any:
    """`original` with the render bounds in front of it: the clock is checked before the
    call, and an input larger than MAX_FILTER_INPUT_* is refused unless the filter is
    cheap (CHEAP_FILTERS)."""
    if getattr(original, "_provision_guarded", False):
        return original
    skip = 0 if _PassArg.from_obj(original) is None else 1  # the context Jinja passes first
    # cheap, or already checked (its own check first, for its more precise message)
    cheap = name in CHEAP_FILTERS or getattr(original, "_provision_checked", False)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _BUDGET.depth > 0 and time.monotonic() > _BUDGET.deadline:
            raise RenderLimitError(f"rendering took longer than {MAX_RENDER_SECONDS:g} seconds")
        if not cheap:
            _check_filter_input(name, args[skip:])
        _step()
        result = original(*args, **kwargs)
        if isinstance(result, types.GeneratorType):
            return _counted(result)
        return result

    wrapper._provision_guarded = True  # type: ignore[attr-defined]
    return wrapper


def _guard_filters(env: jinja2.Environment, internal: Iterable[str] = ()) -> None:
    """Put every filter of `env` (but the engine's own `internal` ones) behind the bounds."""
    skip = {"_bounded_iter", "_bounded_concat", "_bounded_output", *internal}
    for name, func in list(env.filters.items()):
        if name not in skip:
            env.filters[name] = _guarded_filter(name, func)


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


# While a template compiles for the code cache: the names of the filters and tests that
# are not Jinja's own whose result Jinja folded into the code (such code is not cached:
# it would hold a computed value, see codecache).
_FOLDED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "provision_folded", default=None
)


def _note_fold(node: nodes.Node, env: jinja2.Environment) -> None:
    """`node` was folded into a constant: note each filter or test in it not Jinja's own."""
    folded = _FOLDED.get()
    if folded is None:
        return
    for found in [node, *node.find_all((nodes.Filter, nodes.Test))]:
        if isinstance(found, nodes.Filter):
            builtin = jinja2.filters.FILTERS.get(found.name)
            if found.name not in _INTERNAL_FILTERS and (
                builtin is None or _unwrapped(env.filters.get(found.name)) is not builtin
            ):
                folded.append(found.name)
        elif isinstance(found, nodes.Test):
            builtin = jinja2.tests.TESTS.get(found.name)
            if builtin is None or _unwrapped(env.tests.get(found.name)) is not builtin:
                folded.append(found.name)


def _unwrapped(func: Any) -> Any:
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return func


_INTERNAL_FILTERS = frozenset({"_bounded_output", "_bounded_concat"})


class _WatchedOptimizer(Optimizer):
    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        result = super().generic_visit(node, *args, **kwargs)
        if result is not node and self.environment is not None:
            _note_fold(node, self.environment)
        return result


class _WatchedCodeGenerator(CodeGenerator):
    """Jinja's code generator, noting each constant it folds (see `_note_fold`)."""

    def __init__(self, environment: jinja2.Environment, *args: Any, **kwargs: Any) -> None:
        super().__init__(environment, *args, **kwargs)
        if self.optimizer is not None:
            self.optimizer = _WatchedOptimizer(environment)

    def _output_child_to_const(self, node: nodes.Expr, frame: Any, finalize: Any) -> str:
        result = super()._output_child_to_const(node, frame, finalize)
        _note_fold(node, self.environment)
        return result


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox plus bounds on time, loop steps and the size of what it builds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _WatchedCodeGenerator

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
        _step(MACRO_CALL_STEPS if isinstance(__obj, jinja2.runtime.Macro) else 1)
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
    env.filters.update(jinjafilters.FILTERS)
    env.filters["tojson"] = _to_json
    env.tests.update(jinjatests.TESTS)
    env.globals.update(jinjafilters.GLOBALS)
    _guard_filters(env)
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
_guard_filters(SHELL_ENV, internal=[_SHELL_WORD])


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


def _compiled_shell(source: str) -> _ShellTemplate:
    if codecache.in_secret_scope():
        _taint(SHELL_ENV, source)
    return _compiled_shell_once(source)


@functools.lru_cache(maxsize=4096)
def _compiled_shell_once(source: str) -> _ShellTemplate:
    found = _cached(SHELL_ENV, source)
    if found is not None:
        template, expressions = found
        return _ShellTemplate(template, [(str(e), int(n)) for e, n in expressions])
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
    template, _ = _load_or_compile(SHELL_ENV, tree, source, expressions, look=False)
    return _ShellTemplate(template, expressions)


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
    "arith": "compare it with [ ] as an argument: [ {expr} -gt 1 ] (sh), or use the argv form",
    "test": "use [ ] or test instead of [[ ]]: [ -f {expr} ]",
    "comment": "a comment cannot hold a value: take it out of the comment",
    "heredoc": "pass the value as an argument instead (printf '%s\\n' {expr} > FILE), or "
    "write the file with a `copy` or `template` task",
    "heredoc-word": "write the here-document delimiter literally (<<'EOF')",
    "escaped": "remove the backslash before it",
    "dollar": "remove the $ before it",
    "eval": "do not hand a value to a command that runs its argument as shell code",
    "name": "do not put a value in a variable name or assignment (bash evaluates a[...] and"
    " arithmetic there): give the command as a list of words (argv form), or pass the value"
    " as an argument",
    "dyncommand": "write the command name as a plain word (not $var, $(...) or a value),"
    " with no options to a prefix such as sudo or timeout before it; or use the argv form",
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
            "to_json": lambda v, indent=None, **kw: JsonText(jinjafilters.to_json(v, indent, **kw)),
            "to_nice_json": lambda v, indent=4, **kw: JsonText(
                jinjafilters.to_nice_json(v, indent, **kw)
            ),
        }
    )
    _guard_filters(env)
    return env


MARKING_ENV = _make_environment(_marking_finalize)
JSON_ENV = _json_environment()
_ENV_NAMES = {id(TEXT_ENV): "text", id(SHELL_ENV): "shell", id(MARKING_ENV): "marking"}
_ENV_NAMES[id(JSON_ENV)] = "json"


_ENV_IDS: dict[int, str] = {}


def _env_id(env: jinja2.Environment) -> str | None:
    """What of `env` changes the code it generates (see codecache), computed once; None
    for an environment other than the four above (its templates are not cached)."""
    known = _ENV_IDS.get(id(env))
    if known is not None:
        return known
    name = _ENV_NAMES.get(id(env))
    if name is None:
        return None
    settings = [
        name,
        f"{type(env).__module__}.{type(env).__qualname__}",
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.autoescape,
        env.is_async,
        getattr(env.finalize, "__qualname__", repr(env.finalize)),
        _PassArg.from_obj(env.finalize) if env.finalize else None,
        sorted(env.extensions),
        sorted(getattr(env, "intercepted_binops", ())),
        sorted(getattr(env, "intercepted_unops", ())),
        sorted((n, str(_PassArg.from_obj(f))) for n, f in env.filters.items()),
        sorted((n, str(_PassArg.from_obj(f))) for n, f in env.tests.items()),
    ]
    _ENV_IDS[id(env)] = name + ":" + hashlib.sha256(repr(settings).encode()).hexdigest()
    return _ENV_IDS[id(env)]


# The connection passwords: their values are always secrets (compile masks them, magicvars
# makes another host's a secret of the run), and their templates are rendered in a
# codecache.secret_scope, so never written to the code cache.
PASSWORD_VARIABLES = (
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_become_password",
    "ansible_become_pass",
)


class Variables(Mapping):
    """The variables of one host in one play, rendered on first use."""

    # names whose values are secrets besides PASSWORD_VARIABLES (magicvars' hostvars sets it)
    secret_names: set[str] | frozenset[str] = frozenset()

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
            if name in PASSWORD_VARIABLES or name in self.secret_names:
                with codecache.secret_scope():
                    value = render_value(self._raw[name], self, self._origins.get(name))
            else:
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
        """The variables as written, unrendered (which facts a template reads is found
        from them)."""
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


def _compiled(env: jinja2.Environment, source: str) -> jinja2.Template:
    """Compiled once per distinct text: the same task strings render for every host (and
    across runs, through the code cache: see codecache)."""
    if codecache.in_secret_scope():
        _taint(env, source)
    return _compiled_once(env, source)


def _taint(env: jinja2.Environment, source: str) -> None:
    env_id = _env_id(env)
    cache = codecache.active() if env_id is not None else None
    if cache is not None and env_id is not None:
        cache.taint(env_id, source)


@functools.lru_cache(maxsize=8192)
def _compiled_once(env: jinja2.Environment, source: str) -> jinja2.Template:
    return _load_or_compile(env, source)[0]


def _cached(env: jinja2.Environment, text: str) -> tuple[jinja2.Template, Any] | None:
    """The template of `text` and the value kept beside its code, from the code cache; None
    on a miss, with the cache off, or for an environment whose templates are not cached."""
    env_id = _env_id(env)
    cache = codecache.active() if env_id is not None else None
    hit = cache.get(env_id, text) if cache is not None and env_id is not None else None
    if hit is None:
        return None
    code, extra = hit
    return env.template_class.from_code(env, code, env.make_globals(None)), extra


def _load_or_compile(
    env: jinja2.Environment,
    source: str | nodes.Template,
    key: str | None = None,
    extra: Any = None,
    look: bool = True,
) -> tuple[jinja2.Template, Any]:
    """The template of `source` (a text, or for shell strings a rewritten tree whose text
    is `key`), from the code cache when it has it; `extra` (a marshal-able value) is kept
    beside its code and given back on a hit. Exactly what `env.from_string` makes."""
    text = source if isinstance(source, str) else key
    if look and text is not None:
        found = _cached(env, text)
        if found is not None:
            return found
    env_id = _env_id(env)
    cache = codecache.active() if env_id is not None and text is not None else None
    token = _FOLDED.set([])
    try:
        code = env.compile(source)
        folded = _FOLDED.get()
    finally:
        _FOLDED.reset(token)
    template = env.template_class.from_code(env, code, env.make_globals(None))
    if cache is not None and not folded:
        assert env_id is not None and text is not None
        cache.put(env_id, text, code, extra)
    return template, extra


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


_UNKNOWN_NAME = re.compile(r"No (?P<kind>test|filter) named '(?P<name>[^']*)'")


def _unknown_name_error(message: str, location: Location | None, what: str) -> InputError:
    """`x is frob` / `x | frob`: name the test or filter, and the closest known one."""
    found = _UNKNOWN_NAME.match(message)
    assert found is not None
    kind, name = found.group("kind"), found.group("name")
    known = sorted(TEXT_ENV.tests if kind == "test" else TEXT_ENV.filters)
    known = [k for k in known if k.isidentifier()]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    listed = "tests: " + ", ".join(known) if kind == "test" else "filters: see docs/ansible.md"
    return InputError(
        f"unknown Jinja {kind} `{name}` (in {what}): provision does not have it",
        location,
        hint=hint + listed,
    )


class _ErrorWrapper:
    """Turns a rendering error into an InputError naming `what` and `location` (one class,
    made once: a class made per call cost ~40 us, ~1,000 times at 10 hosts)."""

    __slots__ = ("location", "what")

    def __init__(self, location: Location | None, what: str) -> None:
        self.location = location
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        location, what = self.location, self.what
        if exc is None or isinstance(exc, InputError):
            return False
        if isinstance(exc, _MissingVariable):
            raise InputError(f"{exc.why}: {exc.name} (in {what})", location) from None
        if isinstance(exc, jinja2.UndefinedError):
            raise InputError(
                f"undefined variable: {_undefined_name(exc)} (in {what})", location
            ) from None
        if isinstance(exc, jinja2.TemplateError) and _UNKNOWN_NAME.match(exc.message or ""):
            raise _unknown_name_error(exc.message or "", location, what) from None
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


def _wrap_errors(location: Location | None, what: str) -> Any:
    return _ErrorWrapper(location, what)


def render_string(
    source: str,
    variables: Mapping[str, Any],
    location: Location | None = None,
    what: str = "a value",
    shell: bool = False,
) -> Any:
    """Render one string; a lone `{{ expr }}` keeps its native type (not for shell strings).
    A `!unsafe` string is used as written."""
    if "{" not in source or isinstance(source, UnsafeText):
        return source
    if shell:
        with _wrap_errors(location, what):
            return render_shell(source, variables, location, what)
    with _wrap_errors(location, what):
        match = _SINGLE_EXPRESSION.match(source)
        if match:
            return _evaluate(TEXT_ENV, match.group("expr"), variables)
        return _run(TEXT_ENV, source, variables)


def render_nested(source: str, variables: Mapping[str, Any]) -> str:
    """A template rendered inside a render (`lookup('template')`): it shares the outer
    render's bounds."""
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
    if env is not TEXT_ENV:
        _refuse_filter_blocks(env, source, file, what, fmt, where)
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


@functools.lru_cache(maxsize=1024)
def _filter_block_line(env: jinja2.Environment, source: str) -> int | None:
    """The line of the first `{% filter %}` block (or filtered `{% set %}` block), if any."""
    try:
        tree = env.parse(source)
    except jinja2.TemplateError:
        return None  # rendering reports the syntax error
    for node in tree.find_all((nodes.FilterBlock, nodes.AssignBlock)):
        if isinstance(node, nodes.FilterBlock) or node.filter is not None:
            return node.lineno
    return None


def _refuse_filter_blocks(
    env: jinja2.Environment, source: str, file: str, what: str, fmt: str, where: Location | None
) -> None:
    """A filter block's output is never checked value by value: refused in checked formats."""
    line = _filter_block_line(env, source)
    if line is None:
        return
    place = f"{what} {file}" if where is None else what + f" (line {line})"
    raise InputError(
        f"{place}, {fileformats.a_format(fmt)} file: `{{% filter %}}` blocks (and filtered "
        "`{% set %}` blocks) are not allowed: their output is not checked value by value",
        where or Location(file, line),
        hint="use `{{ value | filter }}` instead; `format: raw` on the task turns these "
        "checks off for a file that has no lines or keys",
    )


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
