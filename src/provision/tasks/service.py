"""`service`: a systemd unit started/stopped, enabled/disabled, restarted by handlers."""

from __future__ import annotations

from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import ServiceFact, ServiceState
from provision.planning.model import Change, Failed, HostState, NoOp, Outcome, command
from provision.tasks.base import Arg, Assertion, TaskType, register, verifies
from provision.tasks.names import unit_problem


@register
class Service(TaskType):
    type_name = "service"
    args = (
        Arg("name", "str"),
        Arg("state", "str", None, ("started", "stopped", "restarted", "reloaded")),
        Arg("enabled", "bool", None),
        Arg("daemon_reload", "bool", False),
    )

    def validate(self) -> None:
        problem = unit_problem(self.p["name"])
        if problem:
            raise self.fail(problem)
        if self.p["state"] is None and self.p["enabled"] is None and not self.p["daemon_reload"]:
            raise self.fail("say what to do: `state`, `enabled` or `daemon_reload`")

    @property
    def fact(self) -> ServiceFact:
        return ServiceFact(self.p["name"])

    def facts(self) -> list[Fact]:
        return [self.fact]

    def plan(self, state: HostState) -> Outcome:
        unit = self.fact.unit
        current: ServiceState = state.get(self.fact)
        wanted_state, enabled = self.p["state"], self.p["enabled"]
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
        if self.p["daemon_reload"]:
            words.insert(0, ["systemctl", "daemon-reload"])
        new_enabled = current.enabled
        if enabled is not None:
            new_enabled = "enabled" if enabled else "disabled"
        state.set(self.fact, ServiceState("loaded", active, new_enabled))
        return Change(summary, [command(*w) for w in words], started=started)

    def restarts_unit(self) -> str | None:
        """The unit this task restarts (as a handler), if that is all it does."""
        return self.fact.unit if self.p["state"] == "restarted" else None

    def assertions(self) -> list[Assertion]:
        expect: dict[str, object] = {}
        if self.p["state"] in ("started", "restarted", "reloaded"):
            expect["running"] = True
        elif self.p["state"] == "stopped":
            expect["running"] = False
        if self.p["enabled"] is not None:
            expect["enabled"] = self.p["enabled"]
        if not expect:
            return []
        return [Assertion("service", self.p["name"], expect, f"service {self.p['name']}")]


@verifies("service")
def check_service(host: Any, name: str, expect: dict) -> str | None:
    service = host.service(name)
    if "running" in expect and service.is_running != expect["running"]:
        return f"service {name} is {'not ' if expect['running'] else ''}running"
    if "enabled" in expect and service.is_enabled != expect["enabled"]:
        return f"service {name} is {'not ' if expect['enabled'] else ''}enabled"
    return None
