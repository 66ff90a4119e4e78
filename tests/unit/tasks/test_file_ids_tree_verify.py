"""`file`: a numeric `owner`/`group` on the top path is compared with its uid/gid (no change
planned on every run), and `provision verify` of `recurse: true` checks every entry under
the directory (owner, group, mode; bounded at MAX_TREE_ENTRIES). Tables: plans from
facts, the top path's check and the tree's check on fake testinfra hosts, and the tree's
check on a real tree of this machine (a local testinfra host)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provision.errors import Location
from provision.facts.kinds import CommandResult, FileFact, FileState
from provision.planning.model import Change, HostState, NoOp
from provision.tasks.base import TaskContext, checkers, task_types
from provision.tasks.file import MAX_TREE_ENTRIES, TreeFact, ids_fact
from provision.verify.checks import check


def make(**args: Any) -> Any:
    cls = task_types()["file"]
    where = Location("t.yml", 1)
    params = cls.coerce(cls.parse(args, where), where)
    return cls(params, TaskContext(where, None, {}))


def state_of(
    task: Any, owner: str, group: str, ids: str | None, kind: str = "directory"
) -> HostState:
    facts: dict = {FileFact(task.params.path): FileState(True, kind, 0o755, owner, group)}
    if ids is not None:
        facts[ids_fact(task.params.path)] = CommandResult(0, ids, "")
    return HostState(facts)


# (args, file's owner, group, `stat %u:%g`, expected chown command or None)
IDS = {
    "owner 0 on root": ({"owner": "0"}, "root", "root", "0:0", None),
    "owner 00 on root": ({"owner": "00"}, "root", "root", "0:0", None),
    "owner 0 on app": ({"owner": "0"}, "app", "app", "1000:1000", "chown -- 0:app /d"),
    "owner 1000 on app": ({"owner": "1000"}, "app", "app", "1000:1000", None),
    "owner 1000 with no name": ({"owner": "1000"}, "UNKNOWN", "UNKNOWN", "1000:1000", None),
    "owner 1001 on 1000": ({"owner": "1001"}, "app", "app", "1000:1000", "chown -- 1001:app /d"),
    "group 0 on root": ({"group": "0"}, "root", "root", "0:0", None),
    "group 10 on wheel": ({"group": "10"}, "root", "wheel", "0:10", None),
    "group 10 on root": ({"group": "10"}, "root", "root", "0:0", "chown -- root:10 /d"),
    "both numeric": ({"owner": "0", "group": "0"}, "root", "root", "0:0", None),
    "numeric owner, named group": ({"owner": "0", "group": "root"}, "root", "root", "0:0", None),
    "numeric owner, other group": (
        {"owner": "0", "group": "wheel"},
        "root",
        "root",
        "0:0",
        "chown -- 0:wheel /d",
    ),
    "named owner": ({"owner": "root"}, "root", "root", None, None),
    "named owner differs": ({"owner": "app"}, "root", "root", None, "chown -- app:root /d"),
    # a path an earlier step made (no ids probed): compared as the earlier step left it
    "ids unknown, names match": ({"owner": "1000"}, "1000", "root", "ABSENT", None),
    "ids garbled, names differ": ({"owner": "0"}, "root", "root", "x:y", "chown -- 0:root /d"),
    "huge id": (
        {"owner": "99999999999999999999"},
        "root",
        "root",
        "0:0",
        "chown -- 99999999999999999999:root /d",
    ),
}


@pytest.mark.parametrize("state", ["directory", "file"])
@pytest.mark.parametrize(("args", "owner", "group", "ids", "chown"), IDS.values(), ids=IDS.keys())
def test_numeric_owner_and_group_compare_ids(
    state: str, args: dict, owner: str, group: str, ids: str | None, chown: str | None
) -> None:
    task = make(path="/d", state=state, **args)
    numeric = any(str(v).isdigit() for v in args.values())
    assert (ids_fact("/d") in task.facts()) == numeric  # read only when needed
    kind = "directory" if state == "directory" else "regular file"
    host = state_of(task, owner, group, ids if numeric else None, kind)
    outcome = task.plan(host)
    if chown is None:
        assert isinstance(outcome, NoOp), outcome
        return
    assert isinstance(outcome, Change), outcome
    assert [c.script for c in outcome.commands] == [chown]
    assert isinstance(task.plan(host), NoOp)  # on the state the change left: nothing more


def test_the_ids_fact_quotes_its_path() -> None:
    fact = ids_fact("/a b/'x")
    assert fact.command() == "stat -L -c '%u:%g' -- '/a b/'\"'\"'x' 2>/dev/null || echo ABSENT"


# --- verify: the top path --------------------------------------------------------------


@dataclass
class FakeFile:
    exists: bool = True
    is_directory: bool = True
    mode: int = 0o755
    user: str = "root"
    group: str = "root"
    uid: int = 0
    gid: int = 0


@dataclass
class FakeRun:
    rc: int
    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""


@dataclass
class FakeHost:
    files: dict[str, FakeFile] = field(default_factory=dict)
    tree: bytes | None = None  # the find listing (None: not a directory)
    rc: int = 0

    def file(self, path: str) -> FakeFile:
        return self.files.get(path, FakeFile(exists=False))

    def run(self, command: str) -> FakeRun:
        assert command == TreeFact("/d").command()
        if self.tree is None:
            return FakeRun(0, b"NODIR")
        return FakeRun(self.rc, self.tree, b"find: boom" if self.rc else b"")


def problems(task: Any, host: FakeHost) -> list[str | None]:
    assert all(a.kind in checkers() for a in task.assertions())
    return [check(host, a) for a in task.assertions()]


# (args, the top path, expected problem substring or None)
TOP = {
    "uid 0 for owner 0": ({"owner": "0"}, FakeFile(), None),
    "uid 0 for owner 00": ({"owner": "00"}, FakeFile(), None),
    "uid 1000 for owner 0": ({"owner": "0"}, FakeFile(user="app", uid=1000), "owner is not 0"),
    "uid 1000, no name": ({"owner": "1000"}, FakeFile(user="1000", uid=1000), None),
    "gid 10 for group 10": ({"group": "10"}, FakeFile(group="wheel", gid=10), None),
    "gid 0 for group 10": ({"group": "10"}, FakeFile(), "group is not 10"),
    "named owner": ({"owner": "root"}, FakeFile(), None),
    "named owner differs": ({"owner": "app"}, FakeFile(), "owner is not app (it is root)"),
    "symbolic mode holds": ({"mode": "u=rwX,g=rX,o="}, FakeFile(mode=0o750), None),
    "symbolic mode differs": (
        {"mode": "u=rwX,g=rX,o="},
        FakeFile(mode=0o755),
        "expected 0750 (u=rwX,g=rX,o=)",
    ),
    "octal mode": ({"mode": "0700"}, FakeFile(mode=0o755), "has mode 0755, expected 0700"),
    "not a directory": ({"mode": "0700"}, FakeFile(mode=0o700, is_directory=False), "not a dir"),
}


@pytest.mark.parametrize(("args", "top", "problem"), TOP.values(), ids=TOP.keys())
def test_top_path_check(args: dict, top: FakeFile, problem: str | None) -> None:
    task = make(path="/d", state="directory", **args)
    [found] = problems(task, FakeHost({"/d": top}))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


# --- verify: the tree ------------------------------------------------------------------


def listing(*entries: tuple[str, int, int, str, int, str, bytes]) -> bytes:
    return b"".join(
        b"%s/%o/%d/%s/%d/%s/%s\0" % (k.encode(), m, u, o.encode(), g, gr.encode(), p)
        for k, m, u, o, g, gr, p in entries
    )


GOOD_FILE = ("f", 0o644, 0, "root", 0, "root", b"a")
GOOD_DIR = ("d", 0o755, 0, "root", 0, "root", b"sub")
LINK = ("l", 0o777, 0, "root", 0, "root", b"sub/link")
HOSTILE = [
    b"it's",
    b"-rf",
    b"..x",
    b"a\nb",
    b"a\rb",
    b"a\x0bb",
    b"a\x0cb",
    b"\xc2\x85",
    b"\x1b[31m",
]

# (args, listing, expected problem substrings, or [] for none)
TREE = {
    "all as wanted": ({"owner": "root", "mode": "0755"}, [GOOD_DIR], []),
    "numeric owner matches uid": ({"owner": "0"}, [GOOD_FILE, GOOD_DIR], []),
    "numeric owner differs": (
        {"owner": "1000"},
        [GOOD_FILE],
        ["1 not owner 1000: a (0)"],
    ),
    "named owner differs": (
        {"owner": "app"},
        [GOOD_FILE, GOOD_DIR],
        ["2 not owner app: a (root), sub (root)"],
    ),
    "group differs": ({"group": "wheel"}, [GOOD_FILE], ["1 not group wheel: a (root)"]),
    "octal mode on a file": ({"mode": "0755"}, [GOOD_FILE], ["1 not mode 0755: a (0644)"]),
    "symbolic X keeps files plain": ({"mode": "u=rwX,g=rX,o=rX"}, [GOOD_FILE, GOOD_DIR], []),
    "symbolic mode differs": (
        {"mode": "u=rwX,g=rX,o="},
        [GOOD_FILE],
        ["1 not mode u=rwX,g=rX,o=: a (0644)"],
    ),
    "a link has no mode": ({"mode": "0700", "owner": "root"}, [LINK], []),
    "a link's owner counts": ({"owner": "app"}, [LINK], ["not owner app: sub/link (root)"]),
    "many wrong, three shown": (
        {"owner": "app"},
        [("f", 0o644, 0, "root", 0, "root", b"f%d" % i) for i in range(7)],
        ["7 not owner app: f0 (root), f1 (root), f2 (root) and 4 more"],
    ),
    "owner and mode both": (
        {"owner": "app", "mode": "0600"},
        [GOOD_FILE],
        ["not owner app", "not mode 0600"],
    ),
    "empty tree": ({"owner": "app"}, [], []),
}
SHOWN = ["it's", "-rf", "..x", "a\\nb", "a\\rb", "a\\x0bb", "a\\x0cb", "\\x85", "\\x1b[31m"]
for raw, shown in zip(HOSTILE, SHOWN, strict=True):
    TREE[f"name {shown}"] = (
        {"owner": "app"},
        [("f", 0o644, 0, "root", 0, "root", raw)],
        [f"1 not owner app: {shown} (root)"],
    )


@pytest.mark.parametrize(("args", "entries", "words"), TREE.values(), ids=TREE.keys())
def test_tree_check(args: dict, entries: list, words: list[str]) -> None:
    task = make(path="/d", state="directory", recurse=True, **args)
    kinds = [a.kind for a in task.assertions()]
    assert kinds == ["file", "file_tree"]
    top = FakeFile(user=args.get("owner", "root"), group=args.get("group", "root"))
    if args.get("owner", "").isdigit():
        top = FakeFile(uid=int(args["owner"]))
    if isinstance(task.params.mode, int):
        top.mode = task.params.mode
    elif task.params.mode:
        top.mode = 0o755 if "o=rX" in task.params.mode else 0o750
    host = FakeHost({"/d": top}, listing(*entries))
    first, found = problems(task, host)
    assert first is None
    if not words:
        assert found is None, found
        return
    assert found is not None
    assert found.startswith(f"under /d (of {len(entries)} entries): ")
    for word in words:
        assert word in found, (word, found)
    assert "\n" not in found and "\r" not in found and "\x1b" not in found


@pytest.mark.parametrize(
    ("host", "words"),
    [
        (FakeHost(tree=None), "/d is not a directory"),
        (
            FakeHost(tree=listing(*[GOOD_FILE] * (MAX_TREE_ENTRIES + 1))),
            f"more than {MAX_TREE_ENTRIES} entries: not checked",
        ),
        (FakeHost(tree=b"", rc=1), "cannot list /d: find: boom"),
        (FakeHost(tree=b"garbled"), "an unended record"),
    ],
    ids=["not a directory", "too many entries", "find failed", "garbled"],
)
def test_tree_check_refuses_what_it_cannot_read(host: FakeHost, words: str) -> None:
    task = make(path="/d", state="directory", recurse=True, owner="root")
    host.files["/d"] = FakeFile()
    found = problems(task, host)[1]
    assert found is not None and words in found


def test_no_tree_check_without_anything_to_check() -> None:
    task = make(path="/d", state="directory", recurse=True)
    assert [a.kind for a in task.assertions()] == ["file"]
    assert [a.kind for a in make(path="/d", state="directory", owner="0").assertions()] == ["file"]


def test_tree_check_on_a_real_tree(tmp_path: Path) -> None:
    testinfra = pytest.importorskip("testinfra")
    top = tmp_path / "top"
    (top / "sub" / "deep").mkdir(parents=True)
    (top / "sub" / "deep" / "f").write_text("x")
    (top / "g").write_text("y")
    (top / "link").symlink_to("/etc/passwd")
    for path in (top, top / "sub", top / "sub" / "deep"):
        path.chmod(0o750)
    for path in (top / "sub" / "deep" / "f", top / "g"):
        path.chmod(0o640)
    uid, gid = os.getuid(), os.getgid()
    task = make(
        path=str(top), state="directory", recurse=True, mode="u=rwX,g=rX,o=", owner=str(uid)
    )
    host = testinfra.get_host("local://")
    assert [check(host, a) for a in task.assertions()] == [None, None]
    (top / "sub" / "deep" / "f").chmod(0o644)
    found = check(host, task.assertions()[1])
    assert found is not None and "1 not mode u=rwX,g=rX,o=: sub/deep/f (0644)" in found
    wrong = make(path=str(top), state="directory", recurse=True, group=str(gid + 1))
    found = check(host, wrong.assertions()[1])
    assert found is not None and f"5 not group {gid + 1}" in found  # the link's group too
