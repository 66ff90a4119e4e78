"""`become_method: su` with a `become_user`, as Ansible's su: `su USER -c ...` with USER's
own password (the host's or play's become_user), checked against a stand-in `su` first on
PATH (as test_become_su.py does): the password arrives whole and alone on a pipe, never
in argv; a task's `runuser -u USER --` (how provision reaches a become_user from root)
runs as it is under su to USER; another user is refused at compile time with file:line,
and by the shell as a backstop."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.unit.execution.test_become_su import PASSWORDS

from provision.errors import InputError, Location
from provision.execution.connection import (
    Become,
    BecomeError,
    Result,
    check_become_result,
    su_line,
    su_shim,
    su_target,
)
from provision.facts.readonly import as_user
from provision.project.compile import compile_run
from provision.project.hostconfig import host_config
from provision.project.templating import Variables

FAKE_SU = r"""#!/bin/sh
# stand-in for `su USER -c CMD`: read the password line (PAM's conversation), check it
# against USER's, then run CMD with USER in $FAKE_USER
IFS= read -r got
user="$1"
[ "$2" = -c ] && [ "$#" = 3 ] || { echo "bad su args: $*" >&2; exit 2; }
if [ "$got" != "$(cat "$WANT_DIR/$user")" ]; then
  echo "su: Authentication failure" >&2; exit 1
fi
printf '%s\n' "$*" >> "$ARGV_FILE"
FAKE_USER="$user" exec sh -c "$3"
"""


@pytest.fixture
def fake_su(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "su").write_text(FAKE_SU)
    (bin_dir / "su").chmod(0o755)
    (tmp_path / "want").mkdir()
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "WANT_DIR": str(tmp_path / "want"),
        "ARGV_FILE": str(tmp_path / "argv"),
        "LC_ALL": "C",
    }


def password_of(env: dict[str, str], user: str, password: str) -> None:
    (Path(env["WANT_DIR"]) / user).write_text(password)


def run(env: dict[str, str], line: str, data: bytes | None) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", line], input=data, capture_output=True, env=env)


@pytest.mark.parametrize("password", PASSWORDS)
def test_su_to_the_become_user_with_its_own_password(
    fake_su: dict[str, str], password: str
) -> None:
    password_of(fake_su, "app", password)
    password_of(fake_su, "root", "root's, not this one")
    become = Become("deploy", password, target="app", method="su")
    line, data = become.wrap('printf "%s\\n" "$FAKE_USER"', None, True)
    assert password not in line and "su app -c" in line
    proc = run(fake_su, line, data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"app\n"
    argv = Path(fake_su["ARGV_FILE"]).read_text()
    assert password not in argv or password == "*"


def test_a_tasks_runuser_to_that_user_runs_as_it_is(fake_su: dict[str, str]) -> None:
    password_of(fake_su, "app", "pw")
    become = Become("deploy", "pw", target="app", method="su")
    # as the runner wraps a task whose become_user is app; a batch runs it in a subshell
    script = "( " + as_user("app", 'printf "%s:%s\\n" "$FAKE_USER" "$(cat)"') + " ) <<EOF\nin\nEOF"
    proc = run(fake_su, *become.wrap(script, None, True))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"app:in\n"
    # the command's own stdin reaches it too
    line, data = become.wrap(as_user("app", "cat"), b"DATA\x00\xff", True)
    proc = run(fake_su, line, data)
    assert (proc.returncode, proc.stdout) == (0, b"DATA\x00\xff"), proc.stderr


@pytest.mark.parametrize("other", ["root", "db", "app2", "-u", ""])
def test_runuser_to_another_user_is_refused_by_the_shell(
    fake_su: dict[str, str], other: str
) -> None:
    password_of(fake_su, "app", "pw")
    become = Become("deploy", "pw", target="app", method="su")
    proc = run(fake_su, *become.wrap(as_user(other, "echo RAN"), None, True))
    assert proc.returncode == 126 and b"RAN" not in proc.stdout
    assert b"su became app and cannot run a command as another user" in proc.stderr


def test_login_user_is_the_become_user_no_su_and_no_password(fake_su: dict[str, str]) -> None:
    become = Become("app", None, target="app", method="su")
    line, data = become.wrap(as_user("app", "echo ok"), None, True)
    assert line == "sh -s" and "su " not in line
    proc = run(fake_su, line, data)
    assert (proc.returncode, proc.stdout) == (0, b"ok\n"), proc.stderr
    assert not Path(fake_su["ARGV_FILE"]).exists()


def test_no_become_no_shim() -> None:
    become = Become("deploy", "pw", target="app", method="su")
    assert become.wrap("id", None, False) == ("sh -s", b"id")


def test_su_to_root_unchanged() -> None:
    line, data = Become("deploy", "pw", method="su").wrap("id", None, True)
    assert "su root -c" in line and "runuser()" not in data.decode()


def test_wrong_password_names_whose_password(fake_su: dict[str, str]) -> None:
    password_of(fake_su, "app", "right")
    become = Become("deploy", "wrong", target="app", method="su")
    proc = run(fake_su, *become.wrap("echo RAN", None, True))
    assert proc.returncode != 0 and b"RAN" not in proc.stdout
    with pytest.raises(BecomeError) as caught:
        check_become_result("h1", "deploy", Result(proc.returncode, proc.stdout, proc.stderr))
    text = str(caught.value)
    assert "the password of the user su becomes" in text
    assert "wrong" not in text and "right" not in text


# User names reach the shell: each lands as one quoted word (check_user lets `$`, `;`,
# quotes and backquotes through: they are not whitespace, control characters or '-').
ODD_USERS = ["a'b", 'a"b', "$(touch${IFS}PWNED)", "`touch PWNED`", "a;touch PWNED", "a|b", "*"]


@pytest.mark.parametrize("user", ODD_USERS)
def test_odd_user_names_stay_one_word(fake_su: dict[str, str], tmp_path: Path, user: str) -> None:
    password_of(fake_su, "x", "unused")
    line, data = su_line("echo RAN", None, "pw", user)
    proc = subprocess.run(
        ["sh", "-c", line], input=data, capture_output=True, env=fake_su, cwd=tmp_path
    )
    assert proc.returncode != 0 and not (tmp_path / "PWNED").exists()
    shim = su_shim(user)
    proc = subprocess.run(
        ["sh", "-c", shim + as_user(user, "echo RAN") + "; " + as_user("x", "echo NO")],
        capture_output=True,
        cwd=tmp_path,
    )
    assert proc.stdout == b"RAN\n" and proc.returncode == 126, proc.stderr
    assert not (tmp_path / "PWNED").exists()


# --- host settings ------------------------------------------------------------------------

WHERE = Location("inventory.yml", 4)


def config(**values: object) -> Any:
    origins = {k: Location("inventory.yml", 10 + i) for i, k in enumerate(values)}
    return host_config("h1", Variables(dict(values), origins), Path("."), True, WHERE, False)


SU = {"ansible_become_method": "su"}


@pytest.mark.parametrize(
    ("values", "target"),
    [
        ({**SU, "ansible_become_user": "app", "ansible_become_pass": "pw"}, "app"),
        ({**SU, "ansible_become_pass": "pw"}, "root"),
        ({"ansible_become_user": "app"}, "root"),  # sudo: root, then runuser per task
        ({**SU, "ansible_become_user": "app", "ansible_user": "app"}, "app"),  # no password
        ({**SU, "ansible_become_user": "app", "ansible_user": "root"}, "app"),
    ],
)
def test_su_target(values: dict[str, object], target: str) -> None:
    made = config(**{"ansible_user": "deploy", **values})
    assert su_target(made) == target


def test_su_to_a_user_needs_that_users_password() -> None:
    with pytest.raises(InputError) as caught:
        config(ansible_user="deploy", ansible_become_user="app", **SU)
    assert "becomes app with su, which needs app's password" in str(caught.value)


# --- compile ------------------------------------------------------------------------------


def compile_play(tmp_path: Path, host_vars: dict[str, Any], play: dict[str, Any]) -> Any:
    inventory = tmp_path / "inventory.yml"
    host = {"ansible_connection": "local", "ansible_user": "deploy", **host_vars}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"h1": host}}}))
    playbook = tmp_path / "site.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", **play}], sort_keys=False))
    return compile_run(inventory, playbook).plays[0][1][0]


SU_APP = {**SU, "ansible_become_user": "app", "ansible_become_password": "pw"}
SU_ROOT = {**SU, "ansible_become_password": "pw"}
COPY = {"name": "c", "copy": {"dest": "/srv/a", "content": "x"}}
SHELL = {"name": "s", "shell": "id", "changed_when": False}


@pytest.mark.parametrize(
    ("host", "play", "user"),
    [
        (SU_APP, {"become": True, "tasks": [COPY]}, "app"),
        (SU_APP, {"become": True, "tasks": [{**COPY, "become_user": "app"}]}, "app"),
        (SU_ROOT, {"become": True, "become_user": "app", "tasks": [COPY]}, "app"),
        (SU_APP, {"become": True, "tasks": [{"block": [SHELL], "become_user": "app"}]}, "app"),
        # su root: a task's become_user is reached from root (runuser), as with sudo
        (SU_ROOT, {"become": True, "tasks": [{**COPY, "become_user": "db"}]}, "root"),
        # a step that does not become may name any become_user: it is not used
        (SU_APP, {"tasks": [{**COPY, "become_user": "root"}]}, "app"),
        (SU_APP, {"tasks": [{**COPY, "become": False, "become_user": "db"}]}, "app"),
    ],
)
def test_compiled_under_su(tmp_path: Path, host: dict, play: dict, user: str) -> None:
    host_play = compile_play(tmp_path, host, play)
    assert su_target(host_play.host) == user
    assert all(task.become == play.get("become", False) for task in host_play.tasks)


@pytest.mark.parametrize(
    ("host", "play", "line_of"),
    [
        (SU_APP, {"become": True, "tasks": [{**COPY, "become_user": "root"}]}, "become_user"),
        (SU_APP, {"become": True, "tasks": [{**COPY, "become_user": "db"}]}, "become_user"),
        (
            SU_ROOT,
            {"become": True, "become_user": "app", "tasks": [{**COPY, "become_user": "db"}]},
            "become_user",
        ),
        (
            SU_APP,
            {"become": True, "tasks": [{"block": [SHELL], "become_user": "db"}]},
            "become_user",
        ),
        # the block names the user, the task inside becomes
        (
            SU_APP,
            {"tasks": [{"block": [{**SHELL, "become": True}], "become_user": "db"}]},
            "become_user",
        ),
        (SU_APP, {"tasks": [{**COPY, "become": True, "become_user": "root"}]}, "become_user"),
    ],
)
def test_another_user_under_su_to_a_user_is_refused(
    tmp_path: Path, host: dict, play: dict, line_of: str
) -> None:
    with pytest.raises(InputError) as caught:
        compile_play(tmp_path, host, play)
    text = str(caught.value)
    assert "differs from the user su becomes on host 'h1' (app)" in text
    assert "site.yml:" in text and "pw" not in text
    assert caught.value.hint and "become_method sudo" in caught.value.hint
    assert ("runuser" in caught.value.hint) == ("become_user: root`" not in text)


def test_play_become_user_under_su_needs_its_password(tmp_path: Path) -> None:
    # the host's own check comes first (it names the host's become user, and says a play's
    # overrides it); with the host becoming its login user, the play's check names the play
    with pytest.raises(InputError) as caught:
        compile_play(tmp_path, SU, {"become": True, "become_user": "app", "tasks": [COPY]})
    assert "with su, which needs" in str(caught.value)
    assert caught.value.hint and "a play's become_user overrides" in caught.value.hint
    login_is_target = {**SU, "ansible_become_user": "deploy"}
    with pytest.raises(InputError) as caught:
        compile_play(
            tmp_path, login_is_target, {"become": True, "become_user": "app", "tasks": [COPY]}
        )
    assert "becomes app with su, which needs app's password" in str(caught.value)
    assert "site.yml:" in str(caught.value)


def test_package_task_under_su_to_a_user_is_refused_as_before(tmp_path: Path) -> None:
    task = {"name": "p", "ansible.builtin.dnf": {"name": "vim"}}
    with pytest.raises(InputError, match="manages packages and services as root"):
        compile_play(tmp_path, SU_APP, {"become": True, "tasks": [task]})
