"""What planning works on and produces: the host state, commands, diffs, per-task outcomes."""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field
from typing import Any

from provision.facts.base import Fact


@dataclass(frozen=True)
class Command:
    """One remote shell invocation. Values in `script` were quoted by construction."""

    script: str
    display: str
    stdin: bytes | None = None
    progress: bool = False  # long-running (dnf): the console shows a progress indication
    # A file sent to the host before the script runs (`execution.upload.Upload`: streamed
    # over the run's connection, chunked); None: nothing to send.
    upload: Any = None


def shell_words(*words: str) -> str:
    """Join words into a shell command line, each quoted."""
    return shlex.join(words)


def command(*words: str, progress: bool = False) -> Command:
    line = shell_words(*words)
    return Command(line, line, progress=progress)


DNF_LOCKS = ("/var/lib/dnf/rpmdb_lock.pid", "/var/cache/dnf/metadata_lock.pid")
DNF_LOCK_WAIT_SECONDS = 300


def dnf(*words: str) -> Command:
    """A dnf command that first waits (up to DNF_LOCK_WAIT_SECONDS) for another dnf holding
    its lock, saying so, instead of hanging without a word or failing at once."""
    line = shell_words("dnf", *words)
    locks = " ".join(DNF_LOCKS)
    wait = (
        f"w=0; for f in {locks}; do "
        'while p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && [ "$p" != "$$" ] '
        '&& kill -0 "$p" 2>/dev/null; do '
        '[ $w -eq 0 ] && echo "waiting for another dnf (pid $p) to release its lock" >&2; '
        f"w=$((w+1)); if [ $w -ge {DNF_LOCK_WAIT_SECONDS} ]; then "
        f'echo "another dnf (pid $p) still holds its lock after {DNF_LOCK_WAIT_SECONDS} s" >&2; '
        "exit 75; fi; sleep 1; done; done"
    )
    return Command(f"{wait}; {line}", line, progress=True)


def write_file(
    path: str, content: bytes, mode: int, owner: str, group: str, backup: bool = False
) -> Command:
    """Atomic write: temp file in the same directory, owner and mode set before the rename.

    The temp file is created under umask 077, so no window exists in which another user
    could read it; the content travels on stdin, never in argv.
    """
    p = shlex.quote(path)
    owner_group = shlex.quote(f"{owner}:{group}")
    steps = [
        "set -e",
        "umask 077",
        f"d=$(dirname -- {p})",
        '[ -d "$d" ] || mkdir -p -m 0755 -- "$d"',
        't=$(mktemp "$d/.provision.XXXXXXXX")',
        "trap 'rm -f -- \"$t\"' EXIT",
        'cat > "$t"',
        f'chown -- {owner_group} "$t"',
        f'chmod -- {mode:04o} "$t"',
    ]
    if backup:
        steps.append(f"if [ -f {p} ]; then cp -p -- {p} {p}.$(date +%Y%m%d%H%M%S).bak; fi")
    steps += [
        f'mv -f -- "$t" {p}',
        "trap - EXIT",
        f"if command -v restorecon >/dev/null; then restorecon -- {p} 2>/dev/null || true; fi",
    ]
    return Command(
        "; ".join(steps), f"write {path} ({len(content)} bytes, mode {mode:04o})", content
    )


def remove_file(path: str, backup: bool = False) -> Command:
    p = shlex.quote(path)
    script = f"rm -f -- {p}"
    if backup:
        script = f"if [ -f {p} ]; then mv -f -- {p} {p}.$(date +%Y%m%d%H%M%S).bak; fi"
    return Command(script, f"remove {path}")


@dataclass(frozen=True)
class Diff:
    path: str
    before: str
    after: str
    secret: bool = False

    def unified(self) -> list[str]:
        if self.secret:
            return [
                f"--- before: {self.path}",
                f"+++ after: {self.path}",
                "(content hidden: secret)",
            ]
        return list(
            difflib.unified_diff(
                self.before.splitlines(),
                self.after.splitlines(),
                fromfile=f"before: {self.path}",
                tofile=f"after: {self.path}",
                lineterm="",
            )
        )


# What a change interrupts on the host, least first (`--max-disruption` compares ranks).
DISRUPTION_LEVELS = ("none", "reload", "restart", "reboot")


@dataclass(frozen=True)
class Disruption:
    """What a change interrupts: nothing, a reload or a restart of `unit`, a reboot; and,
    from facts, what that means there (`detail`: e.g. the containers running and whether
    live-restore keeps them)."""

    level: str = "none"
    unit: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.level not in DISRUPTION_LEVELS:
            raise ValueError(f"disruption level {self.level!r} is not one of {DISRUPTION_LEVELS}")

    @property
    def rank(self) -> int:
        return DISRUPTION_LEVELS.index(self.level)

    def describe(self) -> str:
        """`restart docker.service (2 containers running: live-restore keeps them)`."""
        text = f"{self.level} {self.unit}" if self.unit else self.level
        return f"{text} ({self.detail})" if self.detail else text

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "unit": self.unit, "detail": self.detail}


NO_DISRUPTION = Disruption()


def worst(*disruptions: Disruption | None) -> Disruption:
    """The most disruptive of them (the first of equal rank); none when given none."""
    found = NO_DISRUPTION
    for disruption in disruptions:
        if disruption is not None and disruption.rank > found.rank:
            found = disruption
    return found


@dataclass
class NoOp:
    reason: str


@dataclass
class Change:
    summary: list[str]
    commands: list[Command]
    diffs: list[Diff] = field(default_factory=list)
    started: list[str] = field(default_factory=list)  # units this change starts from stopped
    disruption: Disruption = NO_DISRUPTION  # what running its commands interrupts
    # A file change that a reload of the service reading it applies (every key it changes is
    # one that service re-reads): a `restarted` handler it notifies may run as a reload.
    reload_suffices: bool = False


@dataclass
class Failed:
    message: str


@dataclass
class Deferred:
    """Decided when apply reaches the task: it depends on what earlier changes produce."""

    summary: str
    facts: list[Fact]
    check: bool = False  # a read-only check (assert), not a change


Outcome = NoOp | Change | Failed | Deferred


class HostState:
    """The host's state as probed, updated by each planned change in task order."""

    def __init__(self, facts: dict[Fact, Any], after_changes: bool = False) -> None:
        self._facts = dict(facts)
        self._after_changes = after_changes

    @property
    def after_changes(self) -> bool:
        """Whether an earlier task of this walk plans a change (or one decided at apply):
        a task whose answer then depends on the host as apply will find it defers. The
        planner sets it (`note_change`); a freshly probed state has none."""
        return self._after_changes

    def note_change(self) -> None:
        """The planner: a task before the next one changes the host."""
        self._after_changes = True

    def get(self, fact: Fact) -> Any:
        return self._facts[fact]

    def has(self, fact: Fact) -> bool:
        return fact in self._facts

    def set(self, fact: Fact, value: Any) -> None:
        self._facts[fact] = value
