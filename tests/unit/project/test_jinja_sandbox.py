"""The Jinja2 sandbox holds: jinja2 >= 3.1.6, and the `|attr` route to str.format is closed.

CVE-2025-27516: before 3.1.6 the `attr` filter handed out `str.format` / `str.format_map`
unchecked, and a format string then reached any attribute (`{0.__class__.__mro__}` and on
to `__subclasses__` and `__globals__`): code execution from a template or a variable.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.project.templating import Variables, evaluate, render_string, render_template_file


def _release(text: str) -> tuple[int, ...]:
    """The leading numeric release of a version string: "3.2.0rc1" -> (3, 2, 0)."""
    match = re.match(r"\d+(?:\.\d+)*", text)
    assert match, text
    return tuple(int(part) for part in match.group().split("."))


@pytest.mark.parametrize(
    "text, expected",
    [("3.1.6", (3, 1, 6)), ("3.1.5", (3, 1, 5)), ("3.2.0rc1", (3, 2, 0)), ("3.10", (3, 10))],
)
def test_release_parsing(text: str, expected: tuple[int, ...]):
    assert _release(text) == expected


def test_installed_jinja2_has_the_sandbox_fix():
    assert _release(version("jinja2")) >= (3, 1, 6), version("jinja2")


def test_pyproject_requires_the_fixed_jinja2():
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert '"jinja2>=3.1.6"' in pyproject


VARIABLES = {
    "fmt": "{0.__class__.__mro__}",
    "named": "{a.__class__.__mro__}",
    "globals": "{0.__init__.__globals__}",
    "obj": {"k": 1},
}

ESCAPES = [
    "{{ '{0.__class__.__mro__}'|attr('format')(1) }}",
    "{{ fmt|attr('format')(1) }}",
    "{{ fmt|attr('format')(obj) }}",
    "{{ (fmt|attr('format'))(1) }}",
    "{% set f = fmt|attr('format') %}{{ f(1) }}",
    "{{ named|attr('format_map')({'a': 1}) }}",
    "{{ globals|attr('format')(lipsum) }}",
    "{{ globals|attr('format')(range) }}",
    "{{ fmt.format(1) }}",
    "{{ named.format_map({'a': 1}) }}",
    "{{ ''|attr('__class__') }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ obj|attr('__class__') }}",
    "{{ ''.__class__.__mro__ }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escape_is_refused_in_values(source: str):
    with pytest.raises(InputError) as caught:
        render_string(source, Variables(VARIABLES), None, "a value")
    assert "<class" not in str(caught.value)


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escape_is_refused_in_template_files(source: str):
    with pytest.raises(InputError):
        render_template_file(source + "\n", Variables(VARIABLES), "t.j2")


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escape_is_refused_in_shell_strings(source: str):
    with pytest.raises(InputError):
        render_string(source, Variables(VARIABLES), None, "a command", True)


@pytest.mark.parametrize(
    "expression",
    ["(fmt|attr('format'))(1) != ''", "named|attr('format_map')({'a': 1})"],
)
def test_sandbox_escape_is_refused_in_conditions(expression: str):
    with pytest.raises(InputError):
        evaluate(expression, Variables(VARIABLES), None, "`when`")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ '{0}-{1}'|attr('format')('a', 'b') }}", "a-b"),
        ("{{ '{x}'.format_map({'x': 7}) }}", "7"),
        ("{{ 'v={}'.format(3) }}", "v=3"),
    ],
)
def test_plain_formatting_still_works(source: str, expected: str):
    assert str(render_string(source, Variables(VARIABLES), None, "a value")) == expected
