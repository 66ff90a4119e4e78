"""The issue's examples of leaked secrets, each through the real CLI on a local host:
a private key in a plan diff and in JSON, each element of a list or mapping secret, the
rendered name of a `secret: true` task, and input errors quoting a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

KEY_LINES = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDh0c2sF1qZzCq7mS9mB1xGfW3QeLxL7o3cM0Y8jwAAAJjw9T8E8PU/BAAA",
    "-----END OPENSSH PRIVATE KEY-----",
]
ELEMENTS = ["elem-one-S1", "elem-two-S2", "deep-leaf-S3", "4242424242"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    return tmp_path


def write_play(project: Path, tasks: list[dict], handlers: list[dict] | None = None) -> None:
    play = {
        "hosts": "all",
        "secrets": ["ssh_key", "tokens"],
        "vars": {
            "out": str(project / "out"),
            "ssh_key": "\n".join(KEY_LINES) + "\n",
            "tokens": [ELEMENTS[0], {"x": ELEMENTS[1], "y": [ELEMENTS[2], int(ELEMENTS[3])]}],
        },
        "tasks": tasks,
        "handlers": handlers or [],
    }
    (project / "site.yml").write_text(json.dumps([play]))


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def shown(result) -> str:
    return result.output


def assert_hidden(text: str) -> None:
    for secret in [*KEY_LINES, *ELEMENTS]:
        assert secret not in text, f"{secret!r} shown:\n{text}"


KEY_FILE = {"copy": {"dest": "{{ out }}/id", "content": "{{ ssh_key }}", "owner": "root"}}
LIST_FILE = {
    "copy": {
        "dest": "{{ out }}/t",
        "content": "{{ tokens[0] }}\n{{ tokens[1].x }}:{{ tokens[1].y[0] }}:{{ tokens[1].y[1] }}\n",
        "owner": "root",
    }
}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_private_key_and_list_elements_hidden_in_diffs(project: Path, fmt: str) -> None:
    write_play(project, [{"name": "key", **KEY_FILE}, {"name": "list", **LIST_FILE}])
    result = cli("plan", "inventory.yml", "-p", "site.yml", "--format", fmt)
    assert result.exit_code == 4, result.output
    assert_hidden(result.output)
    if fmt == "text":
        assert result.output.count("+********") == 4 + 2
    else:
        diffs = [t["diffs"][0]["unified"] for t in json.loads(result.stdout)["hosts"]["a"]["tasks"]]
        assert diffs[0].endswith("+********\n+********\n+********\n+********")


def test_apply_then_plan_hides_the_key(project: Path) -> None:
    write_play(project, [{"name": "key", **KEY_FILE}])
    applied = cli("apply", "inventory.yml", "-p", "site.yml", "--diff", "-v")
    assert applied.exit_code == 0, applied.output
    assert (project / "out/id").read_text().splitlines() == KEY_LINES
    (project / "out/id").write_text("changed\n")
    again = cli("plan", "inventory.yml", "-p", "site.yml")
    assert again.exit_code == 4
    assert_hidden(applied.output + again.output)


def test_secret_task_shows_its_name_as_written(project: Path) -> None:
    tasks = [
        {"name": "install key {{ item }}", "loop": "{{ tokens[1].y }}", "secret": True, **KEY_FILE},
        {"secret": True, **LIST_FILE},
        {"name": "plain {{ tokens[0] }}", "directory": {"path": "{{ out }}"}},
    ]
    write_play(project, tasks)
    result = cli("plan", "inventory.yml", "-p", "site.yml", "--format", "json")
    names = [t["name"] for t in json.loads(result.stdout)["hosts"]["a"]["tasks"]]
    assert names == [
        "install key {{ item }}",
        "install key {{ item }}",
        "copy (secret task)",
        "plain ********",
    ]
    assert_hidden(result.output)


def test_secret_task_arguments_are_secrets_too(project: Path) -> None:
    task = {"secret": True, "copy": {"dest": "{{ out }}/p", "content": "pw-Literal-77\n"}}
    show = {"name": "echo pw-Literal-77", "directory": {"path": "{{ out }}"}}
    write_play(project, [task, show])
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert "pw-Literal-77" not in result.output and "echo ********" in result.output


def test_secret_handler_is_still_notified(project: Path) -> None:
    task = {"name": "key", "notify": "reload keys", **KEY_FILE}
    handler = {"name": "reload keys", "secret": True, "command": {"cmd": "true", "creates": "/"}}
    write_play(project, [task], [handler])
    result = cli("plan", "inventory.yml", "-p", "site.yml", "-v")  # -v: ok tasks shown too
    assert result.exit_code == 4, result.output
    assert "handler reload keys" in result.output


@pytest.mark.parametrize(
    ("arg", "value", "words"),
    [
        ("mode", "{{ tokens[0] }}", "must be a file mode like '0644', found a string"),
        ("mode", "{{ ssh_key }}", "found a string (from a variable; value not shown)"),
        ("content", "{{ tokens }}", "must be text or !!binary, found a list"),
        ("backup", "{{ tokens[1].y[1] }}", "must be true or false, found a number"),
        ("state", "{{ tokens[1].x }}", "found a value from a variable (not shown)"),
    ],
)
def test_input_errors_never_quote_a_secret(project: Path, arg: str, value: str, words: str):
    write_play(project, [{"copy": {"dest": "{{ out }}/x", "content": "x", arg: value}}])
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert_hidden(result.output)


def test_a_literal_value_is_still_quoted(project: Path) -> None:
    write_play(project, [{"copy": {"dest": "{{ out }}/x", "content": "x", "mode": "rw-all"}}])
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 2 and "found a string ('rw-all')" in result.output


def test_role_declared_secret_is_masked(project: Path) -> None:
    role = project / "roles/keys"
    (role / "tasks").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "defaults").mkdir()
    (role / "meta/main.yml").write_text("secrets: [role_key]\n")
    (role / "defaults/main.yml").write_text(
        'role_key: "role-line-A1\\r\\nrole-line-B2\\u2028C3x"\n'
    )
    (role / "tasks/main.yml").write_text(
        '- copy: {dest: "{{ out }}/r", content: "{{ role_key }}", owner: root}\n'
    )
    play = [{"hosts": "all", "vars": {"out": str(project / "out")}, "roles": ["keys"]}]
    (project / "site.yml").write_text(json.dumps(play))
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 4, result.output
    for line in ("role-line-A1", "role-line-B2", "C3x"):
        assert line not in result.output
