"""The Docker engine as a restart would find it: running or not, how many containers run,
whether live-restore keeps them running while dockerd restarts. Read only by a task that
may restart or stop the engine (a `service` task or handler on docker.service), in the same
probe as every other fact; it tells `plan` what that restart means on this host."""

from __future__ import annotations

from dataclasses import dataclass

from provision.facts.base import CaseFacts, FactError, FactKind, tail, text

MISSING_TOOL = 127
NOT_RUNNING = "inactive"
INFO_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class EngineState:
    """`installed`: the docker CLI is there; `running`: docker.service is active;
    `containers`/`live_restore`: from `docker info` (None: not known: the engine is not
    running, or did not answer in time)."""

    installed: bool
    running: bool = False
    containers: int | None = None
    live_restore: bool | None = None

    def restart_detail(self) -> str:
        """What a restart (or stop) of docker.service does to the containers, in words."""
        if not self.installed:
            return "engine not installed yet"
        if not self.running:
            return "engine not running"
        if self.containers is None:
            return "running containers unknown: `docker info` did not answer"
        if self.containers == 0:
            return "no container running"
        count = f"{self.containers} container{'s' if self.containers != 1 else ''} running"
        if self.live_restore:
            return f"{count}: live-restore keeps them running"
        return f"{count}: they stop (live-restore is off)"

    def reload_detail(self) -> str:
        if self.running and self.containers:
            noun = "container" if self.containers == 1 else "containers"
            return f"{self.containers} {noun} running: a reload keeps them"
        return ""


@dataclass(frozen=True)
class DockerEngineFact(FactKind):
    kind = "docker_engine"
    slow: bool = True  # `docker info` can take a while: its own job in the probe

    def command(self) -> str:
        return (
            "command -v docker >/dev/null || exit 127; "
            f"systemctl is-active --quiet docker.service || {{ echo {NOT_RUNNING}; exit 0; }}; "
            f"timeout {INFO_TIMEOUT_SECONDS} docker info --format "
            "'{{.ContainersRunning}} {{.LiveRestoreEnabled}}'"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> EngineState:
        if rc == MISSING_TOOL:
            return EngineState(False)
        words = text(stdout).split()
        if rc == 0 and words == [NOT_RUNNING]:
            return EngineState(True, False)
        if rc != 0:  # a running engine that does not answer: what a restart does is unknown
            return EngineState(True, True)
        if len(words) != 2 or not words[0].isdigit() or words[1] not in ("true", "false"):
            found = f"{text(stdout)[:200]!r} {tail(stderr)}".strip()
            raise FactError(f"unexpected `docker info` output: {found}")
        return EngineState(True, True, int(words[0]), words[1] == "true")

    def describe(self) -> str:
        return "docker engine"

    def case_value(self, case: CaseFacts) -> EngineState:
        """`docker_engine: {running: BOOL, containers: N, live_restore: BOOL}`; left out:
        not installed."""
        spec = case.facts.get("docker_engine")
        if spec is None:
            return EngineState(False)
        return EngineState(
            True, bool(spec.get("running", True)), spec.get("containers"), spec.get("live_restore")
        )
