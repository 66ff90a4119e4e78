"""`command`: the escape hatch, only with a guard that keeps it idempotent."""

from __future__ import annotations

import shlex

from provision.facts.base import Fact
from provision.facts.kinds import CommandFact, FileFact, FileState
from provision.planning.model import Change, Command, Deferred, HostState, NoOp, Outcome
from provision.tasks.argv import argv_words, script_of
from provision.tasks.base import Arg, TaskType, register

GUARDS = ("creates", "removes", "unless", "only_if")


@register
class RunCommand(TaskType):
    type_name = "command"
    args = (
        Arg("cmd", "str", None),
        Arg("argv", "any", None),
        Arg("creates", "str", None),
        Arg("removes", "str", None),
        Arg("unless", "any", None),
        Arg("only_if", "any", None),
    )
    # A string is shell text (each {{ }} checked and quoted); a list is argv form.
    shell_args = ("cmd", "unless", "only_if")

    def describe(self) -> str:
        return f"command {self.p['cmd']}"

    def validate(self) -> None:
        if (self.p["cmd"] is None) == (self.p["argv"] is None):
            raise self.fail(
                "give exactly one of `cmd` (a shell string) or `argv` (a list of words)",
                hint="argv: [systemctl, restart, '{{ unit }}'] runs one program, each list "
                "item exactly one word",
            )
        try:
            if self.p["argv"] is not None:
                self.p["cmd"] = shlex.join(argv_words(self.p["argv"], "`argv`"))
            for key in ("unless", "only_if"):
                if self.p[key] is not None:
                    if isinstance(self.p[key], dict | bool) or self.p[key] == []:
                        raise ValueError(
                            f"`{key}` must be a shell string or a list of words (argv form)"
                        )
                    self.p[key] = script_of(
                        self.p[key] if isinstance(self.p[key], list) else str(self.p[key]),
                        f"`{key}`",
                    )
        except ValueError as exc:
            raise self.fail(str(exc))
        if not any(self.p[g] for g in GUARDS):
            raise self.fail(
                "a command needs a guard so that it runs only when needed",
                hint="add one of: creates: PATH, removes: PATH, unless: CMD, only_if: CMD",
            )

    def facts(self) -> list[Fact]:
        facts: list[Fact] = []
        for key in ("creates", "removes"):
            if self.p[key]:
                facts.append(FileFact(self.p[key]))
        for key in ("unless", "only_if"):
            if self.p[key]:
                facts.append(CommandFact(self.p[key]))
        return facts

    def plan(self, state: HostState) -> Outcome:
        if self.p["creates"] and state.get(FileFact(self.p["creates"])).exists:
            return NoOp(f"{self.p['creates']} exists")
        if self.p["removes"] and not state.get(FileFact(self.p["removes"])).exists:
            return NoOp(f"{self.p['removes']} does not exist")
        command_guards = [k for k in ("unless", "only_if") if self.p[k]]
        if command_guards and state.after_changes:
            return Deferred(
                f"run {self.p['cmd']} (its guard is checked after earlier changes)", self.facts()
            )
        if self.p["unless"] and state.get(CommandFact(self.p["unless"])).rc == 0:
            return NoOp(f"unless: `{self.p['unless']}` succeeded")
        if self.p["only_if"] and state.get(CommandFact(self.p["only_if"])).rc != 0:
            return NoOp(f"only_if: `{self.p['only_if']}` failed")
        if self.p["creates"]:
            state.set(FileFact(self.p["creates"]), FileState(True, known=False))
        if self.p["removes"]:
            state.set(FileFact(self.p["removes"]), FileState(False))
        return Change([f"run: {self.p['cmd']}"], [Command(self.p["cmd"], self.p["cmd"])])
