"""`become_method: su` and `become_user` on file tasks.

su's command line is checked as text and run for real against a stand-in `su` (a script
first on PATH that reads the password line as PAM's conversation would, then runs the
command with the stdin it was given): the password arrives whole and alone, never in argv;
the script and the command's own stdin reach the root shell byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.errors import InputError, Location
from provision.execution.connection import Become, BecomeError, Result, check_become_result, su_line
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, HostState
from provision.project.compile import compile_run
from provision.project.hostconfig import host_config
from provision.project.templating import Variables
from provision.tasks.filesupport import plan_file

PASSWORDS = [
    "simple",
    "with space",
    "quote'single",
    'quote"double',
    "dollar$HOME",
    "back\\slash\\n",
    "-leading-dash",
    "`id`",
    "$(id)",
    "tab\there",
    "ünïcödé",
    "*",
    " leading and trailing ",
    "x" * 500,
]

FAKE_SU = r"""#!/bin/sh
# stand-in for su: read the password line from stdin as PAM's conversation does (a
# buffered read: it takes everything on the pipe), check it, then run -c CMD
IFS= read -r got
if [ "$got" != "$(cat "$WANT_FILE")" ]; then echo "su: Authentication failure" >&2; exit 1; fi
[ "$1" = root ] && [ "$2" = -c ] || { echo "bad su args: $*" >&2; exit 2; }
printf '%s\n' "$*" > "$ARGV_FILE"
exec sh -c "$3"
"""


@pytest.fixture
def fake_su(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "su").write_text(FAKE_SU)
    (bin_dir / "su").chmod(0o755)
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "WANT_FILE": str(tmp_path / "want"),
        "ARGV_FILE": str(tmp_path / "argv"),
        "LC_ALL": "C",
    }


def run_su(env: dict[str, str], password: str, script: str, stdin: bytes | None, given: str):
    Path(env["WANT_FILE"]).write_text(password)
    line, data = su_line(script, stdin, given)
    assert given not in line  # never in the command line
    return line, subprocess.run(["sh", "-c", line], input=data, capture_output=True, env=env)


@pytest.mark.parametrize("password", PASSWORDS)
def test_su_gets_the_password_whole_and_the_script_on_stdin(
    fake_su: dict[str, str], password: str
) -> None:
    script = "printf 'ran:%s\\n' \"$(echo ok)\"; cat"  # cat: nothing left on stdin
    line, proc = run_su(fake_su, password, script, None, password)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"ran:ok\n"
    argv = Path(fake_su["ARGV_FILE"]).read_text()
    assert password not in argv or password == "*"
    assert "exec sh -s" in argv


@pytest.mark.parametrize(
    "data", [b"", b"line\n", b"no newline", b"\x00\x01\xff binary\r\n\x85", b"y" * 300_000]
)
def test_su_passes_the_commands_own_stdin(fake_su: dict[str, str], data: bytes) -> None:
    _, proc = run_su(fake_su, "pw", "cat", data, "pw")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data


def test_a_wrong_password_is_a_become_error(fake_su: dict[str, str]) -> None:
    _, proc = run_su(fake_su, "right", "echo no", None, "wrong")
    assert proc.returncode != 0 and b"ran" not in proc.stdout
    with pytest.raises(BecomeError) as caught:
        check_become_result("h1", "admin", Result(proc.returncode, proc.stdout, proc.stderr))
    assert "su refused the become password" in str(caught.value)
    assert "wrong" not in str(caught.value) and "right" not in str(caught.value)


def test_become_wrap_su() -> None:
    become = Become("admin", "s3cret pw", method="su")
    line, data = become.wrap("id -u", None, True)
    assert "su root -c" in line and "s3cret" not in line
    assert data == b"s3cret pw\nid -u"
    assert not become.needs_check()  # no `sudo -n true` probe for su
    line, data = become.wrap("id -u", None, False)  # no become: as the user
    assert line == "sh -s" and data == b"id -u"
    assert Become("root", None, method="su").wrap("x", None, True) == ("sh -s", b"x")


def test_su_line_text() -> None:
    line, _ = su_line("echo a", None, "p")
    assert line == (
        "IFS= read -r p || exit 125; { printf '%s\\n' \"$p\" | su root -c"
        " 'exec sh -s 0<&3 3<&-'; } 3<&0"
    )
    line, data = su_line("cat > '/etc/x y'", b"DATA", "p")
    assert line.endswith("3<&0") and "exec sh -c" in line and data == b"p\nDATA"


# --- host settings ------------------------------------------------------------------------

WHERE = Location("inventory.yml", 4)


def config(**values: object) -> Any:
    origins = {k: Location("inventory.yml", 10 + i) for i, k in enumerate(values)}
    return host_config("h1", Variables(dict(values), origins), Path("."), True, WHERE, False)


def test_host_method_su_with_password() -> None:
    made = config(ansible_user="admin", ansible_become_method="su", ansible_become_pass="pw")
    assert made.become_method == "su" and made.become_password == "pw"
    assert config(ansible_user="admin").become_method == "sudo"
    assert config(ansible_user="root", ansible_become_method="su").become_method == "su"


@pytest.mark.parametrize(
    "values,words",
    [
        ({"ansible_become_method": "su"}, "needs root's password"),
        ({"ansible_become_method": "doas"}, "sudo or su only"),
        ({"ansible_become_method": "pbrun"}, "sudo or su only"),
        (
            {"ansible_become_method": "su", "ansible_become_password": "a\nb"},
            "holds a line break",
        ),
    ],
)
def test_host_method_errors(values: dict[str, object], words: str) -> None:
    with pytest.raises(InputError) as caught:
        config(ansible_user="admin", **values)
    text = str(caught.value)
    assert words in text and "inventory.yml:" in text
    assert "a\nb" not in text


# --- compile: play/block/task become_method, become_user on file tasks -------------------


def compile_play(tmp_path: Path, host_vars: dict[str, Any], play: dict[str, Any]) -> Any:
    inventory = tmp_path / "inventory.yml"
    host = {"ansible_connection": "local", **host_vars}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"h1": host}}}))
    playbook = tmp_path / "site.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", **play}], sort_keys=False))
    return compile_run(inventory, playbook).plays[0][1][0].tasks


SU_HOST = {"ansible_become_method": "su", "ansible_become_password": "pw"}
COPY = {"name": "c", "copy": {"dest": "/srv/a", "content": "x"}}


@pytest.mark.parametrize(
    "play",
    [
        {"become": True, "become_method": "su", "tasks": [COPY]},
        {"become": True, "tasks": [{**COPY, "become_method": "su"}]},
        {"become": True, "tasks": [{"block": [COPY], "become_method": "su"}]},
    ],
)
def test_become_method_su_where_the_host_uses_su(tmp_path: Path, play: dict[str, Any]) -> None:
    (task,) = compile_play(tmp_path, SU_HOST, play)
    assert task.become


@pytest.mark.parametrize(
    "play",
    [
        {"become": True, "become_method": "su", "tasks": [COPY]},
        {"become": True, "tasks": [{**COPY, "become_method": "su"}]},
        {"become": True, "tasks": [{"block": [COPY], "become_method": "su"}]},
    ],
)
def test_become_method_su_on_a_sudo_host_says_where_to_set_it(
    tmp_path: Path, play: dict[str, Any]
) -> None:
    with pytest.raises(InputError) as caught:
        compile_play(tmp_path, {}, play)
    text = str(caught.value)
    assert "one way per host" in text and "ansible_become_method: su" in text
    assert "site.yml:" in text


def test_become_method_unknown(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        compile_play(tmp_path, {}, {"become": True, "become_method": "doas", "tasks": [COPY]})
    assert "`become_method: doas` is not supported" in str(caught.value)


@pytest.mark.parametrize(
    "task",
    [
        COPY,
        {"name": "t", "ansible.builtin.template": {"src": "t.j2", "dest": "/srv/t"}},
        {"name": "f", "ansible.builtin.file": {"path": "/srv/d", "state": "directory"}},
        {"name": "l", "ansible.builtin.lineinfile": {"path": "/srv/l", "line": "a"}},
        {"name": "b", "ansible.builtin.blockinfile": {"path": "/srv/b", "block": "a"}},
        {"name": "r", "ansible.builtin.replace": {"path": "/srv/r", "regexp": "a"}},
    ],
)
def test_become_user_on_file_tasks(tmp_path: Path, task: dict[str, Any]) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.j2").write_text("x\n")
    play = {"become": True, "tasks": [{**task, "become_user": "app"}]}
    (compiled,) = compile_play(tmp_path, {}, play)
    assert compiled.become_user == "app"
    assert compiled.task.context.become_user == "app"


def test_become_user_without_become_writes_as_root(tmp_path: Path) -> None:
    (compiled,) = compile_play(tmp_path, {}, {"tasks": [{**COPY, "become_user": "app"}]})
    assert compiled.task.context.become_user == "root"


@pytest.mark.parametrize(
    "task",
    [
        {"name": "p", "ansible.builtin.dnf": {"name": "vim"}},
        {"name": "s", "ansible.builtin.service": {"name": "x", "state": "started"}},
        {"name": "a", "ansible.builtin.file": {"path": "/srv/d", "state": "absent"}},
    ],
)
def test_become_user_still_refused_elsewhere(tmp_path: Path, task: dict[str, Any]) -> None:
    with pytest.raises(InputError) as caught:
        compile_play(tmp_path, {}, {"become": True, "tasks": [{**task, "become_user": "app"}]})
    assert "manages packages and services as root" in str(caught.value)


# --- plans of files written as another user ----------------------------------------------


def test_new_file_written_as_the_user_is_theirs() -> None:
    state = HostState({FileFact("/srv/a"): FileState(False)})
    outcome = plan_file(state, "/srv/a", b"x", writer="app")
    assert isinstance(outcome, Change)
    assert "chown -- app: " in outcome.commands[0].script  # the user's login group
    assert "root" not in outcome.commands[0].script


def test_changed_file_written_as_the_user_becomes_theirs() -> None:
    state = HostState({FileFact("/srv/a"): FileState(True, content=b"old")})
    outcome = plan_file(state, "/srv/a", b"new", writer="app", group="web")
    assert isinstance(outcome, Change)
    assert "chown -- app:web " in outcome.commands[0].script


def test_same_content_as_the_user_changes_nothing() -> None:
    state = HostState({FileFact("/srv/a"): FileState(True, content=b"x")})
    assert type(plan_file(state, "/srv/a", b"x", writer="app")).__name__ == "NoOp"


def test_runs_as_that_user_for_real() -> None:
    """The planned write, run as `nobody` (runuser, as the runner does): a directory
    only root may write refuses it; one the user may write takes it, as their file.
    (A folder under /var/tmp: pytest's tmp_path sits under a 0700 folder.)"""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch user")
    from provision.facts.readonly import as_user

    base = Path(tempfile.mkdtemp(prefix="provision-5a-", dir="/var/tmp"))
    try:
        base.chmod(0o755)
        closed = base / "closed"
        closed.mkdir(mode=0o755)
        open_dir = base / "open"
        open_dir.mkdir()
        os.chown(open_dir, 65534, 65534)
        for folder, ok in ((closed, False), (open_dir, True)):
            path = str(folder / "f")
            state = HostState({FileFact(path): FileState(False)})
            outcome = plan_file(state, path, b"data\n", writer="nobody")
            assert isinstance(outcome, Change)
            command = outcome.commands[0]
            proc = subprocess.run(
                ["sh", "-c", as_user("nobody", command.script)],
                input=command.stdin,
                capture_output=True,
            )
            assert (proc.returncode == 0) == ok, proc.stderr
            if ok:
                assert os.stat(path).st_uid == 65534
            else:
                assert b"Permission denied" in proc.stderr and not os.path.exists(path)
    finally:
        shutil.rmtree(base)


def test_verify_on_a_su_host_runs_checks_through_the_connection() -> None:
    from testinfra.host import Host

    from provision.verify.backend import SuBackend

    class FakeConnection:
        class config:  # noqa: N801 - what the backend reads of a connection
            name = "h1"

        def __init__(self) -> None:
            self.ran: list[tuple[str, bool]] = []

        def run(self, script: str, become: bool = False) -> Result:
            self.ran.append((script, become))
            return Result(0, b"root\n", b"")

    connection = FakeConnection()
    host = Host(SuBackend(connection, False))
    out = host.run("id -un -- %s", "it's")
    assert out.rc == 0 and out.stdout == "root\n"
    assert connection.ran == [("id -un -- 'it'\"'\"'s'", True)]
