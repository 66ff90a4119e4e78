"""Injection fuzzing: a value rendered into any shell argument arrives as exactly one word,
or the template is refused. Nothing in a value ever runs.

Three properties, each over Hypothesis-generated values built from quotes, `$( )`,
backquotes, `;`, `&&`, `|`, `#`, here-document ends, every kind of line break, control
characters and leading dashes:

1. accepted templates: the rendered command, run by sh/bash, hands `printf` the value as
   exactly the expected word(s);
2. random templates assembled from shell fragments: either refused, or, when run, the
   canary commands inside the value never execute (no marker file appears);
3. argv form: each list item is exactly one word, whatever it holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from provision.errors import InputError, Location
from provision.project.compile import compile_run
from provision.project.templating import render_string
from provision.tasks.argv import script_of

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SHELLS = [s for s in ("dash", "bash") if shutil.which(s)]
WHERE = Location("tasks.yml", 3)
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}

BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x85", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e"]
PIECES = [
    "'",
    '"',
    "`",
    "$(",
    ")",
    "${",
    "}",
    "$((",
    ";",
    "&&",
    "||",
    "|",
    "&",
    "#",
    "\\",
    "$",
    "*",
    "?",
    "~",
    "!",
    " ",
    "\t",
    "-",
    "--",
    "-rf",
    "--reference=/etc/shadow",
    "EOF",
    "\nEOF\n",
    "=",
    "a[$(touch canary-subscript)]",
    "$(touch canary-dollar)",
    "`touch canary-backtick`",
    "'; touch canary-single; '",
    '"; touch canary-double; "',
    "\ntouch canary-newline #",
    "\nEOF\ntouch canary-heredoc\n",
    "; touch canary-semicolon",
    "&& touch canary-and",
    "| touch canary-pipe",
    "\x1b[31m",
    "\x7f",
    "é",
    "\ue000:0\ue001",
    *BREAKS,
]
VALUES = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(
            alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            max_size=4,
        ),
    ),
    max_size=8,
).map("".join)


def run(script: str, shell: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shell, "-c", script],
        capture_output=True,
        timeout=10,
        check=False,
        env=ENV,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def printed_words(script: str, shell: str, cwd: str) -> list[bytes]:
    done = run(script, shell, cwd)
    assert done.returncode == 0, (shell, script, done.stderr)
    return done.stdout.split(b"\0")[:-1]


def encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# ------------------------------------------------------------ (1) accepted templates

ACCEPTED = [
    ("printf '%s\\0' {{ v }}", lambda v: [v]),
    ("printf '%s\\0' -- {{ v }} end", lambda v: ["--", v, "end"]),
    ("printf '%s\\0' a{{ v }}b {{ v }}", lambda v: [f"a{v}b", v]),
    ("printf '%s\\0' --x={{ v }}", lambda v: [f"--x={v}"]),
    ("set -- {{ v }}; printf '%s\\0' \"$1\"", lambda v: [v]),
    ("printf '%s\\0' {{ v | quote }}", lambda v: [v]),
    ("{ printf '%s\\0' {{ v }}; }", lambda v: [v]),
    ("true && printf '%s\\0' {{ v }} # trailing comment", lambda v: [v]),
    ("case {{ v }} in *) printf '%s\\0' {{ v }};; esac", lambda v: [v]),
    ("printf '%s\\0' {% for i in [1, 2] %}{{ v }} {% endfor %}", lambda v: [v, v]),
]
SHELL_ARGS = ["command.cmd", "command.unless", "command.only_if", "assert.command"]


@FUZZ
@given(value=VALUES, case=st.sampled_from(ACCEPTED), what=st.sampled_from(SHELL_ARGS))
def test_a_value_arrives_as_exactly_one_word(value: str, case, what: str):
    source, expected = case
    script = render_string(source, {"v": value}, WHERE, what, True)
    with tempfile.TemporaryDirectory() as tmp:
        for shell in SHELLS:
            assert printed_words(script, shell, tmp) == [encoded(w) for w in expected(value)]
        assert os.listdir(tmp) == [], "a value ran as a command"


# ------------------------------------------------- (2) random templates, canary values

FRAGMENTS = st.sampled_from(
    [
        "printf '%s\\0' ",
        "{{ v }}",
        "{{ v }}",
        "{{ v }}",
        "{{ v | quote }}",
        " ",
        "'",
        '"',
        "`",
        "$(",
        ")",
        "${x:-",
        "}",
        "$((",
        "))",
        "#",
        "\n",
        "<<EOF\n",
        "<<'EOF'\n",
        "\nEOF\n",
        "\\",
        "$",
        ";",
        "&&",
        "a",
        "x=",
        "case a in a) ",
        ";; esac",
        "(",
        "[[ ",
        " ]]",
        "eval ",
        "echo ",
        "{% if true %}",
        "{% endif %}",
    ]
)
CANARY = (
    "x'\"`touch c1`$(touch c2)\ntouch c3 #\nEOF\ntouch c4\n)\n;touch c5;'\"$((0))"
    "\\';touch c6 #${x:-$(touch c7)}"
)


@FUZZ
@given(
    fragments=st.lists(FRAGMENTS, min_size=1, max_size=14), value=st.one_of(st.just(CANARY), VALUES)
)
def test_random_templates_are_refused_or_run_nothing_from_the_value(fragments, value):
    source = "".join(fragments)
    try:
        script = render_string(source, {"v": value, "x": "x"}, WHERE, "command.unless", True)
    except InputError as exc:
        assert "command.unless" in exc.message
        event("refused")
        return
    event("accepted")
    with tempfile.TemporaryDirectory() as tmp:
        for shell in SHELLS:
            try:
                run(script, shell, tmp)
            except subprocess.TimeoutExpired:
                pytest.fail(f"hung: {script!r}")
        assert os.listdir(tmp) == [], f"a value ran as a command: {source!r} -> {script!r}"


# ------------------------------------------------------------------ (3) argv form

WORDS = st.lists(
    st.one_of(VALUES, st.integers(), st.floats(allow_nan=False)), min_size=1, max_size=5
)


@FUZZ
@given(words=WORDS)
def test_argv_items_are_one_word_each(words):
    argv = ["printf", "%s\\0", *words]
    script = script_of(argv, "`argv`")
    with tempfile.TemporaryDirectory() as tmp:
        for shell in SHELLS:
            got = printed_words(script, shell, tmp)
            assert got == [encoded(str(w)) for w in words]
        assert os.listdir(tmp) == []


# ------------------------------------------- every shell argument of every task type

# (task type, the other arguments, the shell argument), written in block style so that the
# shell argument has a line of its own (line 6 of site.yml)
PROJECT_TASK = {
    "command.cmd": ("command", {"creates": "/x"}, "cmd"),
    "command.unless": ("command", {"cmd": "true"}, "unless"),
    "command.only_if": ("command", {"cmd": "true"}, "only_if"),
    "assert.command": ("assert", {"label": "x"}, "command"),
}


def _project(root: Path, what: str, template: str) -> tuple[Path, Path]:
    type_name, others, key = PROJECT_TASK[what]
    lines = [f"        {k}: {json.dumps(v)}" for k, v in others.items()]
    lines.append(f"        {key}: {json.dumps(template)}")
    (root / "inventory.yml").write_text(
        "all:\n  hosts:\n    h1:\n      ansible_connection: local\n"
        "      v: \"x'; touch /tmp/provision-fuzz-canary; '\"\n"
    )
    (root / "site.yml").write_text(
        "- hosts: all\n  tasks:\n    - name: t\n      "
        + type_name
        + ":\n"
        + "\n".join(lines)
        + "\n"
    )
    return root / "inventory.yml", root / "site.yml"


@pytest.mark.parametrize("what", list(PROJECT_TASK))
@pytest.mark.parametrize(
    "template",
    ["grep -q '{{ v }}' /etc/f", 'grep -q "{{ v }}" /etc/f', "true # {{ v }}", "echo `{{ v }}`"],
)
def test_every_shell_argument_refuses_a_quoted_value(tmp_path: Path, what: str, template: str):
    inventory, playbook = _project(tmp_path, what, template)
    with pytest.raises(InputError) as caught:
        compile_run(inventory, playbook)
    assert caught.value.message.startswith(f"{what}: `{{{{ v }}}}`")
    assert caught.value.location is not None
    assert caught.value.location.file.endswith("site.yml") and caught.value.location.line == 6


@pytest.mark.parametrize("what", list(PROJECT_TASK))
def test_every_shell_argument_quotes_an_unquoted_value(tmp_path: Path, what: str):
    inventory, playbook = _project(tmp_path, what, "grep -q {{ v }} /f")
    compiled = compile_run(inventory, playbook)
    task = compiled.plays[0][1][0].tasks[0].task
    assert task is not None
    key = what.split(".")[1]
    assert (
        getattr(task.params, key)
        == "grep -q 'x'\"'\"'; touch /tmp/provision-fuzz-canary; '\"'\"'' /f"
    )
