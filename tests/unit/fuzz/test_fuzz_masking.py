"""Property: for any shape of secret, no non-trivial fragment of it reaches any output.

A random secret (text with every kind of line break, quotes, shell and terminal control
characters, bidi marks; a PEM-like key; a big number; lists and mappings of those) is
declared under `secrets:` in a tiny project with one `ansible_connection: local` host,
and given to the play from play vars, inventory host vars or `-e`. It is rendered into a
task name, a file's content (its diff), a JSON dump, a shell command and a `secret: true`
task. `provision plan` runs through the real CLI (click's CliRunner) in text and JSON,
and a second project feeds it to an argument of the wrong type (the input-error path).

The oracle is independent of the masker: every line of every leaf, blanks stripped, at
least MIN_SECRET_LENGTH characters long, must appear in no output, neither raw, nor
JSON-escaped, nor terminal-escaped, nor in any string of the parsed JSON document, nor
in `.provision/last-run.json`. To keep fixed words of the output ("PLAY", "0.0") from
looking like leaks, each random line carries the letter Ж, which no output contains.
Plan only: nothing is written (the files would go under the test's tmp folder).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provision.cli import main
from provision.project.yamlfile import parse_yaml
from provision.reporting.mask import LINE_BREAKS, MIN_SECRET_LENGTH, secret_leaves
from provision.reporting.terminal import escape_control

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MARK = "Ж"
BREAKS = ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
# No `{`: a variable's text is a template, and `{{` would be rendered, not kept.
CHARS = list("aZ09 -_.:=/+@#!$;|&`~()[]<>?,'\"\\\t\x00\x07\x1b\x7f\x9b\u202e\u2066\u200fé中✓")

piece = st.text(alphabet=st.sampled_from(CHARS), max_size=10)
line = st.builds(lambda a, b: a + MARK + b, piece, piece)
multi_line = st.lists(
    st.tuples(st.one_of(line, st.just(""), st.just("  ")), st.sampled_from(BREAKS)),
    min_size=1,
    max_size=5,
).map(lambda parts: "".join(text + brk for text, brk in parts))


def _pem(body: bytes, crlf: bool) -> str:
    encoded = base64.b64encode(body).decode()
    rows = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    text = "\n".join(
        ["-----BEGIN OPENSSH PRIVATE KEY-----", *rows, "-----END OPENSSH PRIVATE KEY-----", ""]
    )
    return text.replace("\n", "\r\n") if crlf else text


pem = st.builds(_pem, st.binary(min_size=40, max_size=160), st.booleans())
scalar = st.one_of(line, multi_line, pem, st.integers(min_value=10**9, max_value=10**15))
secrets = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=3),
    ),
    max_leaves=5,
)

INVENTORY = {"all": {"hosts": {"a": {"ansible_connection": "local"}}}}
TASKS = [
    {
        "name": "show {{ s }}",
        "copy": {
            "dest": "{{ out }}/plain",
            "content": "{{ s }}\n{{ s | to_json }}\n",
            "owner": "root",
            "group": "root",
        },
    },
    {"name": "run", "command": {"cmd": "echo {{ s }}", "creates": "{{ out }}/none"}},
    {
        "name": "secret {{ s }}",
        "copy": {"dest": "{{ out }}/secret", "content": "{{ s | to_json }}", "mode": "0600"},
        "secret": True,
    },
]
WRONG_TYPES = [
    {"copy": {"dest": "{{ out }}/x", "content": "x", "mode": "{{ s }}"}},
    {"copy": {"dest": "{{ out }}/x", "content": "x", "backup": "{{ s }}"}},
    {"copy": {"dest": "{{ out }}/x", "content": "x", "state": "{{ s }}"}},
    {"copy": {"dest": "{{ out }}/x", "content": "{{ s }}"}},
    {"directory": {"path": "{{ s }}"}},
    {"line": {"path": "{{ out }}/x", "line": "k={{ s }}"}},
]


def fragments_of(value: Any) -> list[str]:
    """The oracle's fragments: each line of each leaf, stripped, long enough."""
    found = []
    for leaf in secret_leaves(value):
        for part in LINE_BREAKS.split(leaf):
            core = part.strip()
            if len(core) >= MIN_SECRET_LENGTH:
                found.append(core)
    return found


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def assert_nothing_leaks(value: Any, outputs: list[str]) -> None:
    text = "\n".join(outputs)
    for fragment in fragments_of(value):
        for form in (
            fragment,
            json.dumps(fragment)[1:-1],
            json.dumps(fragment, ensure_ascii=False)[1:-1],
            escape_control(fragment),
            escape_control(fragment, keep_tab=True),
        ):
            assert form not in text, f"{form!r} of the secret {value!r} leaked:\n{text}"


def write_project(root: Path, where: str, value: Any, tasks: list[dict]) -> list[str]:
    """The project's files; returns the extra CLI arguments (`-e` for that variant)."""
    play: dict[str, Any] = {"hosts": "all", "secrets": ["s"], "vars": {"out": str(root / "out")}}
    inventory = json.loads(json.dumps(INVENTORY))
    args: list[str] = []
    if where == "play":
        play["vars"]["s"] = value
    elif where == "inventory":
        inventory["all"]["hosts"]["a"]["s"] = value
    else:
        args = ["-e", json.dumps({"s": value})]
    play["tasks"] = tasks
    (root / "inventory.yml").write_text(yaml.safe_dump(inventory, allow_unicode=False))
    (root / "site.yml").write_text(yaml.safe_dump([play], allow_unicode=False))
    return args


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def loaded(value: Any) -> Any:
    """The value as the project's YAML reader gives it back (what the tool sees)."""
    return parse_yaml(yaml.safe_dump({"v": value}, allow_unicode=False), "t.yml")["v"]


@FUZZ
@given(value=secrets, where=st.sampled_from(["play", "inventory", "extra"]))
def test_plan_never_shows_a_secret(workdir: Path, value: Any, where: str) -> None:
    extra = write_project(workdir, where, value, TASKS)
    outputs = []
    for fmt in ("text", "json"):
        result = run("plan", "inventory.yml", "-p", "site.yml", "--format", fmt, "-v", *extra)
        assert result.exit_code in (2, 4), result.output
        outputs.append(result.output)
        if result.exit_code == 2:  # refused as input (e.g. a NUL no command can carry)
            assert_nothing_leaks([value, loaded(value)], outputs)
            return
        if fmt == "json":
            outputs += strings_in(json.loads(result.stdout))
    outputs.append((workdir / ".provision/last-run.json").read_text())
    assert_nothing_leaks([value, loaded(value)], outputs)
    assert not (workdir / "out").exists()


@FUZZ
@given(value=secrets, task=st.sampled_from(WRONG_TYPES), secret_task=st.booleans())
def test_input_errors_never_quote_a_secret(
    workdir: Path, value: Any, task: dict, secret_task: bool
) -> None:
    task = {**task, "secret": True} if secret_task else task
    write_project(workdir, "play", value, [task])
    result = run("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code in (2, 4), result.output
    assert_nothing_leaks([value, loaded(value)], [result.output])
    assert not (workdir / "out").exists()
