"""Terminal safety through the real CLI: control characters from inputs and from host files
reach the console only as visible escapes (`\\x1b[2J`, `\\r`, `\\u202e`); JSON stays JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main
from provision.execution.reports import FAILED, PENDING, HostReport, TaskReport
from provision.planning.model import Diff
from provision.reporting.console import Console
from provision.reporting.mask import Masker

# The characters no console line may carry raw (tab aside, which diffs keep).
RAW = ["\x1b", "\r", "\x07", "\x00", "\x7f", "\x85", "\x9b", "\u2028", "\u202e", "\u2067"]
NASTY = "clear\x1b[2J back\r bell\x07 nel\x85 csi\x9b ls\u2028 rlo\u202e fsi\u2067 end"
SHOWN = "clear\\x1b[2J back\\r bell\\x07 nel\\x85 csi\\x9b ls\\u2028 rlo\\u202e fsi\\u2067 end"


def raw_controls(text: str) -> list[str]:
    return [c for c in RAW if c in text]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    a: {ansible_connection: local}\n")
    return tmp_path


def playbook(project: Path, tasks: list[dict]) -> None:
    play = [{"hosts": "all", "vars": {"out": str(project / "out")}, "tasks": tasks}]
    (project / "site.yml").write_text(json.dumps(play))  # JSON is YAML: escapes survive


def cli(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_task_name_with_escapes_is_shown_escaped(project: Path) -> None:
    task = {"name": NASTY + "\nPLAY forged", "directory": {"path": "{{ out }}"}}
    playbook(project, [task])
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 4, result.output
    assert SHOWN + "\\nPLAY forged" in result.output
    assert raw_controls(result.output) == []
    assert "\nPLAY forged" not in result.output  # no forged line


def test_json_keeps_the_name_and_is_terminal_safe(project: Path) -> None:
    playbook(project, [{"name": NASTY, "directory": {"path": "{{ out }}"}}])
    result = cli("plan", "inventory.yml", "-p", "site.yml", "--format", "json")
    assert result.exit_code == 4, result.output
    assert raw_controls(result.stdout) == []
    assert json.loads(result.stdout)["hosts"]["a"]["tasks"][0]["name"] == NASTY


def test_host_file_content_is_shown_escaped_in_a_diff(project: Path) -> None:
    (project / "out").mkdir()
    (project / "out/motd").write_bytes(
        "old\x1b[2J\x1b]0;title\x07 \u202eline\r\n\ttabbed\x85nel\n".encode()
    )
    task = {"copy": {"dest": "{{ out }}/motd", "content": "new\n", "owner": "root"}}
    playbook(project, [task])
    result = cli("plan", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 4, result.output
    assert "-old\\x1b[2J\\x1b]0;title\\x07 \\u202eline" in result.output
    assert "\ttabbed" in result.output  # a tab in a diff stays a tab
    assert raw_controls(result.output) == []


def test_host_command_output_is_shown_escaped(project: Path) -> None:
    cmd = "printf 'boom\\033[2J\\007\\342\\200\\256\\n' >&2; exit 3"
    task = {"name": "fails", "command": {"cmd": cmd, "creates": "{{ out }}/none"}}
    playbook(project, [task])
    result = cli("apply", "inventory.yml", "-p", "site.yml")
    assert result.exit_code == 1, result.output
    assert "| boom\\x1b[2J\\x07\\u202e" in result.output
    assert raw_controls(result.output) == []


def test_input_error_naming_a_file_with_escapes(project: Path) -> None:
    result = cli("plan", "inventory.yml", "-p", "no\x1b[2Jpe\u202e.yml")
    assert result.exit_code == 2, result.output
    assert "no\\x1b[2Jpe\\u202e.yml" in result.output
    assert raw_controls(result.output) == []


def console(colour: bool) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(Masker(["s3cret-value"]), stream=stream, plan=True, colour=colour), stream


@pytest.mark.parametrize("colour", [False, True])
def test_console_escapes_every_field_and_keeps_its_own_colours(colour: bool) -> None:
    out, stream = console(colour)
    out.width = 4
    task = TaskReport(
        name=NASTY,
        role="r\x1b[31m",
        type="copy",
        status=FAILED,
        summary=["edit /etc/x\x1b[8m s3cret-value"],
        diffs=[Diff("/etc/x", "a\x1b[2J\n", "b\tc\u202e\n")],
        message="failed\x1b[2J\nsecond line s3cret-value\r\n",
        output=["out\x1b[1A\r", "s3cret-value"],
    )
    out.listener("task", ("h\x9b", task))
    out.listener("progress", ("h", "t\x1b", "dnf\r"))
    report = HostReport("h\x1b", [task], status=FAILED, error="bad\x1b[2J\nmore\u2028")
    out.host_error(report)
    out.recap([report])
    text = stream.getvalue()
    assert "s3cret-value" not in text and "********" in text
    assert SHOWN in text and "r\\x1b[31m : " in text and "-a\\x1b[2J" in text
    assert "+b\tc\\u202e" in text
    assert "failed\\x1b[2J" in text and "second line ********" in text
    assert "out\\x1b[1A\\r" in text and "bad\\x1b[2J" in text and "more\\u2028" in text
    leftover = text
    if colour:
        assert "\x1b[31m" in text  # FAILED in red: the console's own sequence
        for code in ("0", "31", "33"):
            leftover = leftover.replace(f"\x1b[{code}m", "")
    else:
        assert "\x1b" not in text
    assert raw_controls(leftover) == []


def test_pending_line_without_colour_has_no_escape_at_all() -> None:
    out, stream = console(False)
    out.listener("task", ("h", TaskReport(name="n\x1b[31m", role=None, type="x", status=PENDING)))
    assert stream.getvalue().startswith("h  will change n\\x1b[31m")
