"""`line`: one line in a file, by regexp, optionally inside an INI section."""

from __future__ import annotations

import re
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
from provision.tasks.base import Arg, Assertion, TaskType, register, verifies
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


def edit_lines(
    text: str, line: str | None, regexp: str | None, state: str, section: str | None
) -> str:
    """The file's text with the line made present or absent. Pure, for tests and planning.
    Lines the edit does not touch keep their bytes, `\r` included; a new line ends as most
    of the file's lines do (CRLF in a CRLF file)."""
    raw = _raw_lines(text)
    lines = split_lines(text)
    crlf = sum(r.endswith("\r") for r in raw) * 2 > len(raw)
    ending = "\r" if crlf else ""
    endings = [r[len(c) :] for r, c in zip(raw, lines, strict=True)]
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
        else:
            start, end = bounds
            found = [i for i in range(start, end) if matches(lines[i])]
            if not found and line in lines[start:end]:
                return text  # the regexp does not match the wanted line itself: already there
            if found:
                lines[found[-1]] = line
            else:
                insert_at = end
                while insert_at > start and not lines[insert_at - 1].strip():
                    insert_at -= 1
                lines.insert(insert_at, line)
                endings.insert(insert_at, ending)
    if not lines:
        return ""
    return "\n".join(c + e for c, e in zip(lines, endings, strict=True)) + "\n"


@register
class Line(TaskType):
    type_name = "line"
    args = (
        Arg("path", "str"),
        Arg("line", "str", None),
        Arg("regexp", "str", None),
        Arg("section", "str", None),
        Arg("state", "str", "present", ("present", "absent")),
        Arg("create", "bool", True),
        Arg("mode", "mode", None),
        Arg("owner", "str", None),
        Arg("group", "str", None),
        Arg("backup", "bool", False),
        Arg("format", "str", None, FORMATS),
    )

    def describe(self) -> str:
        return f"line in {self.p['path']}"

    def validate(self) -> None:
        if self.p["state"] == "present" and self.p["line"] is None:
            raise self.fail("`line` is required unless `state: absent`")
        if self.p["state"] == "absent" and self.p["line"] is None and self.p["regexp"] is None:
            raise self.fail("`state: absent` needs `regexp` or `line`")
        self._check_one_line("line")
        self._check_one_line("section")
        section = self.p["section"]
        fmt = format_of(self.p["format"], self.p["path"])
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
        if self.p["line"] is not None and fmt in LINE_FORMATS and fmt != "lines":
            problem = ini_line_problem(self.p["line"], fmt)
            if problem:
                raise self.fail(
                    f"`line` {self._origin('line')}{problem}",
                    hint=f"{self.p['path']} is a {fmt} file; `format: lines` writes any line",
                    arg="line",
                )
        if self.p["regexp"] is not None:
            try:
                re.compile(self.p["regexp"])
            except re.error as exc:
                raise self.fail(f"`regexp` is not a valid regular expression: {exc}", arg="regexp")

    def _origin(self, arg: str) -> str:
        return origin_note(self.context.raw_args.get(arg))

    def _check_one_line(self, arg: str) -> None:
        value = self.p[arg]
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
        return [FileFact(self.p["path"])]

    def plan(self, state: HostState) -> Outcome:
        path = self.p["path"]
        current: FileState = state.get(FileFact(path))
        if current.exists and not current.known:
            return Deferred(f"line in {path} (file comes from an earlier step)", [FileFact(path)])
        if current.exists and not current.kind.startswith("regular"):
            return Failed(f"{path} is a {current.kind}, not a regular file")
        if current.exists and current.content is None:
            return Failed(f"{path} is too large to edit line by line")
        if not current.exists:
            if self.p["state"] == "absent":
                return NoOp(f"{path} does not exist")
            if not self.p["create"]:
                return Failed(f"{path} does not exist (and `create: false`)")
        before = as_text(current.content) if current.exists else ""
        after = edit_lines(
            before, self.p["line"], self.p["regexp"], self.p["state"], self.p["section"]
        )
        if current.exists and after == before:
            what = "absent" if self.p["state"] == "absent" else "present"
            return NoOp(f"line {what} in {path}")
        return plan_file(
            state,
            path,
            after.encode(),
            self.p["mode"] if not current.exists else None,
            self.p["owner"] if not current.exists else None,
            self.p["group"] if not current.exists else None,
            self.p["backup"],
            self.context.secret,
            summary=f"{'edit' if current.exists else 'create'} {path}",
        )

    def assertions(self) -> list[Assertion]:
        expect = {
            "line": self.p["line"],
            "regexp": self.p["regexp"],
            "state": self.p["state"],
            "section": self.p["section"],
        }
        return [Assertion("line", self.p["path"], expect, f"line in {self.p['path']}")]


@verifies("line")
def check_line(host: Any, path: str, expect: dict) -> str | None:
    file = host.file(path)
    text = file.content_string if file.exists else ""
    wanted = edit_lines(text, expect["line"], expect["regexp"], expect["state"], expect["section"])
    if wanted != text:
        where = f" in [{expect['section']}]" if expect["section"] else ""
        return f"{path}: line {expect['state']}{where} does not hold"
    return None
