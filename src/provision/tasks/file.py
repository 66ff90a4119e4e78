"""`file`: an existing file's mode and owner, an empty file made when missing, a symlink."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import CaseFacts, Fact, FactError, FactKind, tail
from provision.facts.kinds import CommandFact, CommandResult, FileFact, FileState, parse_mode
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Failed,
    HostState,
    NoOp,
    Outcome,
)
from provision.project.fileformats import line_problem
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.filesupport import (
    DEFAULT_FILE_MODE,
    as_user_problem,
    mode_spec_problem,
    wanted_mode,
)

#: the most entries `recurse: true` reads and sets under one directory
MAX_TREE_ENTRIES = 10_000


def shown_path(raw: bytes) -> str:
    """A path for a message: undecodable bytes and control characters escaped."""
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(
        c if c.isprintable() and c not in "\u2028\u2029" else repr(c)[1:-1] for c in text
    )


@dataclass(frozen=True)
class Entry:
    """One entry under a directory, as `find -printf` reports it (its path relative to
    the directory, as bytes: a name may hold any byte but / and NUL)."""

    kind: str  # find's %y: f d l b c p s
    mode: int
    uid: str
    owner: str
    gid: str
    group: str
    path: bytes


@dataclass(frozen=True)
class Tree:
    """What is under a directory (never following a symbolic link inside it), or
    `exists=False` when the path is not a directory; `truncated` past MAX_TREE_ENTRIES."""

    exists: bool
    entries: tuple[Entry, ...] = ()
    truncated: bool = False


@dataclass(frozen=True)
class TreeFact(FactKind):
    """Every entry under a directory, symbolic links listed and never followed (find -P
    below the top: `-H` follows only `path` itself, as the `file` fact does), NUL-ended
    records, at most MAX_TREE_ENTRIES + 1 of them."""

    kind = "file_tree"
    path: str
    slow: bool = True

    def command(self) -> str:
        p = shlex.quote(self.path)
        return (
            f"if [ -d {p} ]; then find -H {p} -mindepth 1 -printf '%y/%m/%U/%u/%G/%g/%P\\0'"
            f" | head -z -n {MAX_TREE_ENTRIES + 1}; else printf NODIR; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> Tree:
        if stdout == b"NODIR":
            return Tree(False)
        if rc != 0:
            raise FactError(f"cannot list {self.path}: {tail(stderr)}")
        records = stdout.split(b"\0")
        if records[-1] != b"":
            raise FactError(f"unexpected listing of {self.path}: an unended record")
        entries = []
        for record in records[:-1]:
            parts = record.split(b"/", 6)
            if len(parts) != 7 or not parts[1].isdigit() or not parts[6]:
                raise FactError(f"unexpected listing of {self.path}: {shown_path(record)!r}")
            kind, mode, uid, owner, gid, group = (x.decode("utf-8", "replace") for x in parts[:6])
            entries.append(Entry(kind, int(mode, 8), uid, owner, gid, group, parts[6]))
        truncated = len(entries) > MAX_TREE_ENTRIES
        return Tree(True, tuple(entries[:MAX_TREE_ENTRIES]), truncated)

    def describe(self) -> str:
        return f"tree {self.path}"

    def case_value(self, case: CaseFacts) -> Tree:
        """`trees: {PATH: [{path, kind: f|d|l, mode: "0644", owner, group}, ...]}`; a path
        not listed is not a directory."""
        spec = case.section("trees").get(self.path)
        if spec is None:
            return Tree(False)
        return Tree(
            True,
            tuple(
                Entry(
                    e.get("kind", "f"),
                    parse_mode(e.get("mode", "0644")) or 0,
                    str(e.get("uid", 0)),
                    e.get("owner", "root"),
                    str(e.get("gid", 0)),
                    e.get("group", "root"),
                    str(e["path"]).encode(),
                )
                for e in spec
            ),
        )


@dataclass(frozen=True)
class HardLinkFact(FactKind):
    """`src` (followed, as a hard link is made to what a symbolic link names) and `path`
    (not followed): `KIND/DEV:INODE` of each, `path` with its mode, owner and group too;
    `ABSENT` for one that does not exist. Paths are never printed."""

    kind = "hard_link"
    path: str
    src: str
    slow: bool = False

    def command(self) -> str:
        s, p = shlex.quote(self.src), shlex.quote(self.path)
        return (
            f"s=$(stat -L -c '%F/%d:%i/%a/%U/%G/%u/%g' -- {s} 2>/dev/null) || s=ABSENT;"
            f" p=$(stat -c '%F/%d:%i/%a/%U/%G/%u/%g' -- {p} 2>/dev/null) || p=ABSENT;"
            ' printf \'%s\\n%s\\n\' "$s" "$p"'
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> tuple[str, ...]:
        lines = stdout.decode("utf-8", "replace").split("\n")
        if rc != 0 or len(lines) != 3 or lines[2]:
            raise FactError(f"cannot read {self.path} and {self.src}: {tail(stderr)}")
        return (lines[0], lines[1])

    def describe(self) -> str:
        return f"hard link {self.path}"

    def case_value(self, case: CaseFacts) -> tuple[str, ...]:
        """`hard_links: {PATH: [SRC_ANSWER, PATH_ANSWER]}` as the command prints them
        (`KIND/DEV:INODE/MODE/OWNER/GROUP/UID/GID` or `ABSENT`)."""
        spec = case.section("hard_links").get(self.path, ["ABSENT", "ABSENT"])
        return (str(spec[0]), str(spec[1]))


def link_fact(path: str) -> CommandFact:
    """`L:TARGET` for a symlink, `E` for anything else that exists, `A` for nothing."""
    p = shlex.quote(path)
    return CommandFact(
        f"if [ -L {p} ]; then printf 'L:'; readlink -- {p}; elif [ -e {p} ]; then echo E;"
        " else echo A; fi"
    )


def ids_fact(path: str) -> CommandFact:
    """`UID:GID` of what `path` names (followed, as the `file` fact's stat does), `ABSENT`
    for nothing: read only when a task gives a numeric `owner` or `group`."""
    p = shlex.quote(path)
    return CommandFact(f"stat -L -c '%u:%g' -- {p} 2>/dev/null || echo ABSENT")


def _numeric(value: str | None) -> bool:
    return value is not None and value.isdigit()


class File(TaskType):
    """`file`: a file's or directory's mode and owner, an empty file, a link, or a tree

    `state: file` (the default) sets the mode, owner and group given on a file that must
    exist (it is never created). `state: touch` creates an empty file when it is missing
    (0644 root:root unless given) and otherwise only sets what is given (times are not
    touched, so a second run changes nothing). `state: link` makes `path` a symbolic link
    to `src`; a link to another target is replaced, anything else at `path` fails the
    task. `state: hard` makes `path` a hard link to `src` (an absolute path; a symbolic
    link is followed, as Ansible does): nothing at `path` is created as the link, a hard
    link to the same file is kept, anything else at `path` fails the task (Ansible's
    `force: true`, which replaces it, is refused); `mode`, `owner` and `group` then apply
    to the linked file. `state: directory` creates a missing directory with its parents
    (0755 root:root unless given) and sets only what is given on an existing one, as
    Ansible's `file` does (the `directory` type sets its defaults too).

    `mode` is octal (`'0640'`) or symbolic as chmod and Ansible write it (`u=rwX,g=rX,o=`,
    `a+x`, `go-w`; `X` is x for a directory or an entry that already has an x bit); a
    clause without u/g/o/a (`+x`) is refused, since Ansible applies the host's umask to it.

    `recurse: true` (with `state: directory`) also sets `owner`, `group` and `mode` on
    every entry under the directory, as Ansible does: a numeric mode on files and
    directories alike (write `u=rwX,g=rX,o=rX` to keep files non-executable). The probe
    lists the tree (at most 10,000 entries: a larger tree fails the task, use a command).
    Symbolic links inside the tree are never followed, as Ansible's `follow: false`: a
    link gets the owner and group itself (`chown -h`), never a mode (Linux links have
    none), and nothing outside the tree is touched. Removal: the `directory` type.
    """

    type_name = "file"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the file (an absolute path)")
        state: str = arg(
            "file",
            choices=("file", "directory", "touch", "link", "hard"),
            doc="what `path` must be",
        )
        src: str | None = arg(
            None, doc="the link's target (`state: link`, as written; `hard`: an absolute path)"
        )
        mode: Any = arg(
            None, kind="any", doc="its mode: octal (`'0644'`) or symbolic (`u=rwX,g=rX`)"
        )
        owner: str | None = arg(None, doc="its owner (not for links)")
        group: str | None = arg(None, doc="its group (not for links)")
        recurse: bool = arg(False, doc="with `state: directory`: set the above on the tree too")

    params: Params

    def describe(self) -> str:
        return f"{self.params.state} {self.params.path}"

    def validate(self) -> None:
        p = self.params
        self._check_mode()
        if p.recurse and p.state != "directory":
            raise self.fail("`recurse: true` goes with `state: directory`", arg="recurse")
        if p.state in ("link", "hard"):
            if p.src is None:
                raise self.fail(f"`state: {p.state}` needs `src` (the link's target)")
            problem = line_problem(p.src)
            if problem or not p.src or p.src.startswith("-"):
                raise self.fail(
                    f"`src` must be a path on one line, not starting with '-' {problem or ''}",
                    arg="src",
                )
            if p.state == "hard" and not p.src.startswith("/"):
                raise self.fail("`src` of a hard link must be an absolute path", arg="src")
            given = [k for k in ("mode", "owner", "group") if getattr(p, k) is not None]
            if given and p.state == "link":
                raise self.fail(f"`{given[0]}` is not supported with `state: link`")
        elif p.src is not None:
            raise self.fail("`src` goes with `state: link` or `state: hard`", arg="src")

    def _check_mode(self) -> None:
        p = self.params
        if p.mode is None:
            return
        octal = parse_mode(p.mode)
        if octal is not None:
            p.mode = octal
            return
        problem = mode_spec_problem(p.mode) if isinstance(p.mode, str) else "is not a mode"
        if problem:
            raise self.fail(
                f"`mode` {problem}",
                hint="an octal mode like '0644', or a symbolic one like u=rwX,g=rX,o=",
                arg="mode",
            )

    def facts(self) -> list[Fact]:
        p = self.params
        if p.state == "link":
            return [link_fact(p.path)]
        if p.state == "hard":
            assert p.src is not None
            return [HardLinkFact(p.path, p.src)]
        facts: list[Fact] = [FileFact(p.path)]
        if _numeric(p.owner) or _numeric(p.group):
            facts.append(ids_fact(p.path))
        if p.recurse:
            facts.append(TreeFact(p.path))
        return facts

    def plan(self, state: HostState) -> Outcome:
        if self.params.state == "link":
            return self._plan_link(state)
        if self.params.state == "hard":
            return self._plan_hard(state)
        p = self.params
        if p.recurse and (state.after_changes or not state.has(TreeFact(p.path))):
            # an earlier step may add entries under it: read the tree at apply
            return Deferred(f"set {p.path} and the tree under it", self.facts())
        outcome = self._plan_path(state)
        if not self.params.recurse or isinstance(outcome, Failed | Deferred):
            return outcome
        return self._plan_tree(state, outcome)

    def _plan_path(self, state: HostState) -> Outcome:
        p = self.params
        fact = FileFact(p.path)
        current: FileState = state.get(fact)
        q = shlex.quote(p.path)
        if not current.exists and p.state in ("directory", "touch"):
            problem = self._as_user(current, self.context.become_user, None, False)
            if problem:
                return Failed(problem)
        if not current.exists and p.state == "directory":
            mode = wanted_mode(p.mode, 0o755, True)
            mode = 0o755 if mode is None else mode
            owner_group = self._owner_group()
            script = (
                f"mkdir -p -m {mode:04o} -- {q} && chown -- {shlex.quote(owner_group)} {q}"
                f" && chmod -- {mode:04o} {q}"
            )
            state.set(fact, FileState(True, "directory", mode, *self._new_owner()))
            return Change(
                [f"create directory {p.path} ({mode:04o} {owner_group})"], [Command(script, script)]
            )
        if current.exists and (p.state == "directory") != (current.kind == "directory"):
            wanted = "directory" if p.state == "directory" else "file"
            return Failed(f"{p.path} exists and is a {current.kind}, not a {wanted}")
        if not current.exists:
            if p.state == "file":
                return Failed(f"{p.path} does not exist (state: file never creates it)")
            mode = wanted_mode(p.mode, DEFAULT_FILE_MODE, False)
            mode = DEFAULT_FILE_MODE if mode is None else mode
            owner_group = self._owner_group()
            script = (
                f"set -e; umask 077; : >> {q}; chown -- {shlex.quote(owner_group)} {q};"
                f" chmod -- {mode:04o} {q}"
            )
            state.set(
                fact,
                FileState(True, "regular file", mode, *self._new_owner(), b""),
            )
            return Change(
                [f"create empty {p.path} ({mode:04o} {owner_group})"],
                [Command(script, f"touch {p.path}")],
            )
        want = wanted_mode(p.mode, current.mode, current.kind == "directory")
        ids = self._ids(state)
        commands, notes = _set_attributes(
            p.path, current.mode, current.owner, current.group, want, p.owner, p.group, ids
        )
        if not commands:
            return NoOp(f"{p.path} exists as wanted")
        problem = self._as_user(
            current, current.owner, current.group, want is not None and want != current.mode
        )
        if problem:
            return Failed(problem)
        if ids is not None:  # the ids after the change, as far as they are known
            uid, gid = ids
            new = _owned(
                Entry("f", 0, uid, current.owner, gid, current.group, b""), p.owner, p.group
            )
            state.set(ids_fact(p.path), CommandResult(0, f"{new.uid}:{new.gid}", ""))
        state.set(
            fact,
            FileState(
                True,
                current.kind,
                current.mode if want is None else want,
                p.owner or current.owner,
                p.group or current.group,
                current.content,
                current.known,
                current.sha256,
            ),
        )
        return Change(notes, commands)

    def _as_user(
        self,
        current: FileState | None,
        owner: str,
        group: str | None,
        mode_changes: bool,
        path: str | None = None,
    ) -> str:
        """Why the task's `become_user` may not set what it asks on `path` (owned by
        `owner`, in `group`; a new path is the user's own), or ''."""
        p = self.params
        return as_user_problem(
            self.context.become_user,
            path or p.path,
            current,
            owner,
            p.owner or owner,
            p.group if p.group is not None and p.group != group else None,
            mode_changes,
            str(self.context.location),
        )

    def _ids(self, state: HostState) -> tuple[str, str] | None:
        """The path's numeric (uid, gid), read when the task gives a numeric owner or
        group (compared with the ids, not the names); None otherwise or when unknown."""
        p = self.params
        if not (_numeric(p.owner) or _numeric(p.group)):
            return None
        answer = state.get(ids_fact(p.path)).stdout.strip().split(":")
        if len(answer) != 2 or not all(x.isdigit() for x in answer):
            return None  # made by an earlier step of this run: its names are what we know
        return answer[0], answer[1]

    def _new_owner(self) -> tuple[str, str]:
        """A new file's or directory's owner and group: as given, else the user the task
        runs as (root, or its `become_user`) and, for root, group root."""
        writer = self.context.become_user
        return self.params.owner or writer, self.params.group or writer

    def _owner_group(self) -> str:
        """`chown`'s argument for a new path: `USER:` (the user's login group) when the
        task runs as another user than root and no group is given."""
        writer = self.context.become_user
        group = self.params.group or ("root" if writer == "root" else "")
        return f"{self.params.owner or writer}:{group}"

    def _plan_tree(self, state: HostState, top: Outcome) -> Outcome:
        """The top directory's outcome, plus owner/group/mode on every entry under it."""
        p = self.params
        fact = TreeFact(p.path)
        tree: Tree = state.get(fact)
        if not tree.exists:  # created by this task (or an earlier one): nothing under it yet
            return top
        if tree.truncated:
            return Failed(
                f"{p.path} holds more than {MAX_TREE_ENTRIES} entries: `recurse` is limited to"
                f" {MAX_TREE_ENTRIES} (set such a tree with a command guarded by `unless:`)"
            )
        chown: list[bytes] = []
        chmod: dict[int, list[bytes]] = {}
        after: list[Entry] = []
        for entry in tree.entries:
            new = entry
            owner_differs = _differs(p.owner, entry.owner, entry.uid)
            if owner_differs or _differs(p.group, entry.group, entry.gid):
                chown.append(entry.path)
                new = _owned(new, p.owner, p.group)
            if entry.kind != "l":  # a link has no mode of its own: never passed to chmod
                want = wanted_mode(p.mode, entry.mode, entry.kind == "d")
                if want is not None and want != entry.mode:
                    chmod.setdefault(want, []).append(entry.path)
                    new = Entry(new.kind, want, new.uid, new.owner, new.gid, new.group, new.path)
            after.append(new)
            if new != entry:
                problem = self._as_user(
                    FileState(True, entry.kind, entry.mode, entry.owner, entry.group),
                    entry.owner,
                    entry.group,
                    new.mode != entry.mode,
                    f"{p.path.rstrip('/')}/{shown_path(entry.path)}",
                )
                if problem:
                    return Failed(problem)
        if not chown and not chmod:
            if isinstance(top, NoOp):
                return NoOp(f"{p.path} and the {len(tree.entries)} entries under it are as wanted")
            return top
        base = p.path.rstrip("/").encode() + b"/"
        notes = list(top.summary) if isinstance(top, Change) else []
        commands = list(top.commands) if isinstance(top, Change) else []
        if chown:
            spec = f"{p.owner or ''}{':' + p.group if p.group else ''}"
            line = shlex.join(["xargs", "-0", "-r", "chown", "-h", "--", spec])
            commands.append(
                Command(line, f"chown -h {spec} ({len(chown)} entries)", _nul_list(base, chown))
            )
            notes.append(f"owner of {_count(chown)} under {p.path} → {spec}{_examples(chown)}")
        for mode, paths in sorted(chmod.items()):
            # the loop checks each path is not a link right before chmod (which follows one)
            loop = f'for f do [ -L "$f" ] || chmod -- {mode:04o} "$f" || exit 255; done'
            line = shlex.join(["xargs", "-0", "-r", "sh", "-c", loop, "sh"])
            commands.append(
                Command(line, f"chmod {mode:04o} ({len(paths)} entries)", _nul_list(base, paths))
            )
            notes.append(f"mode of {_count(paths)} under {p.path} → {mode:04o}{_examples(paths)}")
        state.set(fact, Tree(True, tuple(after)))
        return Change(notes, commands)

    def _plan_hard(self, state: HostState) -> Outcome:
        p = self.params
        assert p.src is not None
        fact = HardLinkFact(p.path, p.src)
        if state.after_changes:  # an earlier step may make or replace `src` or `path`
            return Deferred(f"hard link {p.path} → {p.src}", self.facts())
        src, path = state.get(fact)
        if src == "ABSENT":
            return Failed(f"{p.src} does not exist: a hard link needs an existing file")
        source = src.split("/")
        if len(source) != 7:
            return Failed(f"unexpected answer about {p.src}: {src!r}")
        if source[0] == "directory":
            return Failed(f"{p.src} is a directory: a hard link to a directory is not possible")
        commands: list[Command] = []
        notes: list[str] = []
        now = source
        if path == "ABSENT":
            line = shlex.join(["ln", "-L", "--", p.src, p.path])
            commands.append(Command(line, line))
            notes.append(f"hard link {p.path} → {p.src}")
        else:
            now = path.split("/")
            if len(now) != 7:
                return Failed(f"unexpected answer about {p.path}: {path!r}")
            if now[1] != source[1]:
                return Failed(
                    f"{p.path} exists and is not a hard link to {p.src} (a {now[0]}); Ansible's"
                    " `force: true` would replace it: remove it first (state: absent)"
                )
        kind, inode, mode, owner, group, uid, gid = now
        want = wanted_mode(p.mode, int(mode, 8), False)
        more, more_notes = _set_attributes(
            p.path, int(mode, 8), owner, group, want, p.owner, p.group, (uid, gid)
        )
        if more:
            now_state = FileState(True, kind, int(mode, 8), owner, group)
            problem = self._as_user(
                now_state, owner, group, want is not None and want != int(mode, 8)
            )
            if problem:
                return Failed(problem)
        commands += more
        notes += more_notes
        if not commands:
            return NoOp(f"{p.path} is a hard link to {p.src}")
        new = _owned(Entry("f", 0, uid, owner, gid, group, b""), p.owner, p.group)
        after = f"{kind}/{inode}/{(int(mode, 8) if want is None else want):o}"
        after += f"/{new.owner}/{new.group}/{new.uid}/{new.gid}"
        state.set(fact, (after, after))
        return Change(notes, commands)

    def _plan_link(self, state: HostState) -> Outcome:
        p = self.params
        assert p.src is not None
        fact = link_fact(p.path)
        answer = state.get(fact).stdout
        if answer == f"L:{p.src}":
            return NoOp(f"{p.path} links to {p.src}")
        if answer == "E":
            return Failed(f"{p.path} exists and is not a symbolic link")
        if answer != "A" and not answer.startswith("L:"):
            return Failed(f"unexpected answer about {p.path}: {answer!r}")
        before = answer[2:] if answer.startswith("L:") else "(none)"
        script = f"ln -sfn -- {shlex.quote(p.src)} {shlex.quote(p.path)}"
        state.set(fact, type(state.get(fact))(0, f"L:{p.src}", ""))
        return Change([f"link {p.path} → {p.src} (was {before})"], [Command(script, script)])

    def assertions(self) -> list[Assertion]:
        p = self.params
        if p.state == "link":
            return []
        expect: dict = {}
        if isinstance(p.mode, int):
            expect["mode"] = p.mode
        elif isinstance(p.mode, str):  # symbolic: the mode must be one it leaves unchanged
            expect["mode_spec"] = p.mode
        for key in ("owner", "group"):
            if getattr(p, key) is not None:
                expect[key] = getattr(p, key)
        if p.state == "directory":
            expect["is_directory"] = True
        checks = [Assertion("file", p.path, expect, f"file {p.path}")]
        tree = {k: v for k, v in expect.items() if k != "is_directory"}
        if p.recurse and tree:
            checks.append(Assertion("file_tree", p.path, tree, f"tree under {p.path}"))
        return checks


def _differs(wanted: str | None, name: str, number: str) -> bool:
    """Whether an owner (or group) given as a name or a number differs from the entry's."""
    if wanted is None:
        return False
    if wanted.isdigit():  # an id, as chown reads it (`00` is 0); an unknown id differs
        return not number.isdigit() or int(wanted) != int(number)
    return wanted != name


def _owned(entry: Entry, owner: str | None, group: str | None) -> Entry:
    def pick(wanted: str | None, name: str, number: str) -> tuple[str, str]:
        if wanted is None:
            return name, number
        return (number, wanted) if wanted.isdigit() else (wanted, "?")

    new_owner, uid = pick(owner, entry.owner, entry.uid)
    new_group, gid = pick(group, entry.group, entry.gid)
    return Entry(entry.kind, entry.mode, uid, new_owner, gid, new_group, entry.path)


def _nul_list(base: bytes, paths: list[bytes]) -> bytes:
    """The absolute paths, each ended by NUL (for xargs -0): any byte but NUL is safe."""
    return b"".join(base + path + b"\0" for path in paths)


def _count(paths: list[bytes]) -> str:
    return f"{len(paths)} entr{'y' if len(paths) == 1 else 'ies'}"


def _examples(paths: list[bytes], most: int = 3) -> str:
    shown = ", ".join(shown_path(path) for path in paths[:most])
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return f" ({shown}{more})"


def _set_attributes(
    path: str,
    mode: int,
    owner: str,
    group: str,
    want_mode: int | None,
    want_owner: str | None,
    want_group: str | None,
    ids: tuple[str, str] | None = None,
) -> tuple[list[Command], list[str]]:
    """chown then chmod (chown clears set-id bits) of what differs on one existing path;
    a numeric owner or group is compared with the path's numeric ids when `ids` are known."""
    q = shlex.quote(path)
    commands: list[Command] = []
    notes: list[str] = []
    new_owner, new_group = want_owner or owner, want_group or group
    if ids is not None:
        differs = _differs(want_owner, owner, ids[0]) or _differs(want_group, group, ids[1])
    else:
        differs = (new_owner, new_group) != (owner, group)
    if differs:
        commands.append(
            Command(f"chown -- {shlex.quote(f'{new_owner}:{new_group}')} {q}", f"chown {path}")
        )
        notes.append(f"owner {path}: {owner}:{group} → {new_owner}:{new_group}")
    if want_mode is not None and want_mode != mode:
        commands.append(Command(f"chmod -- {want_mode:04o} {q}", f"chmod {path}"))
        notes.append(f"mode {path}: {mode:04o} → {want_mode:04o}")
    return commands, notes


@verifies("file_tree")
def check_tree(host: Any, path: str, expect: dict) -> str | None:
    """Every entry under a `recurse: true` directory has the owner, group and mode the task
    sets (a link: owner and group only). The listing is the probe's, bounded as the task
    is: a tree of more than MAX_TREE_ENTRIES entries fails the check unread."""
    fact = TreeFact(path)
    result = host.run(fact.command())
    try:
        tree = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    except FactError as exc:
        return str(exc)
    if not tree.exists:
        return f"{path} is not a directory"
    if tree.truncated:
        return (
            f"{path} holds more than {MAX_TREE_ENTRIES} entries: not checked (`recurse` is"
            f" limited to {MAX_TREE_ENTRIES})"
        )
    wrong: dict[str, list[str]] = {}
    for entry in tree.entries:
        name = shown_path(entry.path)
        for key, have_name, have_id in (
            ("owner", entry.owner, entry.uid),
            ("group", entry.group, entry.gid),
        ):
            want = expect.get(key)
            if want is not None and _differs(str(want), have_name, have_id):
                have = have_id if str(want).isdigit() else have_name
                wrong.setdefault(key, []).append(f"{name} ({have})")
        if entry.kind == "l":
            continue
        spec = expect.get("mode_spec", expect.get("mode"))
        want_mode = wanted_mode(spec, entry.mode, entry.kind == "d")
        if want_mode is not None and want_mode != entry.mode:
            wrong.setdefault("mode", []).append(f"{name} ({entry.mode:04o})")
    if not wrong:
        return None
    parts = []
    for key in ("owner", "group", "mode"):
        if key in wrong:
            want = expect.get(key, expect.get("mode_spec"))
            if key == "mode" and isinstance(want, int):
                want = f"{want:04o}"
            shown = ", ".join(wrong[key][:3])
            more = f" and {len(wrong[key]) - 3} more" if len(wrong[key]) > 3 else ""
            parts.append(f"{len(wrong[key])} not {key} {want}: {shown}{more}")
    return f"under {path} (of {len(tree.entries)} entries): " + "; ".join(parts)
