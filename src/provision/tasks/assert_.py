"""`assert`: a read-only check on a command's output or on variables."""

from __future__ import annotations

import re

from provision.facts.base import Fact
from provision.facts.kinds import CommandFact, CommandResult
from provision.planning.model import Deferred, Failed, HostState, NoOp, Outcome
from provision.project.templating import evaluate
from provision.tasks.argv import script_of
from provision.tasks.base import Arg, Assertion, TaskType, register


def check_result(result: CommandResult, p: dict) -> str | None:
    """None when the result is as expected, else what was expected."""
    out = result.stdout
    if p["equals"] is not None:
        return None if out == p["equals"] else f"expected {p['equals']!r}"
    if p["in"] is not None:
        return None if out in p["in"] else f"expected one of {', '.join(map(repr, p['in']))}"
    if p["matches"] is not None:
        return None if re.search(p["matches"], out) else f"expected a match for /{p['matches']}/"
    wanted_rc = 0 if p["rc"] is None else p["rc"]
    return None if result.rc == wanted_rc else f"expected exit code {wanted_rc}"


@register
class Assert(TaskType):
    type_name = "assert"
    args = (
        Arg("command", "any", None),  # a shell string, or a list of words (argv form)
        Arg("that", "any", None),
        Arg("equals", "str", None),
        Arg("in", "strlist", None),
        Arg("matches", "str", None),
        Arg("rc", "int", None),
        Arg("label", "str", None),
        Arg("msg", "str", None),
    )
    shell_args = ("command",)
    read_only = True

    def describe(self) -> str:
        return f"check {self.label}"

    @property
    def label(self) -> str:
        return self.p["label"] or self.p["command"] or str(self.p["that"])

    def validate(self) -> None:
        if (self.p["command"] is None) == (self.p["that"] is None):
            raise self.fail("give either `command` (checked on the host) or `that` (on variables)")
        if self.p["command"] is not None:
            command = self.p["command"]
            if isinstance(command, dict | bool) or command == []:
                raise self.fail("`command` must be a shell string or a list of words (argv form)")
            try:
                self.p["command"] = script_of(
                    command if isinstance(command, list) else str(command), "`command`"
                )
            except ValueError as exc:
                raise self.fail(str(exc))
        expectations = [k for k in ("equals", "in", "matches", "rc") if self.p[k] is not None]
        if len(expectations) > 1:
            raise self.fail(
                f"give at most one of equals/in/matches/rc, found {', '.join(expectations)}"
            )
        if self.p["that"] is not None and expectations:
            raise self.fail("equals/in/matches/rc go with `command`, not with `that`")
        if self.p["matches"] is not None:
            try:
                re.compile(self.p["matches"])
            except re.error as exc:
                raise self.fail(f"`matches` is not a valid regular expression: {exc}")
        if self.p["that"] is not None:
            self._that_failure = self._evaluate_that()

    def _evaluate_that(self) -> str | None:
        conditions = self.p["that"] if isinstance(self.p["that"], list) else [self.p["that"]]
        for condition in conditions:
            if not evaluate(condition, self.context.variables, self.context.location, "assert"):
                return f"{condition} is false"
        return None

    def facts(self) -> list[Fact]:
        return [CommandFact(self.p["command"])] if self.p["command"] else []

    def plan(self, state: HostState) -> Outcome:
        if self.p["that"] is not None:
            if self._that_failure:
                return Failed(self._message(self._that_failure))
            return NoOp(f"{self.label}: true")
        fact = CommandFact(self.p["command"])
        result: CommandResult = state.get(fact)
        problem = check_result(result, self.p)
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
        return f"{text}. {self.p['msg']}" if self.p["msg"] else text

    def assertions(self) -> list[Assertion]:
        if not self.p["command"]:
            return []
        expect = {k: self.p[k] for k in ("equals", "in", "matches", "rc")}
        return [Assertion("command", self.p["command"], expect, self.label)]
