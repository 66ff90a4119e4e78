"""`blockinfile`: a block of lines between two marker lines in a file."""

from __future__ import annotations

from dataclasses import dataclass

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.project.fileformats import line_problem
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.filesupport import as_text, plan_file
from provision.tasks.line import insert_index, split_lines

DEFAULT_MARKER = "# {mark} ANSIBLE MANAGED BLOCK"


def edit_block(
    text: str,
    block: str,
    begin: str,
    end: str,
    state: str,
    insertafter: str | None = None,
    insertbefore: str | None = None,
) -> str:
    """`text` with the block between the marker lines `begin` and `end` made `block` (or
    removed: `state: absent`, or an empty block). Where there is no block yet, it goes
    after the last line matching `insertafter` (default: the end; `EOF`), or before the
    last line matching `insertbefore` (`BOF`: the start). Pure."""
    lines = split_lines(text)
    starts = [i for i, line in enumerate(lines) if line == begin]
    ends = [i for i, line in enumerate(lines) if line == end]
    wanted = [] if state == "absent" or not block else [begin, *block.split("\n"), end]
    if starts and ends and starts[-1] < ends[-1]:
        lines[starts[-1] : ends[-1] + 1] = wanted
    elif wanted:
        at = insert_index(lines, insertafter, insertbefore)
        lines[at:at] = wanted
    else:
        return text
    return "".join(line + "\n" for line in lines)


class BlockInFile(TaskType):
    """`blockinfile`: a block of lines between two marker lines

    As Ansible's `blockinfile`: the markers are `marker` with `{mark}` replaced by
    `marker_begin` and `marker_end`; the block between the last pair of markers is
    replaced, or the block is inserted after the last line matching `insertafter`
    (default `EOF`) or before the last line matching `insertbefore` (`BOF`: the first
    line). An empty `block` or `state: absent` removes the block and its markers. A
    missing file fails the task unless `create: true`. `block` may span lines (a final
    line break is dropped); it may not hold control characters other than tabs.
    """

    type_name = "blockinfile"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the file")
        block: str = arg("", doc="the lines wanted between the markers")
        marker: str = arg(DEFAULT_MARKER, doc="the marker line, with `{mark}` in it")
        marker_begin: str = arg("BEGIN", doc="`{mark}` in the first marker")
        marker_end: str = arg("END", doc="`{mark}` in the last marker")
        state: str = arg("present", choices=("present", "absent"), doc="whether the block is there")
        insertafter: str | None = arg(None, doc="a regexp, or `EOF`: where a new block goes")
        insertbefore: str | None = arg(None, doc="a regexp, or `BOF`: where a new block goes")
        create: bool = arg(False, doc="create the file if missing")
        backup: bool = arg(False, doc="keep the previous content as `PATH.TIMESTAMP.bak`")
        mode: Mode | None = arg(None, doc="for a created file (default `0644`)")
        owner: str | None = arg(None, doc="for a created file (default `root`)")
        group: str | None = arg(None, doc="for a created file (default `root`)")

    params: Params

    def describe(self) -> str:
        return f"block in {self.params.path}"

    def _markers(self) -> tuple[str, str]:
        p = self.params
        return (
            p.marker.replace("{mark}", p.marker_begin),
            p.marker.replace("{mark}", p.marker_end),
        )

    def validate(self) -> None:
        p = self.params
        if "{mark}" not in p.marker:
            raise self.fail("`marker` must hold `{mark}`", arg="marker")
        for key in ("marker", "marker_begin", "marker_end"):
            problem = line_problem(getattr(p, key))
            if problem:
                raise self.fail(f"`{key}` {problem}; it must be one line", arg=key)
        begin, end = self._markers()
        if begin == end:
            raise self.fail("`marker_begin` and `marker_end` must differ")
        p.block = p.block.replace("\r\n", "\n").removesuffix("\n")
        for char in p.block:
            if (ord(char) < 0x20 and char not in "\t\n") or char == "\x7f":
                raise self.fail(
                    f"`block` holds a control character (U+{ord(char):04X})", arg="block"
                )
        if begin in p.block.split("\n") or end in p.block.split("\n"):
            raise self.fail("`block` holds a marker line", arg="block")
        if p.insertafter is not None and p.insertbefore is not None:
            raise self.fail("give `insertafter` or `insertbefore`, not both")
        for key, word in (("insertafter", "EOF"), ("insertbefore", "BOF")):
            value = getattr(p, key)
            if value is not None and value != word:
                self.check_regexp(key, value)

    def facts(self) -> list[Fact]:
        return [FileFact(self.params.path)]

    def plan(self, state: HostState) -> Outcome:
        p = self.params
        current: FileState = state.get(FileFact(p.path))
        if current.exists and not current.known:
            return Deferred(f"block in {p.path} (file comes from an earlier step)", self.facts())
        if current.exists and not current.kind.startswith("regular"):
            return Failed(f"{p.path} is a {current.kind}, not a regular file")
        if current.exists and current.content is None:
            return Failed(f"{p.path} is too large to edit")
        if not current.exists:
            if p.state == "absent" or not p.block:
                return NoOp(f"{p.path} does not exist")
            if not p.create:
                return Failed(f"{p.path} does not exist (and `create: false`)")
        before = as_text(current.content) if current.exists else ""
        begin, end = self._markers()
        after = edit_block(before, p.block, begin, end, p.state, p.insertafter, p.insertbefore)
        if current.exists and after == before:
            return NoOp(f"block {'absent' if p.state == 'absent' else 'present'} in {p.path}")
        return plan_file(
            state,
            p.path,
            after.encode(),
            p.mode if not current.exists else None,
            p.owner if not current.exists else None,
            p.group if not current.exists else None,
            p.backup,
            self.context.secret,
            summary=f"{'edit' if current.exists else 'create'} {p.path}",
            writer=self.context.become_user,
            where=str(self.context.location),
        )

    def assertions(self) -> list[Assertion]:
        p = self.params
        begin, end = self._markers()
        expect = {
            "block": p.block,
            "begin": begin,
            "end": end,
            "state": p.state,
            "insertafter": p.insertafter,
            "insertbefore": p.insertbefore,
        }
        return [Assertion("blockinfile", p.path, expect, f"block in {p.path}")]
