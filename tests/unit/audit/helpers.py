"""Fake hosts for the audit's unit tests: observations built by hand, and a fake `run`
that answers the audit's commands the way a host would."""

from __future__ import annotations

from provision.audit.observe import (
    COMMANDS,
    FileInfo,
    Observations,
    Output,
)

SERVICE = "/usr/lib/systemd/system/docker.service"
SOCKET = "/usr/lib/systemd/system/docker.socket"


def fi(
    path: str,
    mode: int = 0o644,
    owner: str = "root",
    group: str = "root",
    kind: str = "regular file",
) -> FileInfo:
    return FileInfo(path, owner, group, mode, kind)


def docker_host(**changes: object) -> Observations:
    """A host with the engine installed and running with an empty daemon.json."""
    obs = Observations(
        daemon_json={},
        dockerd_args=["/usr/bin/dockerd", "--containerd=/run/containerd/containerd.sock"],
        dockerd_running=True,
        units={
            "docker.service": {"Id": "docker.service", "FragmentPath": SERVICE},
            "docker.socket": {"Id": "docker.socket", "FragmentPath": SOCKET},
        },
        docker_info={"Driver": "overlay2", "LoggingDriver": "json-file"},
        audit_live=[],
        files={
            p.path: p
            for p in (
                fi("/usr/bin/dockerd", 0o755),
                fi("/etc/docker", 0o755, kind="directory"),
                fi("/etc/docker/daemon.json"),
                fi(SERVICE),
                fi(SOCKET),
                fi("/var/run/docker.sock", 0o660, group="docker", kind="socket"),
                fi("/var/lib/docker", 0o710, kind="directory"),
            )
        },
    )
    for key, value in changes.items():
        setattr(obs, key, value)
    return obs


class FakeHost:
    """`run(command)` answering the audit's fixed commands from a dict; stat and findmnt
    answered from `stat_lines` and `mount`."""

    def __init__(
        self,
        answers: dict[str, Output] | None = None,
        stat_lines: str = "",
        mount: str = "/",
    ) -> None:
        self.answers = answers or {}
        self.stat_lines = stat_lines
        self.mount = mount
        self.commands: list[str] = []

    def __call__(self, command: str) -> Output:
        self.commands.append(command)
        for name, fixed in COMMANDS.items():
            if command == fixed:
                return self.answers.get(name, Output(1, "", "No such file or directory"))
        if "stat -c" in command:
            return Output(0, self.stat_lines)
        if "findmnt" in command:
            return Output(0, self.mount + "\n")
        raise AssertionError(f"unexpected command {command!r}")
