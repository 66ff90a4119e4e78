"""`file` with `recurse: true`, symbolic modes and `state: hard`.

Symbolic modes are compared with ansible-core's own `_symbolic_mode_to_octal` on a table
of modes. The tree and hard-link facts and plans run for real on this machine (the
controller as the host, under tmp_path): the probe's command, the planned commands with
their stdin, then a second probe that must plan nothing. Hostile names (quotes, every
kind of line break, control characters, leading '-', '..', non-UTF-8 bytes) and symbolic
links pointing out of the tree are covered by class."""

from __future__ import annotations

import os
import stat
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

from provision.errors import InputError, Location
from provision.facts.kinds import FileFact
from provision.planning.model import Change, Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import TaskContext, task_types
from provision.tasks.file import MAX_TREE_ENTRIES, Entry, HardLinkFact, Tree, TreeFact
from provision.tasks.filesupport import mode_spec_problem, symbolic_mode

HOSTILE_NAMES = [
    "it's",
    'say "hi"',
    "-rf",
    "--help",
    "..x",
    "a b",
    "$(touch pwned)",
    "`id`",
    "*",
    *(f"line{b}break" for b in ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]),
    "ctl\x01\x1b[31m",
    "tab\there",
]


def make(**args: Any) -> Any:
    cls = task_types()["file"]
    where = Location("t.yml", 1)
    params = cls.coerce(cls.parse(args, where), where)
    return cls(params, TaskContext(where, None, {}))


def run_fact(fact: Any) -> Any:
    proc = subprocess.run(["sh", "-c", fact.command()], capture_output=True, env=_env())
    return fact.parse(proc.returncode, proc.stdout, proc.stderr)


def _env() -> dict[str, str]:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def probe(task: Any) -> HostState:
    return HostState({fact: run_fact(fact) for fact in task.facts()})


def apply(outcome: Outcome) -> None:
    assert isinstance(outcome, Change), outcome
    for command in outcome.commands:
        proc = subprocess.run(
            ["sh", "-c", command.script],
            input=command.stdin or b"",
            capture_output=True,
            env=_env(),
        )
        assert proc.returncode == 0, (command.script, proc.stderr)


def converge(task: Any) -> Outcome:
    """Plan, apply, re-probe: the second plan must change nothing."""
    first = task.plan(probe(task))
    apply(first)
    second = task.plan(probe(task))
    assert isinstance(second, NoOp), second
    return first


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- symbolic modes, against ansible-core --------------------------------------------------

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    basic = pytest.importorskip("ansible.module_utils.basic")

SPECS = [
    "u=rwX,g=rX,o=rX",
    "u=rwX,g=rX,o=",
    "a+x",
    "a-x",
    "go-w",
    "u+s,g+s",
    "o+t",
    "a=r",
    "u=g",
    "g=u,o=g",
    "u=rw-x+X",
    "u=,g=,o=",
    "ug+rw,o-rwx",
    "a=rwx,o-w",
    "g+X",
    "u=rwx,g=rx,o=rx,u-s",
    "o=u",
    "u+X,g=rwX",
]
MODES = [0o000, 0o600, 0o644, 0o700, 0o755, 0o4755, 0o2750, 0o1777, 0o010, 0o001]


class _Stat:
    def __init__(self, mode: int, is_dir: bool) -> None:
        self.st_mode = mode | (stat.S_IFDIR if is_dir else stat.S_IFREG)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("is_dir", [False, True])
def test_symbolic_mode_is_ansibles(spec: str, is_dir: bool) -> None:
    assert mode_spec_problem(spec) == ""
    for mode in MODES:
        theirs = basic.AnsibleModule._symbolic_mode_to_octal(_Stat(mode, is_dir), spec)
        assert symbolic_mode(spec, mode, is_dir) == theirs, (spec, oct(mode), is_dir)


@pytest.mark.parametrize(
    "spec,words",
    [
        ("+x", "without u, g, o or a"),
        ("u+x,-w", "without u, g, o or a"),
        ("ua+x", "mixes `a`"),
        ("u=rwz", "not WHO"),
        ("u", "not WHO"),
        ("", "is empty"),
        ("u=rw,", "not WHO"),
        ("u=rw\n", "not WHO"),
        ("u=rw;rm -rf /", "not WHO"),
        ("-x", "without u, g, o or a"),
    ],
)
def test_bad_symbolic_modes_are_input_errors(spec: str, words: str) -> None:
    assert words in mode_spec_problem(spec)
    with pytest.raises(InputError) as excinfo:
        make(path="/srv/x", state="directory", mode=spec)
    assert words in str(excinfo.value)


@pytest.mark.parametrize("mode", ["0640", 640, "640", "u=rw,g=r,o="])
def test_mode_forms_accepted(mode: Any, tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    target.chmod(0o600)
    converge(make(path=str(target), mode=mode))
    assert mode_of(target) == 0o640


# --- recurse: a real tree -------------------------------------------------------------------


def build_tree(root: Path, outside: Path) -> dict[str, Path]:
    root.mkdir()
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "file.txt").write_text("x")
    (root / "sub" / "deeper" / "run.sh").write_text("#!/bin/sh\n")
    (root / "sub" / "deeper" / "run.sh").chmod(0o700)
    for name in HOSTILE_NAMES:
        (root / name).write_text("x")
    (root / "dir\nwith break").mkdir()
    (root / "dir\nwith break" / "inner").write_text("x")
    os.symlink(str(outside), root / "escape")  # a link out of the tree: never followed
    os.symlink("../../outside-dir", root / "sub" / "rel-escape")
    bad = os.fsencode(str(root)) + b"/latin1-\xe9"
    with open(bad, "w") as handle:
        handle.write("x")
    return {"bad": Path(os.fsdecode(bad))}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside-file"
    outside.write_text("secret")
    outside.chmod(0o600)
    (tmp_path / "outside-dir").mkdir(mode=0o700)
    (tmp_path / "outside-dir").chmod(0o700)
    build_tree(tmp_path / "app", outside)
    return tmp_path / "app"


def all_entries(root: Path) -> list[Path]:
    found = [root]
    for base, dirs, files in os.walk(root):
        found += [Path(base) / n for n in dirs + files]
    return found


def test_recurse_symbolic_mode_sets_the_tree_and_converges(tree: Path) -> None:
    first = converge(make(path=str(tree), state="directory", recurse=True, mode="u=rwX,g=rX,o="))
    assert isinstance(first, Change)
    for path in all_entries(tree):
        if path.is_symlink():
            continue
        wanted = 0o750 if path.is_dir() else 0o640
        if path.name == "run.sh":
            wanted = 0o750  # it had an x bit: X keeps it executable
        assert mode_of(path) == wanted, (path, oct(mode_of(path)))
    # nothing outside the tree moved through the links
    assert mode_of(tree.parent / "outside-file") == 0o600
    assert mode_of(tree.parent / "outside-dir") == 0o700
    assert (tree.parent / "outside-file").read_text() == "secret"
    assert not (tree / "pwned").exists() and not Path("pwned").exists()


def test_recurse_numeric_mode_is_applied_to_files_and_dirs(tree: Path) -> None:
    converge(make(path=str(tree), state="directory", recurse=True, mode="0750"))
    for path in all_entries(tree):
        if not path.is_symlink():
            assert mode_of(path) == 0o750, path
    assert mode_of(tree.parent / "outside-file") == 0o600


def test_recurse_owner_sets_links_themselves(tree: Path) -> None:
    os.lchown(tree / "escape", 1, 1)
    os.chown(tree / "sub" / "file.txt", 1, 1)
    os.chown(tree.parent / "outside-file", 2, 2)
    task = make(path=str(tree), state="directory", recurse=True, owner="root", group="root")
    first = converge(task)
    assert isinstance(first, Change)
    assert any("owner of 2 entries" in line for line in first.summary), first.summary
    assert os.lstat(tree / "escape").st_uid == 0
    assert os.stat(tree.parent / "outside-file").st_uid == 2  # the link's target untouched


def test_recurse_on_a_missing_directory_creates_it(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir"
    converge(make(path=str(target), state="directory", recurse=True, mode="u=rwX,g=,o="))
    assert mode_of(target) == 0o700


def test_recurse_noop_names_the_count(tree: Path) -> None:
    task = make(path=str(tree), state="directory", recurse=True, owner="root")
    outcome = task.plan(probe(task))
    assert isinstance(outcome, NoOp) and "entries under it are as wanted" in outcome.reason


def test_tree_fact_reads_every_hostile_name_exactly(tree: Path) -> None:
    found: Tree = run_fact(TreeFact(str(tree)))
    names = {entry.path for entry in found.entries}
    for name in HOSTILE_NAMES:
        assert name.encode() in names, name
    assert b"latin1-\xe9" in names
    assert b"dir\nwith break/inner" in names
    kinds = {entry.path: entry.kind for entry in found.entries}
    assert kinds[b"escape"] == "l" and kinds[b"sub/rel-escape"] == "l"
    assert not any(path.startswith(b"escape/") for path in names)


def test_tree_fact_of_a_missing_path(tmp_path: Path) -> None:
    assert run_fact(TreeFact(str(tmp_path / "none"))) == Tree(False)
    (tmp_path / "file").write_text("x")
    assert run_fact(TreeFact(str(tmp_path / "file"))) == Tree(False)


def test_a_huge_tree_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    for index in range(MAX_TREE_ENTRIES + 5):
        (root / str(index)).touch()
    task = make(path=str(root), state="directory", recurse=True, mode="0600")
    state = probe(task)
    assert state.get(TreeFact(str(root))).truncated
    outcome = task.plan(state)
    assert isinstance(outcome, Failed) and "more than 10000 entries" in outcome.message


def test_tree_plan_from_a_table(tmp_path: Path) -> None:
    """The plan alone: chown before chmod, links never given to chmod, names escaped."""
    task = make(path="/srv/app", state="directory", recurse=True, mode="0640", owner="app")
    entries = (
        Entry("f", 0o644, "0", "root", "0", "root", b"a\nb"),
        Entry("l", 0o777, "0", "root", "0", "root", b"link"),
        Entry("d", 0o640, "5", "app", "0", "root", b"-d"),
    )
    from provision.facts.kinds import FileState

    state = HostState(
        {
            FileFact("/srv/app"): FileState(True, "directory", 0o640, "app", "root"),
            TreeFact("/srv/app"): Tree(True, entries),
        }
    )
    outcome = task.plan(state)
    assert isinstance(outcome, Change)
    assert outcome.commands[0].script.startswith("xargs -0 -r chown -h -- app")
    assert outcome.commands[0].stdin == b"/srv/app/a\nb\0/srv/app/link\0"
    assert outcome.commands[1].stdin == b"/srv/app/a\nb\0"
    assert "a\\nb" in outcome.summary[0] and "\n" not in "".join(outcome.summary)
    again = task.plan(state)  # the state after the change: nothing left
    assert isinstance(again, NoOp)


def test_tree_made_by_an_earlier_step_defers() -> None:
    task = make(path="/srv/app", state="directory", recurse=True, mode="0640")
    from provision.facts.kinds import FileState

    state = HostState({FileFact("/srv/app"): FileState(True, "directory", 0o640)}, True)
    assert isinstance(task.plan(state), Deferred)


@pytest.mark.parametrize(
    "args,words",
    [
        ({"path": "/x", "recurse": True}, "goes with `state: directory`"),
        ({"path": "/x", "state": "touch", "recurse": True}, "goes with `state: directory`"),
        ({"path": "/x", "state": "directory", "mode": "+x"}, "umask"),
        ({"path": "/x", "state": "hard"}, "needs `src`"),
        ({"path": "/x", "state": "hard", "src": "rel/y"}, "absolute path"),
        ({"path": "/x", "state": "hard", "src": "-y"}, "not starting with '-'"),
        ({"path": "/x", "state": "hard", "src": "/a\nb"}, "one line"),
        ({"path": "/x", "state": "hard", "src": "/a\u2028b"}, "one line"),
        ({"path": "/x", "state": "directory", "src": "/y"}, "goes with `state: link`"),
    ],
)
def test_native_input_errors(args: dict[str, Any], words: str) -> None:
    with pytest.raises(InputError) as excinfo:
        make(**args)
    assert words in str(excinfo.value)


# --- state: hard ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain", *HOSTILE_NAMES])
def test_hard_link_created_and_kept(tmp_path: Path, name: str) -> None:
    src = tmp_path / "src"
    src.write_text("data")
    path = tmp_path / ("-link " + name)
    first = converge(make(path=str(path), state="hard", src=str(src)))
    assert isinstance(first, Change)
    assert os.stat(path).st_ino == os.stat(src).st_ino


def test_hard_link_with_mode_and_owner(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_text("data")
    src.chmod(0o600)
    path = tmp_path / "link"
    converge(make(path=str(path), state="hard", src=str(src), mode="g+r", owner="0"))
    assert mode_of(src) == 0o640


def test_hard_link_follows_a_symlink_source(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_text("x")
    os.symlink(real, tmp_path / "sym")
    converge(make(path=str(tmp_path / "link"), state="hard", src=str(tmp_path / "sym")))
    assert os.stat(tmp_path / "link").st_ino == os.stat(real).st_ino


@pytest.mark.parametrize(
    "setup,words",
    [
        ("other", "is not a hard link to"),
        ("missing_src", "does not exist"),
        ("dir_src", "is a directory"),
        ("symlink_at_path", "is not a hard link to"),
        ("dir_at_path", "is not a hard link to"),
    ],
)
def test_hard_link_refusals(tmp_path: Path, setup: str, words: str) -> None:
    src, path = tmp_path / "src", tmp_path / "link"
    if setup != "missing_src":
        src.mkdir() if setup == "dir_src" else src.write_text("x")
    if setup == "other":
        path.write_text("other")
    if setup == "symlink_at_path":
        os.symlink(src, path)
    if setup == "dir_at_path":
        path.mkdir()
    task = make(path=str(path), state="hard", src=str(src))
    outcome = task.plan(probe(task))
    assert isinstance(outcome, Failed) and words in outcome.message, outcome
    if setup == "other":
        assert path.read_text() == "other"


def test_hard_link_fact_prints_no_path(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("x")
    answer = run_fact(HardLinkFact(str(tmp_path / "l"), str(tmp_path / "s")))
    assert answer[1] == "ABSENT" and str(tmp_path) not in answer[0]


def test_hard_link_after_an_earlier_change_defers() -> None:
    task = make(path="/srv/l", state="hard", src="/srv/s")
    state = HostState({HardLinkFact("/srv/l", "/srv/s"): ("ABSENT", "ABSENT")}, True)
    outcome = task.plan(state)
    assert isinstance(outcome, Deferred) and outcome.facts
