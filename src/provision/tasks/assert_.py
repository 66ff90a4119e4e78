"""`assert`: a read-only check on a command's output or on variables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import CommandFact, CommandResult
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.project.templating import evaluate
from provision.tasks.argv import script_of
from provision.tasks.base import Assertion, TaskType, arg, verifies


def check_result(result: CommandResult, p: dict[str, Any]) -> str | None:
    """None when the result is as expected (`p`: equals, in, matches, rc), else what was
    expected."""
    out = result.stdout
    if p["equals"] is not None:
        return None if out == p["equals"] else f"expected {p['equals']!r}"
    if p["in"] is not None:
        return None if out in p["in"] else f"expected one of {', '.join(map(repr, p['in']))}"
    if p["matches"] is not None:
        return None if re.search(p["matches"], out) else f"expected a match for /{p['matches']}/"
    wanted_rc = 0 if p["rc"] is None else p["rc"]
    return None if result.rc == wanted_rc else f"expected exit code {wanted_rc}"


class Assert(TaskType):
    """`assert`: a read-only check that fails the host with a message

    Either on a command's output (run on the host, as root when become: `command` and at
    most one of `equals`, `in`, `matches`, `rc`; the default check is `rc: 0`), or on
    variables (`that`). `label` and `msg` go with either.

    A command assert placed after tasks that change the host is evaluated when apply
    reaches it; in `plan` it shows as `check after changes`.
    """

    type_name = "assert"

    @dataclass(kw_only=True)
    class Params:
        command: Any = arg(
            None,
            doc="a shell string, or a list of words (argv form), whose stdout (stripped) is"
            " checked; see [Quoting rules](#quoting-rules)",
        )
        that: Any = arg(None, doc="a Jinja2 expression over variables, or a list of them")
        equals: str | None = arg(None, doc="the expected stdout")
        in_: list[str] | None = arg(None, name="in", doc="a list of allowed stdouts")
        matches: str | None = arg(None, doc="a Python regexp the stdout must match")
        rc: int | None = arg(None, doc="the expected exit code")
        label: str | None = arg(None, doc="what is checked, for the plan (`SELinux mode`)")
        msg: str | None = arg(None, doc="what the operator should do when it fails")

    params: Params
    shell_args = ("command",)
    read_only = True

    def describe(self) -> str:
        return f"check {self.label}"

    @property
    def label(self) -> str:
        p = self.params
        return p.label or p.command or str(p.that)

    def _expect(self) -> dict[str, Any]:
        p = self.params
        return {"equals": p.equals, "in": p.in_, "matches": p.matches, "rc": p.rc}

    def validate(self) -> None:
        p = self.params
        if (p.command is None) == (p.that is None):
            raise self.fail("give either `command` (checked on the host) or `that` (on variables)")
        if p.command is not None:
            command = p.command
            if isinstance(command, dict | bool) or command == []:
                raise self.fail("`command` must be a shell string or a list of words (argv form)")
            try:
                p.command = script_of(
                    command if isinstance(command, list) else str(command), "`command`"
                )
            except ValueError as exc:
                raise self.fail(str(exc))
        expectations = [k for k, v in self._expect().items() if v is not None]
        if len(expectations) > 1:
            raise self.fail(
                f"give at most one of equals/in/matches/rc, found {', '.join(expectations)}"
            )
        if p.that is not None and expectations:
            raise self.fail("equals/in/matches/rc go with `command`, not with `that`")
        if p.matches is not None:
            self.check_regexp("matches", p.matches)
        if p.that is not None:
            self._that_failure = self._evaluate_that()

    def _evaluate_that(self) -> str | None:
        that = self.params.that
        conditions = that if isinstance(that, list) else [that]
        for condition in conditions:
            if not evaluate(condition, self.context.variables, self.context.location, "assert"):
                return f"{condition} is false"
        return None

    def facts(self) -> list[Fact]:
        return [CommandFact(self.params.command)] if self.params.command else []

    def plan(self, state: HostState) -> Outcome:
        if self.params.that is not None:
            if self._that_failure:
                return Failed(self._message(self._that_failure))
            return NoOp(f"{self.label}: true")
        fact = CommandFact(self.params.command)
        result: CommandResult = state.get(fact)
        problem = check_result(result, self._expect())
        if state.after_changes:
            now = "passes" if problem is None else "fails"
            seen = result.stdout or f"exit {result.rc}"
            return Deferred(
                f"{self.label}: {now} now ({seen}); checked again when apply reaches it",
                [fact],
                check=True,
            )
        if problem:
            found = result.stdout or result.stderr or "(no output)"
            detail = f"{problem}, found {found!r} (exit {result.rc})"
            return Failed(self._message(detail))
        return NoOp(f"{self.label}: {result.stdout or 'ok'}")

    def _message(self, detail: str) -> str:
        text = f"{self.label}: {detail}"
        return f"{text}. {self.params.msg}" if self.params.msg else text

    def assertions(self) -> list[Assertion]:
        if not self.params.command:
            return []
        return [Assertion("command", self.params.command, self._expect(), self.label)]


@verifies("command")
def check_command(host: Any, command: str, expect: dict) -> str | None:
    """The command's output (or exit code) as the assert expects it."""
    result = host.run(command)
    outcome = CommandResult(result.rc, result.stdout.strip(), result.stderr.strip())
    problem = check_result(outcome, expect)
    return f"`{command}`: {problem}, found {outcome.stdout!r}" if problem else None
