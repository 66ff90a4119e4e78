"""`stack`: a Docker Swarm stack (`docker stack deploy -c FILE NAME`) from a rendered
compose file, deployed only when the file or the options changed since the last deploy
(a record beside compose's, /var/lib/provision/stack/NAME.json) or a service of the
stack is gone. Runs on a swarm manager."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import CaseFacts, Fact, FactError, FactKind, tail
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Diff,
    Failed,
    HostState,
    NoOp,
    Outcome,
)
from provision.tasks import dockerproject
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.compose import service_configs

# Docker's rule for a stack name (it prefixes every service and network name).
STACK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}")
_SECTIONS = ("record", "swarm", "services")


def stack_name_problem(name: str) -> str | None:
    if STACK_NAME.fullmatch(name):
        return None
    shown = name if len(name) <= 80 else name[:80] + "..."
    return (
        f"stack name {shown!r} is not valid: letters, digits, `-` and `_`, starting with a"
        " letter or digit, at most 63 characters"
    )


@dataclass(frozen=True)
class StackState:
    """`docker`: the CLI is there; `engine`: docker.service runs; `swarm`: this node's
    LocalNodeState (`inactive`, `active`, `pending`...); `manager`: it can manage the
    swarm; `services`: the stack's services as (name, replicas `2/3`); the record."""

    docker: bool
    engine: bool = False
    swarm: str = ""
    manager: bool = False
    services: tuple[tuple[str, str], ...] = ()
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class StackFact(FactKind):
    """A stack's record, this node's swarm state and (on a manager) the stack's services."""

    kind = "stack"
    name: str
    slow: bool = True

    def command(self) -> str:
        name = shlex.quote(self.name)
        return (
            dockerproject.record_probe(self.name, "stack")
            + "systemctl is-active --quiet docker.service || exit 0; "
            "echo '@@swarm'; "
            "s=$(timeout 20 docker info --format "
            "'{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}') || exit 3; "
            'echo "$s"; [ "$s" = "active true" ] || exit 0; '
            "echo '@@services'; "
            "timeout 20 docker stack services --format '{{.Name}}\t{{.Replicas}}' "
            f"-- {name} 2>/dev/null || exit 3"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> StackState:
        if rc == dockerproject.MISSING_TOOL:
            return StackState(False)
        if rc != 0:
            raise FactError(f"cannot read stack {self.name}: {tail(stderr)}")
        sections, record = dockerproject.read_sections(stdout, _SECTIONS, f"stack {self.name}")
        if "swarm" not in sections:
            return StackState(True, False, record=record)
        words = " ".join(sections["swarm"]).split()
        if len(words) != 2 or words[1] not in ("true", "false"):
            raise FactError(f"unexpected `docker info` swarm state: {' '.join(words)[:200]!r}")
        services = []
        for line in sections.get("services", []):
            service, sep, replicas = line.partition("\t")
            if not sep:
                raise FactError(f"unexpected `docker stack services` line: {line[:200]!r}")
            services.append((service, replicas.strip()))
        return StackState(True, True, words[0], words[1] == "true", tuple(services), record)

    def describe(self) -> str:
        return f"stack {self.name}"

    def case_value(self, case: CaseFacts) -> StackState:
        """`stacks: {NAME: {record: {...}, services: {SERVICE: "3/3"}, swarm: active,
        manager: true, engine: true}}`; `docker: false` at the top: no docker CLI. A stack
        not listed: on an active manager, never deployed."""
        if case.facts.get("docker") is False:
            return StackState(False)
        spec = case.section("stacks").get(self.name) or {}
        return StackState(
            True,
            spec.get("engine", True),
            spec.get("swarm", "active"),
            spec.get("manager", True),
            tuple((k, str(v)) for k, v in (spec.get("services") or {}).items()),
            spec.get("record"),
        )


class Stack(TaskType):
    """`stack`: a Docker Swarm stack, `docker stack deploy` only when its compose file changed

    The compose file is rendered from a role template (`src`) or given inline
    (`content`), written to `dest` (default `/var/lib/provision/stack/NAME.yaml`), and
    deployed with `docker stack deploy --compose-file DEST NAME` on a swarm manager. The
    task records a hash of the file and options after a deploy; it deploys again only when
    they differ or a service of the stack is gone. `plan` shows the file's diff and which
    services change. `state: absent` runs `docker stack rm NAME`. On a host that is not a
    swarm manager the task fails (run it on the first manager: `when:` or a play on
    `swarm_managers[0]`).
    """

    type_name = "stack"

    @dataclass(kw_only=True)
    class Params:
        name: str = arg(doc="the stack's name")
        src: str | None = arg(None, doc="the compose file's template, under `templates/`")
        content: str | None = arg(None, doc="the compose file's text, inline")
        dest: str | None = arg(
            None, doc="where the file is written (default `/var/lib/provision/stack/NAME.yaml`)"
        )
        state: str = arg("present", choices=("present", "absent"), doc="deployed or removed")
        prune: bool = arg(False, doc="`--prune`: remove services no longer in the file")
        with_registry_auth: bool = arg(False, doc="`--with-registry-auth`: send registry login")
        resolve_image: str | None = arg(
            None,
            choices=("always", "changed", "never"),
            doc="`--resolve-image` (default: Docker's, `always`)",
        )

    params: Params
    content_bytes: bytes | None = None

    def describe(self) -> str:
        return f"stack {self.params.name} {self.params.state}"

    @property
    def dest(self) -> str:
        return self.params.dest or f"/var/lib/provision/stack/{self.params.name}.yaml"

    def validate(self) -> None:
        p = self.params
        problem = stack_name_problem(p.name)
        if problem:
            raise self.fail(problem, arg="name")
        if p.dest is not None:
            problem = dockerproject.path_problem(p.dest, "`dest`")
            if problem:
                raise self.fail(problem, arg="dest")
        if p.src is not None and p.content is not None:
            raise self.fail("give `src` or `content`, not both")
        if p.state == "present" and p.src is None and p.content is None:
            raise self.fail("give the compose file: `src` (a template) or `content`")
        text_ = (
            p.content if p.src is None else dockerproject.render_role_template(self, p.src, "src")
        )
        if text_ is not None:
            self.doc, self.content_bytes = dockerproject.checked_compose(
                self, text_, "the stack's compose file"
            )

    def facts(self) -> list[Fact]:
        return [FileFact(self.dest), StackFact(self.params.name)]

    def deploy_words(self) -> list[str]:
        p = self.params
        words = ["docker", "stack", "deploy", "--compose-file", self.dest]
        if p.prune:
            words.append("--prune")
        if p.with_registry_auth:
            words.append("--with-registry-auth")
        if p.resolve_image:
            words += ["--resolve-image", p.resolve_image]
        return [*words, "--", p.name]

    def plan(self, state: HostState) -> Outcome:
        found: StackState = state.get(StackFact(self.params.name))
        ready = found.docker and found.engine and found.swarm == "active" and found.manager
        if state.after_changes and not ready:
            return Deferred(f"stack {self.params.name} (after earlier changes)", self.facts())
        failure = dockerproject.docker_failure(found.docker, found.engine)
        if failure is not None:
            return failure
        if found.swarm != "active" or not found.manager:
            return Failed(
                f"this host is not a swarm manager (swarm state {found.swarm or 'unknown'}):"
                " deploy stacks on a manager"
            )
        if self.params.state == "absent":
            if found.record is None and not found.services:
                return NoOp(f"stack {self.params.name} is not deployed")
            name = self.params.name
            state.set(StackFact(name), StackState(True, True, "active", True))
            summary = f"stack {name}: rm ({len(found.services)} services)"
            words = ["docker", "stack", "rm", "--", name]
            return dockerproject.removal(words, name, "stack", summary, "its services stop")
        return self._plan_present(state, found)

    def _plan_present(self, state: HostState, found: StackState) -> Outcome:
        assert self.content_bytes is not None
        name = self.params.name
        digest = hashlib.sha256(
            self.content_bytes + b"\0" + json.dumps(self.deploy_words()).encode()
        ).hexdigest()
        before: FileState = state.get(FileFact(self.dest))
        record = found.record or {}
        configs = service_configs([self.doc])
        wanted = {f"{name}_{s}" for s in configs}
        present = {s for s, _ in found.services}
        missing = sorted(wanted - present)
        same_file = before.exists and before.known and before.same_content(self.content_bytes)
        if record.get("hash") == digest and same_file and not missing:
            return NoOp(f"stack {name} deployed as declared ({len(wanted)} services)")
        commands: list[Command] = []
        diffs: list[Diff] = []
        summary: list[str] = []
        written = dockerproject.write_changed(
            state, self.dest, self.content_bytes, 0o600, self.context.secret
        )
        if written is not None:
            diffs.append(written[0])
            commands.append(written[1])
            summary.append(f"write {self.dest}")
        new_record = {"stack": name, "hash": digest, "services": configs}
        commands += dockerproject.run_and_record(self.deploy_words(), name, "stack", new_record)
        summary.append(f"stack {name}: deploy")
        old_configs = record.get("services") if isinstance(record.get("services"), dict) else {}
        for service in sorted(configs):
            if f"{name}_{service}" not in present:
                summary.append(f"  create {service}")
            elif old_configs.get(service) != configs[service]:
                summary.append(f"  update {service}: its configuration changed")
        services = tuple((s, "") for s in sorted(wanted | present))
        state.set(StackFact(name), StackState(True, True, "active", True, services, new_record))
        return Change(summary, commands, diffs)

    def assertions(self) -> list[Assertion]:
        expect = {"present": self.params.state == "present"}
        return [Assertion("stack", self.params.name, expect, f"stack {self.params.name}")]


@verifies("stack")
def check_stack(host: Any, name: str, expect: dict[str, Any]) -> str | None:
    """Every service of the stack runs all its replicas (or, absent: no service)."""
    result = host.run(
        "docker stack services --format '{{.Name}}\t{{.Replicas}}' -- " + shlex.quote(name)
    )
    lines = [line for line in result.stdout.splitlines() if "\t" in line]
    if not expect["present"]:
        return f"stack {name} still has services: {lines}" if lines else None
    if result.rc != 0 or not lines:
        return f"stack {name} has no services ({result.stderr.strip()[-200:]})"
    short = []
    for line in lines:
        service, _, replicas = line.partition("\t")
        running, _, wanted = replicas.strip().partition("/")
        if running != wanted.split(" ")[0]:
            short.append(f"{service} {replicas.strip()}")
    return f"replicas not all running: {', '.join(short)}" if short else None
