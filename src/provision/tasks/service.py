"""`service`: a systemd unit started/stopped, enabled/disabled, restarted by handlers."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from provision.facts.base import Fact
from provision.facts.docker import DockerEngineFact, EngineState
from provision.facts.kinds import ServiceFact, ServiceState
from provision.planning.model import (
    NO_DISRUPTION,
    Change,
    Disruption,
    Failed,
    HostState,
    NoOp,
    Outcome,
    command,
)
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.names import unit_problem

# What each state that acts on a running unit disrupts (a stop: the unit is down until
# something starts it: counted with restarts).
DISRUPTS = {"restarted": "restart", "restart": "restart", "stopped": "restart", "stop": "restart"}
DISRUPTS |= {"reloaded": "reload", "reload": "reload"}


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

    @property
    def engine_fact(self) -> DockerEngineFact | None:
        """The Docker engine's containers and live-restore, read only when this task may
        restart, reload or stop docker.service (what that means is part of the plan)."""
        if self.fact.unit == "docker.service" and self.params.state in DISRUPTS:
            return DockerEngineFact()
        return None

    def facts(self) -> list[Fact]:
        engine = self.engine_fact
        return [self.fact] if engine is None else [self.fact, engine]

    def _disruption(self, state: HostState, action: str) -> Disruption:
        """What `action` (restart, reload, stop) of the unit interrupts, with the engine's
        containers when the unit is docker.service."""
        engine = self.engine_fact
        detail = ""
        if engine is not None and state.has(engine):
            found: EngineState = state.get(engine)
            detail = found.reload_detail() if action == "reload" else found.restart_detail()
        if action == "stop":
            detail = f"stop; {detail}" if detail else "stop"
        return Disruption(DISRUPTS[action], self.fact.unit, detail)

    def disrupts_at_most(self) -> Disruption:
        if self.params.state in DISRUPTS:
            return Disruption(DISRUPTS[self.params.state], self.fact.unit)
        return NO_DISRUPTION

    def as_reload(self) -> Service | None:
        """This `restarted` task as `reloaded` (`systemctl reload-or-restart`)."""
        if self.params.state != "restarted":
            return None
        reload = copy.copy(self)
        reload.params = replace(self.params, state="reloaded")
        return reload

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
        disruption = NO_DISRUPTION
        if wanted_state == "started" and not current.running:
            summary.append(f"service {unit}: {current.active} → active")
            words.append(["systemctl", "start", "--", unit])
            active = "active"
            started.append(unit)
        elif wanted_state == "stopped" and current.running:
            summary.append(f"service {unit}: {current.active} → stopped")
            words.append(["systemctl", "stop", "--", unit])
            active = "inactive"
            disruption = self._disruption(state, "stop")
        elif wanted_state == "restarted":
            summary.append(f"service {unit}: restart")
            words.append(["systemctl", "restart", "--", unit])
            active = "active"
            if current.running:
                disruption = self._disruption(state, "restart")
        elif wanted_state == "reloaded":
            summary.append(f"service {unit}: reload")
            words.append(["systemctl", "reload-or-restart", "--", unit])
            active = "active"
            if current.running:
                disruption = self._disruption(state, "reload")
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
        return Change(summary, commands, started=started, disruption=disruption)

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
