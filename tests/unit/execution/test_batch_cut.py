"""A batch whose connection is cut mid-way (the lab's `test_connection_cut_while_dnf_runs`):
the commands whose frame came back are reported as they ended, the host FAILS at the command
that was running (as when each command runs alone: not "unreachable" once a step has been
reported), and nothing else runs on it. Also the reading of a cut batch's output."""

from __future__ import annotations

import pytest
from tests.unit.execution import test_runner
from tests.unit.execution.fakes import FakeConnection
from tests.unit.execution.test_cold_batch import PLAY
from tests.unit.execution.test_runner import FakeHost, setup  # noqa: F401 - fixture

from provision.execution.batchscript import BatchError, frame, new_marker, parse_batch, split_batch
from provision.execution.connection import ConnectionLost, Result
from provision.execution.reports import CHANGED, FAILED, UNREACHABLE

LOST = "h1: the command ended without an exit status (connection dropped or killed)"


class CutConnection(FakeConnection):
    """Runs a batch's commands one by one until one contains `cut`, then loses the
    connection, having sent the frames so far and `tail` (a frame cut short)."""

    cut = ""
    tail = b""

    def run(self, script, stdin=None, become=False, on_stderr=None) -> Result:  # type: ignore[no-untyped-def]
        batch = split_batch(script)
        if batch is None or not self.cut:
            return super().run(script, stdin, become, on_stderr)
        self.commands_run += 1
        marker, commands = batch
        self.batches.append([c for c, _ in commands])
        out = b""
        for index, (command, data) in enumerate(commands):
            if self.cut in command:
                tail = self.tail.replace(b"{m}", marker.encode())
                raise ConnectionLost(LOST, out + tail.replace(b"{i}", str(index).encode()))
            out += frame(marker, index, self.responder(command, data))
        return Result(0, out, b"")


def run_cut(setup, monkeypatch: pytest.MonkeyPatch, cut: str, tail: bytes = b""):  # noqa: F811
    """Apply PLAY to h1 (its connection cut at `cut`) and h2 (not cut)."""

    class Cut(CutConnection):
        pass

    Cut.cut, Cut.tail = cut, tail
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    connections: dict[str, FakeConnection] = {}

    def connect(config, options):  # type: ignore[no-untyped-def]
        kind = Cut if config.name == "h1" else FakeConnection
        connections[config.name] = kind(hosts[config.name])
        return connections[config.name]

    run = setup(hosts, PLAY)
    monkeypatch.setattr(test_runner.runner, "connect", connect)
    reports, _, events = run(True)
    return hosts, reports, connections, events


TAILS = [b"", b"{m}", b"{m} {i} 0 5", b"{m} {i} 0 5 0\nab"]
CUTS = [
    # (the command being run when the connection is lost, statuses reported, host status)
    ("sysctl -q -w", [], UNREACHABLE),  # nothing reported yet: as a cut first command
    ("99-docker.conf", [], UNREACHABLE),  # the second command of the first task
    ("daemon.json", [("forwarding", CHANGED)], FAILED),
    ("touch /etc/provisioned", [("forwarding", CHANGED), ("daemon.json", CHANGED)], FAILED),
]


@pytest.mark.parametrize("tail", TAILS, ids=["nothing", "marker", "half-head", "half-body"])
@pytest.mark.parametrize(("cut", "reported", "status"), CUTS, ids=[c[0] for c in CUTS])
def test_a_cut_batch_fails_the_host_at_the_running_command(
    setup,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    cut: str,
    reported: list,
    status: str,
    tail: bytes,
) -> None:
    hosts, reports, connections, _ = run_cut(setup, monkeypatch, cut, tail)
    h1 = reports["h1"]
    assert h1.status == status, h1.error
    assert h1.error == LOST
    assert [(t.name, t.status) for t in h1.tasks] == reported
    assert connections["h1"].commands_run == 2  # the probe and the batch: nothing after
    assert all(cut not in ran for ran in hosts["h1"].ran)
    # the other host converges
    assert reports["h2"].status == CHANGED, reports["h2"].error
    assert hosts["h2"].files["/etc/provisioned"] == b""


# --- reading a cut batch's output ----------------------------------------------------------


def frames(marker: str, *results: Result) -> bytes:
    return b"".join(frame(marker, i, r) for i, r in enumerate(results))


ONE, TWO = Result(0, b"one\n", b""), Result(3, b"", b"it \x00 broke\n")
PARTIAL = [
    # (what came after two complete frames, results read)
    (b"", [ONE, TWO]),
    (b"{m}", [ONE, TWO]),
    (b"{m} 2", [ONE, TWO]),
    (b"{m} 2 0 10 0\n", [ONE, TWO]),
    (b"{m} 2 0 10 0\nshort", [ONE, TWO]),
    (b"@@provision-batch", [ONE, TWO]),
]


@pytest.mark.parametrize(("tail", "read"), PARTIAL)
def test_a_cut_output_reads_its_complete_frames(tail: bytes, read: list) -> None:
    marker = new_marker()
    stdout = frames(marker, ONE, TWO) + tail.replace(b"{m}", marker.encode())
    assert parse_batch(marker, stdout, partial=True) == read
    if tail:
        with pytest.raises(BatchError):
            parse_batch(marker, stdout)  # not cut: an unreadable output


@pytest.mark.parametrize(
    "tail", [b"garbage\n", b"{m} 2 x 1 0\n", b"{m} 5 0 0 0\n", b"{m} 2 0 0 0 0\n"]
)
def test_a_cut_output_still_refuses_garbage(tail: bytes) -> None:
    marker = new_marker()
    stdout = frames(marker, ONE, TWO) + tail.replace(b"{m}", marker.encode())
    with pytest.raises(BatchError):
        parse_batch(marker, stdout, partial=True)
