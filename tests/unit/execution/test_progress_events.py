"""The runner's long-step events (progress, output, notice, progress-end, probe) and the SSH
connection's line relay that feeds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from provision.errors import ConnectError
from provision.execution.connection import Result
from provision.execution.reports import HostReport
from provision.execution.runner import HostRun, RunOptions, probe_size
from provision.execution.ssh import LineRelay
from provision.facts.probe import probe_script
from provision.planning.model import Command, command, dnf


class Streaming:
    """A connection that prints `lines` through the callback, then answers `rc` (or drops)."""

    commands_run = 0
    connections_opened = 1

    def __init__(self, lines: list[str], rc: int | None = 0) -> None:
        self.lines = lines
        self.rc = rc

    def run(
        self,
        script: str,
        stdin: bytes | None = None,
        become: bool = False,
        on_line: Callable[[str], None] | None = None,
    ) -> Result:
        assert on_line is not None
        for line in self.lines:
            on_line(line)
        if self.rc is None:
            raise ConnectError("h: connection lost while a command ran")
        return Result(self.rc, b"", b"")

    def close(self) -> None:
        return None


def run_one(conn: Streaming, cmd: Command) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = []
    play = SimpleNamespace(tasks=[], handlers=[])
    host = HostRun(
        play,  # type: ignore[arg-type]
        conn,
        RunOptions(apply=True),
        HostReport("h"),
        lambda e, p: events.append((e, p)),
    )
    compiled = SimpleNamespace(name="packages", become=True)
    try:
        host._run_command(compiled, cmd)  # type: ignore[arg-type]
    except ConnectError:
        pass
    return events


def test_a_long_command_is_framed_and_each_line_reported() -> None:
    lines = ["waiting for another dnf (pid 9) to release its lock", "Installing: a", "Done"]
    events = run_one(Streaming(lines), dnf("-y", "install", "a"))
    names = [e for e, _ in events]
    assert names == ["progress", "output", "notice", "output", "output", "progress-end"]
    assert events[0][1] == ("h", "packages", "dnf -y install a")
    assert [p[2] for e, p in events if e == "output"] == lines  # type: ignore[index]
    host, task, display, seconds, rc = events[-1][1]  # type: ignore[misc]
    assert (host, task, display, rc) == ("h", "packages", "dnf -y install a", 0)
    assert 0 <= seconds < 5


@pytest.mark.parametrize("rc", [1, 75])
def test_a_failing_long_command_ends_with_its_exit_code(rc: int) -> None:
    events = run_one(Streaming(["oops"], rc), dnf("-y", "install", "a"))
    assert events[-1][0] == "progress-end" and events[-1][1][-1] == rc  # type: ignore[index]


def test_a_dropped_connection_still_ends_the_step() -> None:
    events = run_one(Streaming(["Installing: a"], None), dnf("-y", "install", "a"))
    assert [e for e, _ in events] == ["progress", "output", "progress-end"]
    assert events[-1][1][-1] is None  # type: ignore[index]


def test_a_short_command_reports_only_waiting_notices() -> None:
    events = run_one(Streaming(["chatter", "waiting for x"]), command("chmod", "0644", "/x"))
    assert events == [("notice", ("h", "packages", "waiting for x"))]


@dataclass(frozen=True)
class EchoFact:
    text: str
    slow: bool = False

    def command(self) -> str:
        return f"echo {self.text}"


def test_probe_size_counts_without_showing_the_script() -> None:
    facts = [EchoFact("a"), EchoFact("b" * 1000, slow=True)]
    count, size = probe_size(facts)
    assert count == 2 and size == len(probe_script(facts)[0].encode())  # type: ignore[arg-type]
    assert size > 1000
    assert probe_size([]) == (0, 0)


class Collect:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)


@pytest.mark.parametrize(
    ("chunks", "lines"),
    [
        ([("out", b"one\ntwo\n")], ["one", "two"]),
        ([("out", b"on"), ("out", b"e\ntw"), ("out", b"o\n")], ["one", "two"]),
        ([("out", b"a"), ("err", b"b\n"), ("out", b"c\n")], ["b", "ac"]),  # streams kept apart
        ([("out", b"no newline")], ["no newline"]),  # flushed at the end
        ([("err", "é".encode()[:1]), ("err", "é\n".encode()[1:])], ["é"]),  # split UTF-8
        ([("out", b"bad \xff byte\n")], ["bad \ufffd byte"]),
        ([("out", b"cr\r\nprogress 1%\rprogress 2%\n")], ["cr\r", "progress 1%\rprogress 2%"]),
        ([("out", b"\n\n")], ["", ""]),
        ([], []),
    ],
)
def test_line_relay(chunks: list[tuple[str, bytes]], lines: list[str]) -> None:
    seen = Collect()
    relay = LineRelay(seen)
    for stream, chunk in chunks:
        relay.feed(stream, chunk)
    relay.flush()
    assert seen.lines == lines


def test_line_relay_without_a_callback_keeps_nothing() -> None:
    relay = LineRelay(None)
    relay.feed("out", b"x" * 100000)
    relay.flush()
    assert relay.partial == {"out": b"", "err": b""}
