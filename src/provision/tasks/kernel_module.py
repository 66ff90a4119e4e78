"""`kernel_module`: a kernel module loaded now (`modprobe`) and at every boot (a file in
/etc/modules-load.d that systemd-modules-load reads).

This module holds everything the type needs: its fact (`KernelModuleFact`: loaded,
built in, available or missing, with the simple form its table cases use), the task type,
and its verify check. Its cases: tests/unit/tasks/cases/kernel_module/ (task cases) and
tests/unit/tasks/cases/kernel_module/facts/ (the fact's command and parse).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import CaseFacts, Fact, FactError, FactKind, tail, text
from provision.facts.kinds import FileFact
from provision.planning.model import Change, Failed, HostState, NoOp, Outcome, command
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.filesupport import plan_absent, plan_file

#: a module name as modprobe takes it (`-` and `_` are the same); at most 56 characters
#: (the kernel's MODULE_NAME_LEN less a pointer), never starting with `-`
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,55}")
CONF_DIR = "/etc/modules-load.d"
STATES = ("loaded", "builtin", "available", "missing")
MISSING_TOOL = 127


@dataclass(frozen=True)
class KernelModuleFact(FactKind):
    """Whether a module is loaded (`/sys/module/NAME`), built into the kernel, available
    to `modprobe` (`modinfo` finds it for the running kernel) or missing."""

    kind = "kernel_module"
    name: str
    slow: bool = False

    def command(self) -> str:
        sys_dir = shlex.quote(f"/sys/module/{self.name.replace('-', '_')}")
        name = shlex.quote(self.name)
        return (
            f"if [ -d {sys_dir} ]; then echo loaded; exit 0; fi; "
            f"command -v modinfo >/dev/null || exit {MISSING_TOOL}; "
            f"if f=$(modinfo -F filename -- {name} 2>/dev/null); then "
            "case \"$f\" in *'(builtin)'*) echo builtin;; *) echo available;; esac; "
            "else echo missing; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> str:
        if rc == MISSING_TOOL:
            raise FactError("modinfo is not installed on this host (package kmod)")
        if rc != 0:
            raise FactError(f"cannot read kernel module {self.name}: {tail(stderr)}")
        answer = text(stdout).strip()
        if answer not in STATES:
            raise FactError(f"unexpected answer about kernel module {self.name}: {answer!r}")
        return answer

    def describe(self) -> str:
        return f"kernel module {self.name}"

    def case_value(self, case: CaseFacts) -> str:
        """`kernel_modules: {NAME: loaded|builtin|available|missing}`; not listed:
        available (shipped with the kernel, not loaded)."""
        value = str(case.section("kernel_modules").get(self.name, "available"))
        if value not in STATES:
            raise ValueError(f"kernel_modules: {self.name}: {value!r} is not one of {STATES}")
        return value


class KernelModule(TaskType):
    """`kernel_module`: a kernel module loaded now and at every boot

    Loads the module with `modprobe` when it is not loaded, and lists it in
    `/etc/modules-load.d/NAME.conf`, which systemd-modules-load reads at boot. A module
    built into the kernel counts as loaded. A module that `modinfo` does not find for the
    running kernel fails the task (unless an earlier task changed the host: it may install
    the package that ships it). `state: absent` unloads it (`modprobe -r`) and removes
    that file; a built-in module cannot be unloaded and fails.
    """

    type_name = "kernel_module"

    @dataclass(kw_only=True)
    class Params:
        name: str = arg(doc="the module, e.g. `xt_addrtype` (`-` and `_` are the same)")
        state: str = arg(
            "present", choices=("present", "absent"), doc="loaded (and at boot) or not"
        )
        persist: bool = arg(True, doc="also load it at every boot (`present` only)")

    params: Params

    def validate(self) -> None:
        name = self.params.name
        if not NAME.fullmatch(name):
            raise self.fail(
                f"invalid kernel module name {name!r}: letters, digits, `_` and `-`, at most"
                " 56 characters, not starting with `-`",
                arg="name",
            )

    @property
    def conf(self) -> str:
        return f"{CONF_DIR}/{self.params.name}.conf"

    @property
    def fact(self) -> KernelModuleFact:
        return KernelModuleFact(self.params.name)

    def facts(self) -> list[Fact]:
        return [self.fact, FileFact(self.conf)]

    def plan(self, state: HostState) -> Outcome:
        name, now = self.params.name, state.get(self.fact)
        outcomes: list[Outcome] = []
        if self.params.state == "absent":
            if now == "builtin":
                return Failed(
                    f"kernel module {name} is built into the kernel: it cannot be unloaded"
                )
            if now == "loaded":
                unload = command("modprobe", "-r", "--", name)
                outcomes.append(Change([f"unload kernel module {name}"], [unload]))
                state.set(self.fact, "available")
            outcomes.append(plan_absent(state, self.conf))
        else:
            if now == "missing" and not state.after_changes:
                return Failed(
                    f"kernel module {name} is not available for the running kernel (modinfo"
                    " does not find it; a package such as kernel-modules-extra may ship it)"
                )
            if now in ("available", "missing"):
                load = command("modprobe", "--", name)
                outcomes.append(Change([f"load kernel module {name}"], [load]))
                state.set(self.fact, "loaded")
            if self.params.persist:
                outcomes.append(
                    plan_file(
                        state,
                        self.conf,
                        f"{name}\n".encode(),
                        0o644,
                        "root",
                        "root",
                        summary=f"load {name} at boot ({self.conf})",
                    )
                )
        changes = [o for o in outcomes if isinstance(o, Change)]
        other = [o for o in outcomes if not isinstance(o, Change | NoOp)]
        if other:
            return other[0]  # Failed or Deferred from the file
        if not changes:
            where = f", loaded at boot by {self.conf}" if self.params.persist else ""
            if self.params.state == "absent":
                return NoOp(f"kernel module {name} is {now}; {self.conf} is absent")
            return NoOp(f"kernel module {name} is {now}{where}")
        return Change(
            [line for c in changes for line in c.summary],
            [cmd for c in changes for cmd in c.commands],
            [d for c in changes for d in c.diffs],
        )

    def assertions(self) -> list[Assertion]:
        expect = {"state": self.params.state, "persist": self.params.persist, "conf": self.conf}
        return [
            Assertion(
                "kernel_module", self.params.name, expect, f"kernel module {self.params.name}"
            )
        ]


@verifies("kernel_module")
def check_kernel_module(host: Any, name: str, expect: dict) -> str | None:
    """Loaded (or built in) as declared, and the modules-load.d file as declared."""
    fact = KernelModuleFact(name)
    result = host.run(fact.command())
    now = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    present = expect["state"] == "present"
    if (now in ("loaded", "builtin")) != present:
        return f"kernel module {name} is {now}"
    conf = host.file(expect["conf"])
    if not present:
        return f"{expect['conf']} exists" if conf.exists else None
    if expect["persist"] and (not conf.exists or name not in conf.content_string.split()):
        return f"{expect['conf']} does not list {name}"
    return None
