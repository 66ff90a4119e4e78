"""Fuzzing values rendered into line-oriented files: refused, or exactly the intended keys.

For random values (line breaks of every kind, control characters, quotes, `%`, `\\`, `=`,
`[`, `]`, `#`, spaces, letters) each test either gets an InputError or a file that parses
(configparser for INI and repo files, a systemd-assignment parser for drop-ins) to exactly
the sections and keys the template declares, the value read back being the value given.
Whatever is accepted holds no character that any reader could take as a line break.
About 300 examples each; no example database is written.
"""

from __future__ import annotations

import configparser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.project.test_fileformats import parse_systemd_environment

from provision.errors import InputError, Location
from provision.project.fileformats import LINE_BREAKS
from provision.project.templating import render_template_file
from provision.tasks.base import TaskContext, task_types
from provision.tasks.line import edit_lines
from provision.tasks.repo import repo_file_text

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NASTY = "".join(LINE_BREAKS) + "\x00\x1b\x1c\x1d\x1e\x7f\x9b\t \"'%\\=[]#;:$ \ue000\ue002"
VALUES = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY), st.characters(codec="utf-8")), max_size=24
)
KEYISH = st.text(alphabet=st.sampled_from("abcXYZ09_.-=[] #\n\r\u2028%\"'"), max_size=8)


def _one_line_everywhere(text: str) -> None:
    """Every reader splits the text into the same lines as `\\n` does."""
    assert text.splitlines() == text.split("\n")[:-1] or text.splitlines() == text.split("\n")


def _ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


@FUZZ
@given(value=VALUES, key=KEYISH, section=KEYISH)
def test_ini_template_has_exactly_the_intended_keys(value: str, key: str, section: str) -> None:
    template = "[{{ section }}]\nname = app\n{{ key }} = 1\nvalue = {{ value }}\n"
    try:
        text = render_template_file(
            template, {"value": value, "key": key, "section": section}, "t.j2", fmt="ini"
        )
    except InputError:
        return
    _one_line_everywhere(text)
    if key in ("", "name", "value") or section == "":
        return  # the template's own mistakes (duplicate or empty names), not an injection
    parser = _ini(text)
    assert parser.sections() == [section]
    assert dict(parser[section]) == {"name": "app", key: "1", "value": value.strip()}


@FUZZ
@given(value=VALUES)
def test_repo_file_from_arguments_has_exactly_its_keys(value: str) -> None:
    args = {"id": "internal", "baseurl": f"http://m/{value}", "description": value}
    cls = task_types()["repo"]
    location = Location("t.yml", 1)
    try:
        task = cls(cls.coerce(args, location), TaskContext(location, None, {}))
    except InputError:
        return
    text = repo_file_text("internal", vars(task.params))
    _one_line_everywhere(text)
    parser = _ini(text)
    assert parser.sections() == ["internal"]
    assert set(parser["internal"]) == {"name", "baseurl", "enabled", "gpgcheck"}
    assert parser["internal"]["gpgcheck"] == "1"
    assert parser["internal"]["baseurl"] == f"http://m/{value}".strip()


@FUZZ
@given(proxy=VALUES, no_proxy=VALUES)
def test_systemd_drop_in_has_exactly_the_intended_assignments(proxy: str, no_proxy: str) -> None:
    template = (
        "[Service]\n"
        'Environment="HTTP_PROXY={{ proxy }}" "NO_PROXY={{ no_proxy }}"\n'
        "Environment=MODE=fixed\n"
    )
    try:
        text = render_template_file(
            template, {"proxy": proxy, "no_proxy": no_proxy}, "t.j2", fmt="systemd"
        )
    except InputError:
        return
    _one_line_everywhere(text)
    lines = text.split("\n")
    assert [line.split("=", 1)[0] for line in lines if line] == [
        "[Service]",
        "Environment",
        "Environment",
    ]
    assert parse_systemd_environment(text) == {
        "HTTP_PROXY": proxy,
        "NO_PROXY": no_proxy,
        "MODE": "fixed",
    }


@FUZZ
@given(value=VALUES)
def test_systemd_unquoted_value_is_one_word_or_refused(value: str) -> None:
    try:
        text = render_template_file(
            "[Service]\nEnvironment=A={{ v }}\n", {"v": value}, "t.j2", fmt="systemd"
        )
    except InputError:
        return
    _one_line_everywhere(text)
    assert parse_systemd_environment(text) == {"A": value}


@FUZZ
@given(value=VALUES, existing=VALUES)
def test_line_task_adds_one_line_and_converges(value: str, existing: str) -> None:
    cls = task_types()["line"]
    location = Location("t.yml", 1)
    args = {"path": "/etc/app/notes", "line": f"note {value}", "regexp": "^note "}
    try:
        task = cls(cls.coerce(args, location), TaskContext(location, None, {}))
    except InputError:
        return
    before = f"first {existing}\nsecond\n"
    after = edit_lines(before, task.params.line, task.params.regexp, "present", None)
    assert after.split("\n")[-2] == f"note {value}"
    assert after.split("\n")[:2] == before.split("\n")[:2], "other lines are kept as they were"
    assert edit_lines(after, task.params.line, task.params.regexp, "present", None) == after
