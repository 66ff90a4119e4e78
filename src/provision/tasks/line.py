"""`line`: one line in a file, by regexp, optionally inside an INI section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.project.fileformats import (
    FORMATS,
    LINE_FORMATS,
    REPO_ID,
    format_of,
    ini_line_problem,
    line_problem,
    origin_note,
)
from provision.tasks.base import Assertion, Mode, TaskType, arg, verifies
from provision.tasks.filesupport import as_text, plan_file


def _section_bounds(lines: list[str], section: str | None) -> tuple[int, int] | None:
    """[start, end) of the section's body; the whole file without a section; None if absent."""
    if section is None:
        return 0, len(lines)
    header = f"[{section}]"
    for index, line in enumerate(lines):
        if line.strip() == header:
            end = index + 1
            while end < len(lines) and not lines[end].lstrip().startswith("["):
                end += 1
            return index + 1, end
    return None


def split_lines(text: str) -> list[str]:
    """The file's lines, split at `\n` only (a `\r` before it is not part of the line):
    other characters that str.splitlines() breaks at (\v, \f, U+0085, U+2028, ...) are kept
    as text, so a line is found again as it was written."""
    return [line[:-1] if line.endswith("\r") else line for line in _raw_lines(text)]


def _raw_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def insert_index(lines: list[str], insertafter: str | None, insertbefore: str | None) -> int:
    """Where a new line goes: after the last line matching `insertafter` (`EOF` or no
    match: the end), or before the last line matching `insertbefore` (`BOF`: the start;
    no match: the end), as Ansible's lineinfile and blockinfile place it."""
    if insertbefore is not None:
        if insertbefore == "BOF":
            return 0
        pattern = re.compile(insertbefore)
        found = [i for i, line in enumerate(lines) if pattern.search(line)]
        return found[-1] if found else len(lines)
    if insertafter is not None and insertafter != "EOF":
        pattern = re.compile(insertafter)
        found = [i for i, line in enumerate(lines) if pattern.search(line)]
        return found[-1] + 1 if found else len(lines)
    return len(lines)


# In a `backrefs` line: `\N`, `\NN`, `\g<name>`, `\g<N>` and `\\` (a backslash).
_BACKREF = re.compile(
    r"\\(?:(?P<num>[1-9][0-9]?)(?P<digit>[0-9]?)|g<(?P<name>[^>]*)>|(?P<slash>\\)|(?P<other>.?))",
    re.S,
)


def backref_problem(line: str, regexp: str) -> str | None:
    r"""Why `line` cannot be expanded with `regexp`'s groups (None: it can). Only group
    references and `\\` are allowed: Python's other escapes (`\n`, `\t`, octal `\0`)
    would put a line break or a control character in the line."""
    pattern = re.compile(regexp)
    for found in _BACKREF.finditer(line):
        if found.group("num") is not None:
            if found.group("digit"):  # Python would read `\123` as an octal escape
                return (
                    f"`{found.group(0)}` is ambiguous after a backslash (a group or an octal"
                    " escape); write `\\g<N>` for group N"
                )
            number = int(found.group("num"))
            if number > pattern.groups:
                return f"`\\{number}` refers to group {number}, but `regexp` has {pattern.groups}"
        elif found.group("name") is not None:
            name = found.group("name")
            if name.isdigit():
                if int(name) > pattern.groups:
                    return f"`\\g<{name}>` refers to a group `regexp` does not have"
            elif name not in pattern.groupindex:
                return f"`\\g<{name}>` names a group `regexp` does not have"
        elif found.group("slash") is None:
            return (
                f"`\\{found.group('other')}` is not a group reference; only `\\1`..`\\99`,"
                " `\\g<name>` and `\\\\` (a backslash) may follow a backslash"
            )
    return None


def edit_lines(
    text: str,
    line: str | None,
    regexp: str | None,
    state: str,
    section: str | None,
    insertafter: str | None = None,
    insertbefore: str | None = None,
    backrefs: bool = False,
) -> str:
    r"""The file's text with the line made present or absent. Pure, for tests and planning.
    Lines the edit does not touch keep their bytes, `\r` included; a new line ends as most
    of the file's lines do (CRLF in a CRLF file). With `backrefs` (Ansible's), the last
    line `regexp` matches is replaced by `line` with `\1`/`\g<name>` expanded from that
    match, and a file where `regexp` matches nothing is left as it is."""
    raw = _raw_lines(text)
    lines = split_lines(text)
    crlf = sum(r.endswith("\r") for r in raw) * 2 > len(raw)
    ending = "\r" if crlf else ""
    endings: list[str | None] = [r[len(c) :] for r, c in zip(raw, lines, strict=True)]
    if text and not text.endswith("\n"):
        endings[-1] = None  # the last line has no line break: kept so while it stays last
    pattern = re.compile(regexp) if regexp else None

    def matches(candidate: str) -> bool:
        return bool(pattern.search(candidate)) if pattern else candidate == line

    bounds = _section_bounds(lines, section)
    if state == "absent":
        if bounds is None:
            return text
        start, end = bounds
        kept = [i for i in range(start, end) if not matches(lines[i])]
        lines[start:end] = [lines[i] for i in kept]
        endings[start:end] = [endings[i] for i in kept]
    else:
        assert line is not None
        if bounds is None:
            if lines and lines[-1].strip():
                lines.append("")
                endings.append(ending)
            lines += [f"[{section}]", line]
            endings += [ending, ending]
        elif backrefs:
            assert pattern is not None
            start, end = bounds
            found = [i for i in range(start, end) if pattern.search(lines[i])]
            if not found:
                return text  # Ansible: nothing is safe to write without a match
            match = pattern.search(lines[found[-1]])
            assert match is not None
            lines[found[-1]] = match.expand(line)
            endings[found[-1]] = endings[found[-1]] or ""  # a written line ends with a break
        else:
            start, end = bounds
            found = [i for i in range(start, end) if matches(lines[i])]
            if not found and line in lines[start:end]:
                return text  # the regexp does not match the wanted line itself: already there
            if found:
                lines[found[-1]] = line
                endings[found[-1]] = endings[found[-1]] or ""
            elif section is None and (insertafter is not None or insertbefore is not None):
                insert_at = insert_index(lines, insertafter, insertbefore)
                lines.insert(insert_at, line)
                endings.insert(insert_at, ending)
            else:
                insert_at = end
                while insert_at > start and not lines[insert_at - 1].strip():
                    insert_at -= 1
                lines.insert(insert_at, line)
                endings.insert(insert_at, ending)
    if not lines:
        return ""
    last = len(lines) - 1
    return "".join(
        c + (e or "") + ("" if e is None and i == last else "\n")
        for i, (c, e) in enumerate(zip(lines, endings, strict=True))
    )


class Line(TaskType):
    r"""`line`: one line in a file

    `line` and `section` must be one line: a line break of any kind or a control character
    is an input error. In an INI-like file (`ini`, `repo`, `systemd`, `sysctl`) a `line`
    that looks like a `[section]` header or whose key is not a key is refused; `section`
    may not hold `[` or `]`. The file is split at `\n` only (a `\r` before it is dropped),
    so other characters are kept as they are and a run after apply finds the line again.
    """

    type_name = "line"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the file")
        line: str | None = arg(None, doc="the whole line wanted; required unless `state: absent`")
        regexp: str | None = arg(
            None,
            doc="a Python regexp; the last matching line is replaced by `line` (with"
            " `state: absent`, all matching lines are removed). Without it, the exact `line`"
            " is looked for",
        )
        section: str | None = arg(
            None,
            doc="INI section name (e.g. `main`): the line is placed and looked for only inside"
            " `[section]`; the section is created at the end of the file if missing",
        )
        state: str = arg("present", choices=("present", "absent"), doc="whether the line is there")
        insertafter: str | None = arg(
            None,
            doc="where a new line goes: after the last line matching this regexp (`EOF`: at"
            " the end); default: at the end of the file or section, before blank lines",
        )
        insertbefore: str | None = arg(
            None,
            doc="where a new line goes: before the last line matching this regexp (`BOF`: first)",
        )
        backrefs: bool = arg(
            False,
            doc="`line` may hold `\\1` or `\\g<name>`, filled from the last line `regexp`"
            " matches, which it replaces; when `regexp` matches no line the file is left as"
            " it is (Ansible's `backrefs`)",
        )
        create: bool = arg(True, doc="create the file if missing (with `mode`, `owner`, `group`)")
        mode: Mode | None = arg(
            None, doc="for a created file (default `0644`); an existing file keeps its own"
        )
        owner: str | None = arg(None, doc="for a created file (default `root`)")
        group: str | None = arg(None, doc="for a created file (default `root`)")
        backup: bool = arg(False, doc="keep the previous content as `PATH.TIMESTAMP.bak`")
        format: str | None = arg(
            None,
            choices=FORMATS,
            doc="the file's format (default: from `path`; see [File formats]"
            "(#file-formats-values-in-line-oriented-files)); `lines` writes any one line",
        )

    params: Params

    def describe(self) -> str:
        return f"line in {self.params.path}"

    def validate(self) -> None:
        if self.params.state == "present" and self.params.line is None:
            raise self.fail("`line` is required unless `state: absent`")
        if (
            self.params.state == "absent"
            and self.params.line is None
            and self.params.regexp is None
        ):
            raise self.fail("`state: absent` needs `regexp` or `line`")
        self._check_one_line("line")
        self._check_one_line("section")
        section = self.params.section
        fmt = format_of(self.params.format, self.params.path)
        if section is not None:
            if "[" in section or "]" in section or not section.strip():
                raise self.fail(
                    f"`section` {self._origin('section')}must be a section name without `[` or `]`",
                    arg="section",
                )
            if fmt == "repo" and not REPO_ID.fullmatch(section):
                raise self.fail(
                    f"`section` {self._origin('section')}is not a repo id (letters, digits, "
                    "`_`, `.`, `:` and `-`)",
                    arg="section",
                )
        if (
            self.params.line is not None
            and fmt in LINE_FORMATS
            and fmt != "lines"
            and not (self.params.backrefs and self.params.state == "present")  # at plan time
        ):
            problem = ini_line_problem(self.params.line, fmt)
            if problem:
                raise self.fail(
                    f"`line` {self._origin('line')}{problem}",
                    hint=f"{self.params.path} is a {fmt} file; `format: lines` writes any line",
                    arg="line",
                )
        if self.params.insertafter is not None or self.params.insertbefore is not None:
            if section is not None:
                raise self.fail("`insertafter`/`insertbefore` do not go with `section`")
            if self.params.insertafter is not None and self.params.insertbefore is not None:
                raise self.fail("give `insertafter` or `insertbefore`, not both")
        for key in ("insertafter", "insertbefore"):
            value = getattr(self.params, key)
            if value is not None and value not in ("EOF", "BOF"):
                self.check_regexp(key, value)
        if self.params.regexp is not None:
            self.check_regexp("regexp", self.params.regexp)
        if self.params.backrefs:
            self._validate_backrefs()

    def _validate_backrefs(self) -> None:
        p = self.params
        if p.state == "absent":
            return  # Ansible ignores `backrefs` when removing lines
        if p.regexp is None:
            raise self.fail("`backrefs` needs `regexp` (its groups fill `line`)", arg="backrefs")
        if p.section is not None:
            raise self.fail("`backrefs` does not go with `section`", arg="backrefs")
        if p.insertafter is not None or p.insertbefore is not None:
            raise self.fail(
                "`insertafter`/`insertbefore` do not go with `backrefs` (with `backrefs` a"
                " line is only ever replaced, never inserted)",
                arg="backrefs",
            )
        problem = backref_problem(p.line or "", p.regexp)
        if problem:
            raise self.fail(f"`line` {self._origin('line')}{problem}", arg="line")

    def _origin(self, arg: str) -> str:
        return origin_note(self.context.raw_args.get(arg))

    def _check_one_line(self, arg: str) -> None:
        value = getattr(self.params, arg)
        if value is None:
            return
        problem = line_problem(value)
        if problem:
            raise self.fail(
                f"`{arg}` {self._origin(arg)}{problem}; it must be one line of text",
                hint="line breaks of every kind (\\n \\r \\v \\f U+0085 U+2028 U+2029) "
                "and control characters are refused",
                arg=arg,
            )

    def facts(self) -> list[Fact]:
        return [FileFact(self.params.path)]

    def plan(self, state: HostState) -> Outcome:
        path = self.params.path
        current: FileState = state.get(FileFact(path))
        if current.exists and not current.known:
            return Deferred(f"line in {path} (file comes from an earlier step)", [FileFact(path)])
        if current.exists and not current.kind.startswith("regular"):
            return Failed(f"{path} is a {current.kind}, not a regular file")
        if current.exists and current.content is None:
            return Failed(f"{path} is too large to edit line by line")
        if not current.exists:
            if self.params.state == "absent":
                return NoOp(f"{path} does not exist")
            if not self.params.create:
                return Failed(f"{path} does not exist (and `create: false`)")
        before = as_text(current.content) if current.exists else ""
        p = self.params
        after = edit_lines(
            before, p.line, p.regexp, p.state, p.section, p.insertafter, p.insertbefore, p.backrefs
        )
        if p.backrefs and after != before:
            problem = self._expanded_problem(before, after)
            if problem:
                return Failed(problem)
        if current.exists and after == before:
            what = "absent" if self.params.state == "absent" else "present"
            return NoOp(f"line {what} in {path}")
        return plan_file(
            state,
            path,
            after.encode(),
            self.params.mode if not current.exists else None,
            self.params.owner if not current.exists else None,
            self.params.group if not current.exists else None,
            self.params.backup,
            self.context.secret,
            summary=f"{'edit' if current.exists else 'create'} {path}",
            writer=self.context.become_user,
            where=str(self.context.location),
        )

    def _expanded_problem(self, before: str, after: str) -> str | None:
        """A `backrefs` line, once expanded, must still fit the file (one line; a key=value
        line in an INI-like file)."""
        new = [x for x in split_lines(after) if x not in set(split_lines(before))]
        fmt = format_of(self.params.format, self.params.path)
        for line in new:
            problem = line_problem(line)
            if problem is None and fmt in LINE_FORMATS and fmt != "lines":
                problem = ini_line_problem(line, fmt)
            if problem:
                return f"{self.params.path}: the line `backrefs` makes {problem}"
        return None

    def assertions(self) -> list[Assertion]:
        expect = {
            "line": self.params.line,
            "regexp": self.params.regexp,
            "state": self.params.state,
            "section": self.params.section,
            "insertafter": self.params.insertafter,
            "insertbefore": self.params.insertbefore,
            "backrefs": self.params.backrefs,
        }
        return [Assertion("line", self.params.path, expect, f"line in {self.params.path}")]


@verifies("line")
def check_line(host: Any, path: str, expect: dict) -> str | None:
    file = host.file(path)
    text = file.content_string if file.exists else ""
    wanted = edit_lines(
        text,
        expect["line"],
        expect["regexp"],
        expect["state"],
        expect["section"],
        expect.get("insertafter"),
        expect.get("insertbefore"),
        bool(expect.get("backrefs")),
    )
    if wanted != text:
        where = f" in [{expect['section']}]" if expect["section"] else ""
        return f"{path}: line {expect['state']}{where} does not hold"
    return None
