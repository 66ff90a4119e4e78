"""`command`: the escape hatch, only with a guard that keeps it idempotent."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import CommandFact, FileFact, FileState
from provision.planning.model import (
    DISRUPTION_LEVELS,
    Change,
    Command,
    Deferred,
    Disruption,
    HostState,
    NoOp,
    Outcome,
)
from provision.tasks.argv import argv_words, script_of
from provision.tasks.base import TaskType, arg

GUARDS = ("creates", "removes", "unless", "only_if")


class RunCommand(TaskType):
    """`command`: the escape hatch, only with a guard

    Exactly one of `cmd` or `argv`, and at least one guard: `creates`, `removes`, `unless`,
    `only_if`. `unless` and `only_if` take a shell string or a list of words too. Guards run
    in the probe, during `plan` as well, so they must be read-only.

    ```yaml
    - name: join the swarm once
      command:
        argv: [docker, swarm, join, --token, "{{ swarm_token }}", "{{ manager }}:2377"]
        unless: [sh, -c, 'docker info --format "{% raw %}{{.Swarm.LocalNodeState}}{% endraw %}" | grep -qx active']
      secret: true
    ```
    """  # noqa: E501

    type_name = "command"

    @dataclass(kw_only=True)
    class Params:
        cmd: str | None = arg(None, doc="a shell string, run with `sh -c`")
        argv: Any = arg(None, doc="a list of words: one program and its arguments, no shell syntax")
        creates: str | None = arg(None, doc="a path: skip the command if it exists")
        removes: str | None = arg(None, doc="a path: skip the command if it does not exist")
        unless: Any = arg(None, doc="a command: skip if it exits 0")
        only_if: Any = arg(None, doc="a command: run only if it exits 0")
        disruption: str = arg(
            "none",
            choices=DISRUPTION_LEVELS,
            doc="what running it interrupts (provision cannot tell): shown by `plan`, "
            "checked by `apply --max-disruption` (docs/rolling.md)",
        )

    params: Params
    # A string is shell text (each {{ }} checked and quoted); a list is argv form.
    shell_args = ("cmd", "unless", "only_if")

    def describe(self) -> str:
        return f"command {self.params.cmd}"

    def validate(self) -> None:
        if (self.params.cmd is None) == (self.params.argv is None):
            raise self.fail(
                "give exactly one of `cmd` (a shell string) or `argv` (a list of words)",
                hint="argv: [systemctl, restart, '{{ unit }}'] runs one program, each list "
                "item exactly one word",
            )
        p = self.params
        try:
            if p.argv is not None:
                p.cmd = shlex.join(argv_words(p.argv, "`argv`"))
            for key in ("unless", "only_if"):
                value = getattr(p, key)
                if value is not None:
                    if isinstance(value, dict | bool) or value == []:
                        raise ValueError(
                            f"`{key}` must be a shell string or a list of words (argv form)"
                        )
                    setattr(
                        p,
                        key,
                        script_of(value if isinstance(value, list) else str(value), f"`{key}`"),
                    )
        except ValueError as exc:
            raise self.fail(str(exc))
        if not any(getattr(self.params, g) for g in GUARDS):
            raise self.fail(
                "a command needs a guard so that it runs only when needed",
                hint="add one of: creates: PATH, removes: PATH, unless: CMD, only_if: CMD"
                " (or `shell:`, a command that changes on every run)",
            )

    def facts(self) -> list[Fact]:
        facts: list[Fact] = []
        for key in ("creates", "removes"):
            if getattr(self.params, key):
                facts.append(FileFact(getattr(self.params, key)))
        for key in ("unless", "only_if"):
            if getattr(self.params, key):
                facts.append(CommandFact(getattr(self.params, key)))
        return facts

    def plan(self, state: HostState) -> Outcome:
        if self.params.creates and state.get(FileFact(self.params.creates)).exists:
            return NoOp(f"{self.params.creates} exists")
        if self.params.removes and not state.get(FileFact(self.params.removes)).exists:
            return NoOp(f"{self.params.removes} does not exist")
        command_guards = [k for k in ("unless", "only_if") if getattr(self.params, k)]
        if command_guards and state.after_changes:
            return Deferred(
                f"run {self.params.cmd} (its guard is checked after earlier changes)", self.facts()
            )
        if self.params.unless and state.get(CommandFact(self.params.unless)).rc == 0:
            return NoOp(f"unless: `{self.params.unless}` succeeded")
        if self.params.only_if and state.get(CommandFact(self.params.only_if)).rc != 0:
            return NoOp(f"only_if: `{self.params.only_if}` failed")
        if self.params.creates:
            state.set(FileFact(self.params.creates), FileState(True, known=False))
        if self.params.removes:
            state.set(FileFact(self.params.removes), FileState(False))
        return Change(
            [f"run: {self.params.cmd}"],
            [Command(self.params.cmd, self.params.cmd)],
            disruption=self.disrupts_at_most(),
        )

    def disrupts_at_most(self) -> Disruption:
        return Disruption(self.params.disruption)
