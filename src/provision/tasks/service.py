"""`service`: a systemd unit started/stopped, enabled/disabled, restarted by handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import ServiceFact, ServiceState
from provision.planning.model import Change, Failed, HostState, NoOp, Outcome, command
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.names import unit_problem


class Service(TaskType):
    """`service`: a systemd unit

    `restarted`/`reloaded` always change: use them in handlers. A handler that restarts a
    unit is skipped when that unit was started after the change that notified it.
    """

    type_name = "service"

    @dataclass(kw_only=True)
    class Params:
        name: str = arg(doc="the unit (`docker` is `docker.service`)")
        state: str | None = arg(
            None,
            choices=("started", "stopped", "restarted", "reloaded"),
            doc="whether it runs; `restarted`/`reloaded` act every time",
        )
        enabled: bool | None = arg(None, doc="whether it starts at boot")
        daemon_reload: bool = arg(False, doc="run `systemctl daemon-reload` first")

    params: Params

    def validate(self) -> None:
        problem = unit_problem(self.params.name)
        if problem:
            raise self.fail(problem)
        if (
            self.params.state is None
            and self.params.enabled is None
            and not self.params.daemon_reload
        ):
            raise self.fail("say what to do: `state`, `enabled` or `daemon_reload`")

    @property
    def fact(self) -> ServiceFact:
        return ServiceFact(self.params.name)

    def facts(self) -> list[Fact]:
        return [self.fact]

    def plan(self, state: HostState) -> Outcome:
        unit = self.fact.unit
        current: ServiceState = state.get(self.fact)
        wanted_state, enabled = self.params.state, self.params.enabled
        if not current.exists:
            if wanted_state in ("stopped", None) and enabled in (False, None):
                return NoOp(f"{unit} is not installed")
            if not state.after_changes:
                return Failed(f"unit {unit} not found on this host")
            current = ServiceState("loaded", "inactive", "disabled")  # from an earlier step
        summary: list[str] = []
        words: list[list[str]] = []
        if enabled is True and not current.is_enabled:
            summary.append(f"service {unit}: {current.enabled or 'disabled'} → enabled")
            words.append(["systemctl", "enable", "--quiet", "--", unit])
        if enabled is False and current.is_enabled and current.enabled != "static":
            summary.append(f"service {unit}: enabled → disabled")
            words.append(["systemctl", "disable", "--quiet", "--", unit])
        active = current.active
        started = []
        if wanted_state == "started" and not current.running:
            summary.append(f"service {unit}: {current.active} → active")
            words.append(["systemctl", "start", "--", unit])
            active = "active"
            started.append(unit)
        elif wanted_state == "stopped" and current.running:
            summary.append(f"service {unit}: {current.active} → stopped")
            words.append(["systemctl", "stop", "--", unit])
            active = "inactive"
        elif wanted_state == "restarted":
            summary.append(f"service {unit}: restart")
            words.append(["systemctl", "restart", "--", unit])
            active = "active"
        elif wanted_state == "reloaded":
            summary.append(f"service {unit}: reload")
            words.append(["systemctl", "reload-or-restart", "--", unit])
            active = "active"
        if not words:
            return NoOp(f"{unit} is {current.active}, {current.enabled or 'static'}")
        if self.params.daemon_reload:
            words.insert(0, ["systemctl", "daemon-reload"])
        new_enabled = current.enabled
        if enabled is not None:
            new_enabled = "enabled" if enabled else "disabled"
        state.set(self.fact, ServiceState("loaded", active, new_enabled))
        # starting or restarting a unit can take long (the engine): shown as live progress
        slow = {"start", "restart", "reload-or-restart"}
        commands = [command(*w, progress=len(w) > 1 and w[1] in slow) for w in words]
        return Change(summary, commands, started=started)

    def restarts_unit(self) -> str | None:
        """The unit this task restarts (as a handler), if that is all it does."""
        return self.fact.unit if self.params.state == "restarted" else None

    def assertions(self) -> list[Assertion]:
        expect: dict[str, object] = {}
        if self.params.state in ("started", "restarted", "reloaded"):
            expect["running"] = True
        elif self.params.state == "stopped":
            expect["running"] = False
        if self.params.enabled is not None:
            expect["enabled"] = self.params.enabled
        if not expect:
            return []
        return [Assertion("service", self.params.name, expect, f"service {self.params.name}")]


@verifies("service")
def check_service(host: Any, name: str, expect: dict) -> str | None:
    service = host.service(name)
    if "running" in expect and service.is_running != expect["running"]:
        return f"service {name} is {'not ' if expect['running'] else ''}running"
    if "enabled" in expect and service.is_enabled != expect["enabled"]:
        return f"service {name} is {'not ' if expect['enabled'] else ''}enabled"
    return None
