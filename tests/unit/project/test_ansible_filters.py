"""Ansible's filters here against Ansible's own implementations (ansible-core in the dev
venv) on a table of hostile inputs, plus the bounds each one keeps."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.project import jinjafilters
from provision.project.templating import Variables, render_string

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    core = pytest.importorskip("ansible.plugins.filter.core")

TEXTS = [
    "plain",
    "",
    'it\'s "quoted" `back` $(x) ;|&',
    "line1\nline2\r\nline3\rline4\vline5\fline6\x85line7\u2028line8\u2029end",
    "ctrl\x00\x01\x1b[31m\x7f",
    "-leading-dash",
    "../../etc/passwd",
    "ünïcödé ✓ 秘密 \U0001f600",
    "x" * 200_000,
    "a { b } c {",
]
IDS = [f"t{i}" for i in range(len(TEXTS))]
WHERE = Location("site.yml", 3)


def render(source: str, **variables: Any) -> Any:
    return render_string(source, Variables(variables), WHERE, "test")


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
@pytest.mark.parametrize(
    "pattern, replacement",
    [("l(ine)", r"L\1"), (r"\s", "_"), ("^", ">"), ("(?P<w>x)", r"\g<w>y"), ("$", "!")],
)
def test_regex_replace_matches_ansible(text: str, pattern: str, replacement: str) -> None:
    got = render("{{ t | regex_replace(p, r) }}", t=text, p=pattern, r=replacement)
    assert got == core.regex_replace(text, pattern, replacement)


@pytest.mark.parametrize("text", [*TEXTS, "/etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce", "a.b*c[d]^$\\"])
@pytest.mark.parametrize("re_type", ["python", "posix_basic"])
def test_regex_escape_matches_ansible(text: str, re_type: str) -> None:
    got = render("{{ t | regex_escape(k) }}", t=text, k=re_type)
    assert got == core.regex_escape(text, re_type)
    if re_type == "python":
        assert re.fullmatch(got, text)


@pytest.mark.parametrize("re_type", ["posix_extended", "perl", ""])
def test_regex_escape_other_types_refused(re_type: str) -> None:
    with pytest.raises(InputError, match="re_type"):
        render("{{ 'a.b' | regex_escape(k) }}", k=re_type)


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
@pytest.mark.parametrize("pattern", [r"l(ine)(\d)", r"\d+", "zzz", "(?i)LINE"])
def test_regex_search_matches_ansible(text: str, pattern: str) -> None:
    assert render("{{ t | regex_search(p) }}", t=text, p=pattern) == core.regex_search(
        text, pattern
    )


def test_regex_search_groups() -> None:
    assert render("{{ 'abc123' | regex_search('(\\\\d)(\\\\d)', '\\\\2', '\\\\1') }}") == ["2", "1"]
    assert render("{{ 'k=v' | regex_search('(?P<k>\\\\w)=', '\\\\g<k>') }}") == ["k"]


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", "(a|aa)*b", r"(\w+\s?)*$", r"(x)\1", "([a-z]*)*"],
)
def test_backtracking_patterns_refused(pattern: str) -> None:
    with pytest.raises(InputError, match="is refused") as caught:
        render("{{ t | regex_replace(p, '') }}", t="a" * 40 + "!", p=pattern)
    assert caught.value.location == WHERE


def test_regex_replace_output_is_bounded() -> None:
    with pytest.raises(InputError, match="more than"):
        render("{{ t | regex_replace('', r) }}", t="x" * 500_000, r="y" * 100)


def test_invalid_regex_is_input_error() -> None:
    with pytest.raises(InputError, match="invalid regular expression"):
        render("{{ 'a' | regex_replace('(', '') }}")


@pytest.mark.parametrize("text", TEXTS, ids=IDS)
def test_b64_round_trip_matches_ansible(text: str) -> None:
    encoded = render("{{ t | b64encode }}", t=text)
    assert encoded == core.b64encode(text)
    assert render("{{ t | b64decode }}", t=encoded) == text


@pytest.mark.parametrize("bad", ["\xff\xfe", "//79"])
def test_b64decode_bad_input(bad: str) -> None:
    with pytest.raises(InputError):
        render("{{ t | b64decode }}", t=bad)


DATA = [
    {"b": 1, "a": [1, 2, {"z": None, "y": True}], "c": "x\ny"},
    ["a", "b\u2028c", {"k": 1.5}],
    {"quote": 'it\'s "x"', "nl": "a\r\nb", "ctl": "\x01\x1b"},
    {"unicode": "秘密", "empty": {}, "list": []},
    {"long": "word " * 40},
]


@pytest.mark.parametrize("data", DATA, ids=range(len(DATA)))
def test_json_and_yaml_match_ansible(data: Any) -> None:
    for name in ("to_json", "to_nice_json", "to_yaml", "to_nice_yaml"):
        got = render("{{ d | " + name + " }}", d=data)
        assert got == getattr(core, name)(data), name
    assert render("{{ d | to_json | from_json }}", d=data) == data
    assert render("{{ d | to_nice_yaml | from_yaml }}", d=data) == data


@pytest.mark.parametrize(
    "text, words",
    [
        ("{", "not JSON"),
        ("[" * 100_000, "cannot render"),
    ],
)
def test_from_json_errors(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        render("{{ t | from_json }}", t=text)


@pytest.mark.parametrize(
    "text, words",
    [
        ("a: [", "YAML syntax error"),
        ("a: !!python/object:os.system x", "could not determine|constructor"),
        (
            "a: &x [1]\nb: [*x, *x]\n"
            + "".join(f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]\n" if i else "" for i in range(0)),
            "",
        ),
    ],
)
def test_from_yaml_is_safe(text: str, words: str) -> None:
    if not words:
        assert render("{{ t | from_yaml }}", t=text) == {"a": [1], "b": [[1], [1]]}
        return
    with pytest.raises(InputError, match=words):
        render("{{ t | from_yaml }}", t=text)


def test_from_yaml_billion_laughs_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(InputError, match="aliases expand"):
        render("{{ t | from_yaml }}", t="\n".join(lines))


@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "on",
        "1",
        "true",
        "True",
        " YES ",
        "y",
        "no",
        "off",
        "0",
        "",
        None,
        1,
        0,
        2,
        True,
        1.0,
    ],
)
def test_bool_matches_ansible(value: Any) -> None:
    assert render("{{ v | bool }}", v=value) is core.to_bool(value)


@pytest.mark.parametrize("value", [True, False, None, 0, "", "x", [], [1]])
def test_ternary_matches_ansible(value: Any) -> None:
    assert render("{{ v | ternary('y', 'n') }}", v=value) == core.ternary(value, "y", "n")
    assert render("{{ v | ternary('y', 'n', 'u') }}", v=value) == core.ternary(value, "y", "n", "u")


COMBINE = [
    ({"a": 1}, {"b": 2}),
    ({"a": {"x": 1, "l": [1]}}, {"a": {"y": 2, "l": [2, 1]}}),
    ({"a": [1, 2]}, {"a": [2, 3]}),
    ({"a": {"b": {"c": 1}}}, {"a": {"b": None}}),
]


@pytest.mark.parametrize("left, right", COMBINE, ids=range(len(COMBINE)))
@pytest.mark.parametrize("recursive", [False, True])
@pytest.mark.parametrize(
    "list_merge", ["replace", "keep", "append", "prepend", "append_rp", "prepend_rp"]
)
def test_combine_matches_ansible(left: dict, right: dict, recursive: bool, list_merge: str) -> None:
    got = render(
        "{{ l | combine(r, recursive=rec, list_merge=lm) }}",
        l=left,
        r=right,
        rec=recursive,
        lm=list_merge,
    )
    assert got == core.combine(left, right, recursive=recursive, list_merge=list_merge)


def test_combine_of_a_list_and_bad_input() -> None:
    assert render("{{ [{'a': 1}, {'b': 2}] | combine }}") == {"a": 1, "b": 2}
    with pytest.raises(InputError, match="expects mappings"):
        render("{{ {'a': 1} | combine('x') }}")
    with pytest.raises(InputError, match="list_merge"):
        render("{{ {'a': 1} | combine({}, list_merge='zip') }}")


def test_dict2items_and_back() -> None:
    data = {"b": "x\ny", "a": [1]}
    items = render("{{ d | dict2items }}", d=data)
    assert items == core.dict_to_list_of_dict_key_value_elements(data)
    assert render("{{ d | dict2items | items2dict }}", d=data) == data
    named = render("{{ d | dict2items(key_name='k', value_name='v') }}", d=data)
    assert named == [{"k": "b", "v": "x\ny"}, {"k": "a", "v": [1]}]
    with pytest.raises(InputError, match="items2dict"):
        render("{{ [{'key': 1}] | items2dict }}")
    with pytest.raises(InputError, match="dict2items"):
        render("{{ 'x' | dict2items }}")


def test_mandatory_names_the_variable() -> None:
    with pytest.raises(InputError, match="mandatory variable 'nope'") as caught:
        render("{{ nope | mandatory }}")
    assert caught.value.location == WHERE
    with pytest.raises(InputError, match="say so"):
        render("{{ nope | mandatory('say so') }}")
    assert render("{{ 0 | mandatory }}") == 0


@pytest.mark.parametrize("text", TEXTS[:8], ids=IDS[:8])
def test_quote_basename_dirname_hash_match_ansible(text: str) -> None:
    assert render("{{ t | quote }}", t=text) == core.quote(text)
    path = f"/srv/{text}/file.{text}"
    assert render("{{ p | basename }}", p=path) == core.os.path.basename(path)
    assert render("{{ p | dirname }}", p=path) == core.os.path.dirname(path)
    for algorithm in ("sha1", "sha256", "md5", "sha512"):
        got = render("{{ t | hash(a) }}", t=text, a=algorithm)
        assert got == core.get_hash(text, algorithm)


def test_hash_unknown_algorithm() -> None:
    with pytest.raises(InputError, match="not one of"):
        render("{{ 'x' | hash('whirlpool') }}")


@pytest.mark.parametrize("password", ["pw", 'it\'s "q"', "a\nb", "秘密"])
def test_password_hash_matches_ansible_with_a_salt(password: str) -> None:
    got = render("{{ p | password_hash('sha512', 'abcdefgh') }}", p=password)
    assert got == core.get_encrypted_password(password, "sha512", salt="abcdefgh")
    again = render("{{ p | password_hash('sha512', 'abcdefgh') }}", p=password)
    assert got == again
    fast = render("{{ p | password_hash('sha512', 'abcdefgh', rounds=5000) }}", p=password)
    assert fast.startswith("$6$abcdefgh$")  # 5000 rounds: the implicit crypt(3) form


def test_password_hash_random_salt() -> None:
    one = render("{{ 'pw' | password_hash('sha512', rounds=1000) }}")
    two = render("{{ 'pw' | password_hash('sha512', rounds=1000) }}")
    assert one != two and one.startswith("$6$rounds=1000$")
    assert len(one.split("$")[3]) == 16


@pytest.mark.parametrize(
    "args, words",
    [
        ("'md5'", "not supported"),
        ("'sha512', 'bad salt!'", "a salt is"),
        ("'sha512', 'x' * 17", "a salt is"),
        ("'sha512', 'abc', rounds=10**9", "rounds must be"),
        ("'sha512', salt_size=99", "salt_size"),
    ],
)
def test_password_hash_bad_arguments(args: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        render("{{ 'pw' | password_hash(" + args + ") }}")


def test_omit_drops_a_task_argument() -> None:
    value = render("{{ nope | default(omit) }}")
    assert value == jinjafilters.OMIT
    args = {"a": value, "b": [1, value], "c": {"d": value, "e": 2}, "f": "x"}
    assert jinjafilters.drop_omitted(args) == {"b": [1], "c": {"e": 2}, "f": "x"}
    assert render("{{ 3 | default(omit) }}") == 3


@pytest.mark.parametrize(
    "name", ["regex_replace('x', 'y')", "b64encode", "to_nice_yaml", "combine({})", "hash"]
)
def test_huge_inputs_are_refused_not_processed(name: str) -> None:
    big = "x" * (2 * 1024 * 1024)
    value: Any = {"k": big} if "combine" in name or "yaml" in name else big
    with pytest.raises(InputError, match="was given"):
        render("{{ v | " + name + " }}", v=value)
