"""Ansible's Jinja tests (match, search, regex, version, subset, superset, contains, truthy,
falsy, ...) against ansible-core's own implementations on a table of hostile inputs, plus
the errors: an unknown test names itself with file:line, a risky pattern is refused."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.project import jinjatests
from provision.project.templating import TEXT_ENV, Variables, evaluate, render_string

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    core = pytest.importorskip("ansible.plugins.test.core")
    mathstuff = pytest.importorskip("ansible.plugins.test.mathstuff")

WHERE = Location("roles/web/tasks/main.yml", 7)

TEXTS = [
    "plain",
    "",
    'it\'s "quoted" `back` $(x) ;|&',
    "line1\nline2\r\nline3\rline4\vline5\fline6\x85line7\u2028line8\u2029end",
    "ctrl\x00\x01\x1b[31m\x7f",
    "-leading-dash",
    "../../etc/passwd",
    "ünïcödé ✓ 秘密 \U0001f600",
    "x" * 200_000 + "end",
    "Rocky Linux release 9.4 (Blue Onyx)",
]
PATTERNS = [
    "^line",
    "end$",
    "(?m)^line3",
    r"\d+\.\d+",
    "LINE",
    r"^-",
    r"\.\./",
    "秘密",
    "x{3}e",
    "",
]


def when(expression: str, **variables: Any) -> Any:
    return evaluate(expression, Variables(variables), WHERE, "when")


@pytest.mark.parametrize("text", TEXTS, ids=[f"t{i}" for i in range(len(TEXTS))])
@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("test", ["match", "search", "regex"])
@pytest.mark.parametrize("flags", ["", ", ignorecase=true", ", multiline=true"])
def test_regex_tests_match_ansible(text: str, pattern: str, test: str, flags: str) -> None:
    ignorecase = "ignorecase" in flags
    multiline = "multiline" in flags
    expected = getattr(core, test)(text, pattern, ignorecase, multiline)
    assert when(f"value is {test}(pattern{flags})", value=text, pattern=pattern) is expected
    assert when(f"value is not {test}(pattern{flags})", value=text, pattern=pattern) is (
        not expected
    )


@pytest.mark.parametrize("match_type", ["match", "search", "fullmatch"])
def test_regex_match_type(match_type: str) -> None:
    expected = core.regex("abc", "b.", match_type=match_type)
    assert when(f"'abc' is regex('b.', match_type='{match_type}')") is expected


def test_regex_tests_in_select() -> None:
    out = render_string(
        "{{ names | select('match', 'web') | list }}",
        Variables({"names": ["web1", "db1", "webby", "aweb"]}),
        WHERE,
    )
    assert out == ["web1", "webby"]


VERSIONS = [
    ("1.2.3", "1.2.3", "=="),
    ("1.2.3", "1.10", "<"),
    ("1.10", "1.9", ">"),
    ("2.0", "2.0.0", "=="),
    ("2.0", "2.0.0", "<"),
    ("9.4", "9", ">="),
    ("5.14.0-427.el9.x86_64", "5.14.0-362.el9.x86_64", "gt"),
    ("1.0rc1", "1.0", ">"),
    ("24.0.7", "24.0.10", "lt"),
    ("1.2.3", "1.2.4", "!="),
    ("1.2.3", "1.2.4", "<>"),
    ("1.2.3", "1.2.3", "ne"),
    ("1.2.3", "1.2.3", "le"),
    ("1.2.3", "1.2.3", "ge"),
    ("3", "3.0", "eq"),
    (1.10, "1.1", "=="),
    (9, "10", "<"),
    ("1.0-ALPHA", "1.0-BETA", "<"),
]


@pytest.mark.parametrize("left, right, op", VERSIONS)
@pytest.mark.parametrize("test", ["version", "version_compare"])
def test_version_loose_matches_ansible(left: Any, right: Any, op: str, test: str) -> None:
    expected = core.version_compare(left, right, op)
    assert when(f"a is {test}(b, op)", a=left, b=right, op=op) is expected


STRICT = [
    ("1.2", "1.2.0", "=="),
    ("1.2a1", "1.2", "<"),
    ("1.2b1", "1.2a2", ">"),
    ("1.2.3", "1.2.10", "<"),
    ("0.4", "0.4.1", "<"),
    ("1.2b3", "1.2b3", "=="),
]


@pytest.mark.parametrize("left, right, op", STRICT)
def test_version_strict_matches_ansible(left: str, right: str, op: str) -> None:
    expected = core.version_compare(left, right, op, strict=True)
    assert when("a is version(b, op, strict=true)", a=left, b=right, op=op) is expected
    expected = core.version_compare(left, right, op, version_type="strict")
    assert when("a is version(b, op, version_type='strict')", a=left, b=right, op=op) is expected


SEMVER = [
    ("1.0.0-alpha", "1.0.0-alpha.1", "<"),
    ("1.0.0-alpha.1", "1.0.0-alpha.beta", "<"),
    ("1.0.0-alpha.beta", "1.0.0-beta", "<"),
    ("1.0.0-beta.2", "1.0.0-beta.11", "<"),
    ("1.0.0-rc.1", "1.0.0", "<"),
    ("1.0.0+build.1", "1.0.0+build.2", "=="),
    ("2.0.0", "10.0.0", "<"),
    ("1.0.0-1", "1.0.0-a", "<"),
    ("1.0.0-a", "1.0.0-1", ">"),
]


@pytest.mark.parametrize("left, right, op", SEMVER)
@pytest.mark.parametrize("kind", ["semver", "semantic"])
def test_version_semver_matches_ansible(left: str, right: str, op: str, kind: str) -> None:
    expected = core.version_compare(left, right, op, version_type=kind)
    assert when(f"a is version(b, op, version_type='{kind}')", a=left, b=right, op=op) is expected


BAD_VERSIONS = [
    ("a is version('1.0', '>=')", {"a": ""}, "cannot be empty"),
    ("a is version('', '>=')", {"a": "1.0"}, "cannot be empty"),
    ("a is version('1.0', '=>')", {"a": "1.0"}, "invalid operator '=>'"),
    ("a is version('1.0', 'gte')", {"a": "1.0"}, "invalid operator"),
    ("a is version('1.0', version_type='pep440')", {"a": "1.0"}, "'pep440' is not supported"),
    ("a is version('1.0', version_type='calver')", {"a": "1.0"}, "invalid version type"),
    ("a is version('1.0', strict=true, version_type='loose')", {"a": "1"}, "not both"),
    ("a is version('1.0', strict=true)", {"a": "1.0.0.0"}, "invalid version number"),
    ("a is version('1.0', version_type='semver')", {"a": "1.0.0"}, "invalid semantic version"),
    ("a is version('1.1', '<')", {"a": "1.a"}, "cannot be compared"),
    ("a is version('1.1', '<')", {"a": "1." + "1" * 2000}, "longer than 1024"),
    ("a is version('1.1', '<')", {"a": "1.0\n2.0"}, None),  # loose: compared part by part
]


@pytest.mark.parametrize("expression, variables, message", BAD_VERSIONS)
def test_version_errors_name_the_problem(
    expression: str, variables: dict, message: str | None
) -> None:
    if message is None:
        assert when(expression, **variables) is core.version_compare(variables["a"], "1.1", "<")
        return
    with pytest.raises(InputError) as caught:
        when(expression, **variables)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{WHERE}: ")


SETS = [
    ([1, 2], [1, 2, 3]),
    ([1, 2, 3], [1, 2]),
    ([], [1]),
    ([1], []),
    ([], []),
    (["a", "b"], ["b", "a"]),
    ("ab", "abc"),
    (["x\n", "x"], ["x"]),
    ({"k": 1}, ["k", "j"]),
]


@pytest.mark.parametrize("a, b", SETS)
def test_subset_superset_match_ansible(a: Any, b: Any) -> None:
    for name in ("subset", "issubset"):
        assert when(f"a is {name}(b)", a=a, b=b) is mathstuff.issubset(a, b)
    for name in ("superset", "issuperset"):
        assert when(f"a is {name}(b)", a=a, b=b) is mathstuff.issuperset(a, b)


CONTAINS = [
    ([1, 2], 1),
    ([1, 2], 3),
    (["a", "b"], "a"),
    ("abc", "b"),
    ({"k": 1}, "k"),
    ([], "x"),
    (["line\u2028"], "line"),
]


@pytest.mark.parametrize("seq, value", CONTAINS)
def test_contains_matches_ansible(seq: Any, value: Any) -> None:
    assert when("seq is contains(v)", seq=seq, v=value) is mathstuff.contains(seq, value)


def test_contains_in_select() -> None:
    out = render_string(
        "{{ users | selectattr('groups', 'contains', 'wheel') | map(attribute='name') | list }}",
        Variables({"users": [{"name": "a", "groups": ["wheel"]}, {"name": "b", "groups": []}]}),
        WHERE,
    )
    assert out == ["a"]


TRUTH = [
    True,
    False,
    0,
    1,
    2,
    0.0,
    1.0,
    "",
    "x",
    "no",
    "No ",
    "off",
    "0",
    "false",
    "f",
    "n",
    "yes",
    "on",
    "1",
    "true",
    "T",
    "maybe",
    [],
    [0],
    {},
    None,
]


@pytest.mark.parametrize("value", TRUTH, ids=[repr(v) for v in TRUTH])
@pytest.mark.parametrize("convert", [False, True])
def test_truthy_falsy_match_ansible(value: Any, convert: bool) -> None:
    assert when(f"v is truthy(convert_bool={convert})", v=value) is core.truthy(value, convert)
    assert when(f"v is falsy(convert_bool={convert})", v=value) is core.falsy(value, convert)


@pytest.mark.parametrize("value", [[], [0, 1], [1, 1], [0], "ab"])
def test_any_all_nan(value: Any) -> None:
    assert when("v is any", v=value) is any(value)
    assert when("v is all", v=value) is all(value)
    assert when("v is nan", v=float("nan")) is True
    assert when("v is nan", v="x") is False


RISKY = ["(a+)+", "(a|ab)*", r"(x)\1", "[", "(?P<n>"]


@pytest.mark.parametrize("pattern", RISKY)
@pytest.mark.parametrize("test", ["match", "search", "regex"])
def test_risky_or_invalid_patterns_are_input_errors(pattern: str, test: str) -> None:
    with pytest.raises(InputError) as caught:
        when(f"'aaaa' is {test}(p)", p=pattern)
    assert str(caught.value).startswith(f"{WHERE}: ")


def test_regex_match_type_other_than_re_methods_is_refused() -> None:
    with pytest.raises(InputError, match="match_type must be one of"):
        when("'a' is regex('a', match_type='sub')")


def test_a_huge_value_is_refused_by_the_regex_tests() -> None:
    with pytest.raises(InputError, match="at most 1048576 characters"):
        when("v is search('x')", v="x" * (2 * 1024 * 1024))


UNKNOWN = [
    ("x is serach('a')", "unknown Jinja test `serach`", "did you mean `search`?"),
    ("x is version_cmp('1')", "unknown Jinja test `version_cmp`", "version_compare"),
    ("x is frobnicated", "unknown Jinja test `frobnicated`", "tests: "),
    ("x is file", "unknown Jinja test `file`", "tests: "),
    ("x | regex_replce('a')", "unknown Jinja filter `regex_replce`", "regex_replace"),
]


@pytest.mark.parametrize("expression, message, hint", UNKNOWN)
def test_unknown_test_or_filter_names_itself_with_file_line(
    expression: str, message: str, hint: str
) -> None:
    with pytest.raises(InputError) as caught:
        when(expression, x="1")
    assert caught.value.location == WHERE
    assert message in caught.value.message
    assert hint in caught.value.hint


def test_unknown_test_in_a_template_value_names_the_file_line() -> None:
    with pytest.raises(InputError) as caught:
        render_string("{{ 'a' if x is truthyy else 'b' }}", Variables({"x": 1}), WHERE)
    assert caught.value.location == WHERE
    assert "unknown Jinja test `truthyy`" in str(caught.value)
    assert "did you mean `truthy`?" in str(caught.value)


def test_every_test_is_in_the_template_environment() -> None:
    for name in jinjatests.TESTS:
        assert name in TEXT_ENV.tests
