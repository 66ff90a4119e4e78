"""`firewalld`: a service or port allowed (or not) in a firewalld zone."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from provision.facts.base import Fact
from provision.facts.kinds import CommandFact, CommandResult
from provision.planning.model import Change, Command, Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, TaskType, arg

_ZONE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,16}")
_SERVICE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
_PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?/(tcp|udp|sctp|dccp)")


class Firewalld(TaskType):
    """`firewalld`: a service or port allowed in a zone, now and/or permanently

    As ansible.posix.firewalld for `service` and `port`: `permanent: true` changes the
    saved configuration, and the running one too when `immediate: true`; without
    `permanent`, only the running configuration (lost at the next reload). Without `zone`,
    firewalld's default zone. The probe asks firewall-cmd (`--query-service`,
    `--query-port`); firewalld must be running.
    """

    type_name = "firewalld"

    @dataclass(kw_only=True)
    class Params:
        service: str | None = arg(None, doc="a firewalld service name (`http`, `ssh`)")
        port: str | None = arg(None, doc="`PORT/PROTO` or `FROM-TO/PROTO` (`8080/tcp`)")
        zone: str | None = arg(None, doc="the zone (default: firewalld's default zone)")
        permanent: bool = arg(False, doc="change the saved configuration")
        immediate: bool = arg(False, doc="with `permanent`: change the running one too")
        state: str = arg(choices=("enabled", "disabled"), doc="allowed or not")

    params: Params

    def _what(self) -> tuple[str, str]:
        p = self.params
        return ("service", p.service) if p.service is not None else ("port", p.port or "")

    def describe(self) -> str:
        kind, value = self._what()
        return f"firewalld {kind} {value} {self.params.state}"

    def validate(self) -> None:
        p = self.params
        if (p.service is None) == (p.port is None):
            raise self.fail("give exactly one of `service` or `port`")
        if p.service is not None and not _SERVICE.fullmatch(p.service):
            raise self.fail(f"invalid firewalld service name {p.service!r}", arg="service")
        if p.port is not None:
            match = _PORT.fullmatch(p.port)
            if not match or not all(
                0 < int(n) < 65536 for n in match.groups()[:2] if n is not None
            ):
                raise self.fail(
                    f"invalid port {p.port!r}: PORT/PROTO or FROM-TO/PROTO, proto tcp, udp,"
                    " sctp or dccp",
                    arg="port",
                )
        if p.zone is not None and not _ZONE.fullmatch(p.zone):
            raise self.fail(f"invalid zone name {p.zone!r}", arg="zone")

    def _layers(self) -> list[bool]:
        """Which configurations to manage: False = running, True = permanent."""
        p = self.params
        layers = []
        if not p.permanent or p.immediate:
            layers.append(False)
        if p.permanent:
            layers.append(True)
        return layers

    def _words(self, permanent: bool, action: str) -> list[str]:
        kind, value = self._what()
        words = ["firewall-cmd"]
        if permanent:
            words.append("--permanent")
        if self.params.zone is not None:
            words.append(f"--zone={self.params.zone}")
        words.append(f"--{action}-{kind}={value}")
        return words

    def _query(self, permanent: bool) -> CommandFact:
        return CommandFact(shlex.join(self._words(permanent, "query")))

    def facts(self) -> list[Fact]:
        return [self._query(layer) for layer in self._layers()]

    def plan(self, state: HostState) -> Outcome:
        want = self.params.state == "enabled"
        kind, value = self._what()
        commands, summary = [], []
        for permanent in self._layers():
            fact = self._query(permanent)
            if state.after_changes and not state.has(fact):
                return Deferred(f"firewalld {kind} {value}", self.facts())
            result: CommandResult = state.get(fact)
            if result.rc not in (0, 1):
                detail = result.stderr or result.stdout or f"exit code {result.rc}"
                return Failed(f"firewall-cmd cannot answer (is firewalld running?): {detail}")
            if (result.rc == 0) == want:
                continue
            action = "add" if want else "remove"
            line = shlex.join(self._words(permanent, action))
            commands.append(Command(line, line))
            where = "permanent" if permanent else "running"
            summary.append(f"firewalld {kind} {value}: {action} ({where})")
            state.set(fact, CommandResult(0 if want else 1, "yes" if want else "no", ""))
        if not commands:
            return NoOp(f"firewalld {kind} {value} {self.params.state}")
        return Change(summary, commands)

    def assertions(self) -> list[Assertion]:
        kind, value = self._what()
        queries = [
            ("permanent" if layer else "running", self._query(layer).command())
            for layer in self._layers()
        ]
        expect = {"state": self.params.state, "queries": queries}
        return [Assertion("firewalld", f"{kind} {value}", expect, self.describe())]
