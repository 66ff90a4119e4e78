"""`replace`: every match of a regexp in a file replaced (Python `re`, MULTILINE)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, Mode, TaskType, arg
from provision.tasks.filesupport import as_text, plan_file


def replace_text(
    text: str, regexp: str, replacement: str, after: str | None, before: str | None
) -> str:
    """`text` with every match of `regexp` (MULTILINE) replaced, only between the first
    match of `after` and the first match of `before` after it when they are given (as
    Ansible's replace does). Pure."""
    start, end = 0, len(text)
    if after is not None:
        found = re.search(after, text, re.MULTILINE)
        if found is None:
            return text
        start = found.end()
    if before is not None:
        found = re.search(before, text[start:], re.MULTILINE)
        if found is None:
            return text
        end = start + found.start()
    middle = re.compile(regexp, re.MULTILINE).sub(replacement, text[start:end])
    return text[:start] + middle + text[end:]


class Replace(TaskType):
    """`replace`: every match of a regexp in a file replaced

    As Ansible's `replace`: `regexp` is a Python regexp searched with MULTILINE (`^`/`$`
    match at each line) over the whole file; `replace` may use `\\1` and `\\g<name>`.
    `after`/`before` limit the edit to the text after the first match of `after` and
    before the first following match of `before`. A missing file fails the task. The
    task is idempotent only if the replaced text no longer matches (write the regexp so
    that it does not match its own result, as with a negative lookahead).
    """

    type_name = "replace"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the file")
        regexp: str = arg(doc="a Python regexp (MULTILINE)")
        replace: str = arg("", doc="the replacement (`\\1`, `\\g<name>` allowed)")
        after: str | None = arg(None, doc="a regexp: edit only after its first match")
        before: str | None = arg(None, doc="a regexp: edit only before its first match")
        backup: bool = arg(False, doc="keep the previous content as `PATH.TIMESTAMP.bak`")
        mode: Mode | None = arg(None, doc="the file's mode (default: its own)")
        owner: str | None = arg(None, doc="the file's owner (default: its own)")
        group: str | None = arg(None, doc="the file's group (default: its own)")

    params: Params

    def describe(self) -> str:
        return f"replace in {self.params.path}"

    def validate(self) -> None:
        for key in ("regexp", "after", "before"):
            value = getattr(self.params, key)
            if value is not None:
                self.check_regexp(key, value)
        groups = re.compile(self.params.regexp)
        for number, name in re.findall(r"\\(\d+)|\\g<([^>]*)>", self.params.replace):
            known = (
                int(number) <= groups.groups
                if number
                else (name in groups.groupindex or (name.isdigit() and int(name) <= groups.groups))
            )
            if not known:
                raise self.fail(
                    f"`replace` refers to group {number or name!r}, which `regexp` does not have",
                    arg="replace",
                )

    def facts(self) -> list[Fact]:
        return [FileFact(self.params.path)]

    def plan(self, state: HostState) -> Outcome:
        p = self.params
        current: FileState = state.get(FileFact(p.path))
        if current.exists and not current.known:
            return Deferred(f"replace in {p.path} (file comes from an earlier step)", self.facts())
        if not current.exists:
            return Failed(f"{p.path} does not exist")
        if not current.kind.startswith("regular"):
            return Failed(f"{p.path} is a {current.kind}, not a regular file")
        if current.content is None:
            return Failed(f"{p.path} is too large to edit")
        before = as_text(current.content)
        try:
            after = replace_text(before, p.regexp, p.replace, p.after, p.before)
        except (re.error, IndexError) as exc:
            return Failed(f"replacing in {p.path}: {exc}")
        if after == before:
            if p.mode is None and p.owner is None and p.group is None:
                return NoOp(f"no match of the regexp in {p.path}")
        return plan_file(
            state,
            p.path,
            after.encode(),
            p.mode,
            p.owner,
            p.group,
            p.backup,
            self.context.secret,
            summary=f"edit {p.path}",
            writer=self.context.become_user,
            where=str(self.context.location),
        )

    def assertions(self) -> list[Assertion]:
        p = self.params
        expect = {
            "regexp": p.regexp,
            "replace": p.replace,
            "after": p.after,
            "before": p.before,
            "mode": p.mode,
            "owner": p.owner,
            "group": p.group,
        }
        return [Assertion("replace", p.path, expect, f"replace in {p.path}")]
