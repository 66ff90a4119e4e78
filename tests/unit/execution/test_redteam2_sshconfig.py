"""Red team 2: ssh_config must never run a command or blow up while provision reads it.

paramiko runs `Match exec` commands itself (through invoke) when a host is looked up, and
it reads the Match line with shlex and a `!` prefix for negation, so `Match !exec`,
`Match "exec"`, `Match host h !exec` all ran the command (even in `plan --syntax-check`).
An Include of the file itself, several times on one line, grew exponentially up to the
16-deep limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from provision.errors import InputError
from provision.execution.sshconfig import load_ssh_config

EXEC_FORMS = [
    'Match exec "touch {m}"',
    'Match !exec "touch {m}"',
    'Match "exec" "touch {m}"',
    "Match 'exec' 'touch {m}'",
    'Match !"exec" "touch {m}"',
    'Match host h !exec "touch {m}"',
    'Match host h exec "touch {m}"',
    'Match originalhost h !exec "touch {m}"',
    'Match=!exec "touch {m}"',
    '  match   !exec   "touch {m}"',
    'MATCH !exec "touch {m}"',
    'Match\t!exec\t"touch {m}"',
    'Match e"xec" "touch {m}"',
]


@pytest.mark.parametrize("line", EXEC_FORMS)
def test_match_exec_in_any_spelling_is_refused_and_runs_nothing(tmp_path: Path, line: str) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "config"
    path.write_text(line.format(m=marker) + "\n  User bob\nHost *\n  Port 22\n")
    with pytest.raises(InputError) as caught:
        found = load_ssh_config(path, required=True)
        assert found is not None
        found.lookup("h")
    assert "exec" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 1
    assert not marker.exists()


def test_an_unbalanced_match_quote_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text('Match host "h\n  User bob\n')
    with pytest.raises(InputError):
        found = load_ssh_config(path, required=True)
        assert found is not None
        found.lookup("h")


@pytest.mark.parametrize("copies", [2, 4])
def test_includes_fanning_out_are_bounded(tmp_path: Path, copies: int) -> None:
    """f0 includes f1 `copies` times, f1 includes f2 ..., 15 levels: copies**15 files
    (each level within OpenSSH's depth limit)."""
    for level in range(15):
        nxt = tmp_path / f"f{level + 1}"
        (tmp_path / f"f{level}").write_text(f"Include {' '.join([str(nxt)] * copies)}\n")
    (tmp_path / "f15").write_text("Host a\n  User x\n" + "# padding\n" * 50)
    start = time.monotonic()
    with pytest.raises(InputError) as caught:
        load_ssh_config(tmp_path / "f0", required=True)
    assert time.monotonic() - start < 5
    assert "Include" in str(caught.value)


def test_an_include_of_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(f"Include {path} {path}\nHost a\n  User x\n")
    with pytest.raises(InputError, match="Include"):
        load_ssh_config(path, required=True)
