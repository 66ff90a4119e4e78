"""lineinfile `backrefs`, `insertafter`/`insertbefore` (EOF/BOF): the `line` type's edit
against Ansible's own lineinfile `present()` (ansible-core in the dev venv, run in check
mode on a scratch file) on a table of files, plus the inputs refused before any host."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from provision.errors import InputError
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Failed, HostState, NoOp
from provision.tasks.line import backref_problem, edit_lines

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    lineinfile = pytest.importorskip("ansible.modules.lineinfile")


class _Exit(Exception):
    def __init__(self, **result: Any) -> None:
        self.result = result


class _CheckModeModule:
    """What lineinfile's present() asks of its module, in check mode with diff."""

    check_mode = True
    _diff = True

    def fail_json(self, **result: Any) -> None:
        raise AssertionError(f"ansible lineinfile failed: {result}")

    def exit_json(self, **result: Any) -> None:
        raise _Exit(**result)


def ansible_edit(tmp_path: Path, text: str, **args: Any) -> str:
    """The file's text after Ansible's lineinfile state=present (check mode: the diff)."""
    dest = tmp_path / "f.conf"
    dest.write_bytes(text.encode("utf-8", "surrogateescape"))
    original = lineinfile.check_file_attrs
    lineinfile.check_file_attrs = lambda module, changed, msg, diff: (msg, changed)
    try:
        lineinfile.present(
            _CheckModeModule(),
            str(dest),
            args.get("regexp"),
            None,
            args["line"],
            args.get("insertafter"),
            args.get("insertbefore"),
            False,
            False,
            args.get("backrefs", False),
            False,
        )
    except _Exit as done:
        diff = done.result["diff"]
        return (diff[0] if isinstance(diff, list) else diff)["after"]
    finally:
        lineinfile.check_file_attrs = original
    raise AssertionError("present() did not exit")


FILES = [
    "",
    "a=1\n",
    "a=1\nb=2\nc=3\n",
    "ListenAddress 0.0.0.0\n#Port 22\nPort 2222\n",
    "x\nx\nx\n",
    "no newline at the end",
    "key = 'quoted \"value\"' ; $(x)\n-dash=1\n../up=2\n",
    "tab\there\nline\x0bwith vt\nline\x85nel\nline\u2028ls\n",
    "ünï=1\n秘密=2\n",
]

BACKREFS = [
    # (regexp, line)
    (r"^(\w+)=(\d+)$", r"\1=\2\2"),
    (r"^a=(\d+)", r"a=\1-new"),
    (r"^(?P<key>b)=(?P<value>.*)$", r"\g<key>=[\g<value>]"),
    (r"^#?Port (\d+)", r"Port \1"),
    (r"^nomatch(.*)", r"\1"),
    (r"^x$", "y"),
    (r"^(x)$", r"\g<1>\g<1>"),
    (r"^(key) = (.*)$", r"\1=\2"),
    (r"^(-dash)=1", r"\1=\\"),
    (r"^(秘密)=(\d)", r"\2=\1"),
    (r"(with)", r"\1 it"),
]


@pytest.mark.parametrize("text", FILES, ids=[f"f{i}" for i in range(len(FILES))])
@pytest.mark.parametrize("regexp, line", BACKREFS)
def test_backrefs_match_ansible(tmp_path: Path, text: str, regexp: str, line: str) -> None:
    theirs = ansible_edit(tmp_path, text, regexp=regexp, line=line, backrefs=True)
    # Ansible matches bytes, where \\w and \\d are ASCII only; provision matches text
    # (a known difference, in docs/ansible.md): with `(?a)` both read the same
    assert edit_lines(text, line, "(?a)" + regexp, "present", None, backrefs=True) == theirs
    ours = edit_lines(text, line, regexp, "present", None, backrefs=True)
    if text.isascii():
        assert ours == theirs
    # converged: the same edit on its own result gives what Ansible gives on it
    again = edit_lines(ours, line, regexp, "present", None, backrefs=True)
    if ours.isascii():
        assert again == ansible_edit(tmp_path, ours, regexp=regexp, line=line, backrefs=True)


INSERTS = [
    # (regexp, line, insertafter, insertbefore)
    (None, "new=1", "EOF", None),
    (None, "new=1", None, "BOF"),
    (None, "new=1", "^b=", None),
    (None, "new=1", None, "^b="),
    (None, "new=1", "^nomatch", None),
    (None, "new=1", None, "^nomatch"),
    (None, "x", "^a", None),
    (r"^new=", "new=2", "^a=", None),
    (r"^a=", "a=9", "EOF", None),
    (r"^nomatch=", "z=1", None, "^c="),
    (None, "Port 22", r"^#Port", None),
    (None, "Port 22", None, r"^Port"),
]


@pytest.mark.parametrize("text", FILES, ids=[f"f{i}" for i in range(len(FILES))])
@pytest.mark.parametrize("regexp, line, after, before", INSERTS)
def test_insertafter_insertbefore_match_ansible(
    tmp_path: Path, text: str, regexp: str | None, line: str, after: str | None, before: str | None
) -> None:
    ours = edit_lines(text, line, regexp, "present", None, after, before)
    theirs = ansible_edit(
        tmp_path, text, regexp=regexp, line=line, insertafter=after, insertbefore=before
    )
    assert ours == theirs


PROBLEMS = [
    (r"^(a)=", r"\2", "refers to group 2, but `regexp` has 1"),
    (r"^a=", r"\1", "refers to group 1, but `regexp` has 0"),
    (r"^(?P<k>a)", r"\g<v>", "names a group `regexp` does not have"),
    (r"^(a)", r"\g<3>", "refers to a group"),
    (r"^(a)", r"\n\1", "`\\n` is not a group reference"),
    (r"^(a)", r"\t", "`\\t` is not a group reference"),
    (r"^(a)", r"\0", "`\\0` is not a group reference"),
    (r"^(a)", r"\123", "ambiguous"),
    (r"^(a)", "end\\", "`\\` is not a group reference"),
]


@pytest.mark.parametrize("regexp, line, message", PROBLEMS)
def test_backref_problems(regexp: str, line: str, message: str) -> None:
    problem = backref_problem(line, regexp)
    assert problem is not None and message in problem


@pytest.mark.parametrize("line", [r"\1", r"a\1b", r"\g<name>", r"\\", r"\1\g<1>", "plain"])
def test_backref_lines_accepted(line: str) -> None:
    assert backref_problem(line, r"^(?P<name>a)") is None


BASE = {"path": "/etc/ssh/sshd_config", "regexp": r"^#?(Port) (\d+)", "line": r"\1 \2"}
REFUSED = [
    ({"regexp": None}, "`backrefs` needs `regexp`"),
    ({"state": "absent", "line": None}, None),  # absent: Ansible ignores backrefs
    ({"insertafter": "EOF"}, "do not go with `backrefs`"),
    ({"insertbefore": "^x"}, "do not go with `backrefs`"),
    ({"line": r"\3"}, "refers to group 3"),
    ({"line": "\\1\\n"}, "is not a group reference"),
    ({"line": "\\1\n"}, "one line of text"),
    ({"line": "\\1\u2028"}, "one line of text"),
    ({"regexp": "(a+)+"}, "exponential time"),
]


@pytest.mark.parametrize("change, message", REFUSED)
def test_backrefs_inputs_refused_before_any_host(compile_one: Any, change: dict, message: str):
    args = {**BASE, "backrefs": "yes", **change}
    args = {k: v for k, v in args.items() if v is not None}
    task = {"name": "t", "ansible.builtin.lineinfile": args}
    if message is None:
        compile_one(task)
        return
    with pytest.raises(InputError) as caught:
        compile_one(task)
    assert message in str(caught.value)
    assert "site.yml:" in str(caught.value)


def _plan(compiled: Any, text: str) -> Any:
    task = compiled.task
    fact = FileFact(task.params.path)
    state = FileState(exists=True, content=text.encode())
    return task.plan(HostState({fact: state}))


def test_backrefs_plan_change_then_noop(compile_one: Any) -> None:
    compiled = compile_one({"name": "t", "lineinfile": {**BASE, "backrefs": True}})
    assert compiled.task.params.backrefs is True
    assert isinstance(_plan(compiled, "#Port 22\nX 1\n"), Change)
    assert isinstance(_plan(compiled, "Port 22\nX 1\n"), NoOp)
    # no match: nothing to write, however the file looks (Ansible's rule)
    assert isinstance(_plan(compiled, "Other 1\n"), NoOp)


def test_backrefs_expanded_line_checked_for_an_ini_file(compile_one: Any) -> None:
    compiled = compile_one(
        {
            "name": "t",
            "lineinfile": {
                "path": "/etc/dnf/dnf.conf",
                "regexp": r"^#(.*)$",
                "line": r"\1",
                "backrefs": True,
            },
        }
    )
    assert isinstance(_plan(compiled, "[main]\n#proxy=x\n"), Change)
    failed = _plan(compiled, "[main]\n#[other]\n")
    assert isinstance(failed, Failed)
    assert "the line `backrefs` makes" in failed.message
