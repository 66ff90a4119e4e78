"""Cold runs in few round trips: the batch script run by a real `sh` (framing of any
output, stdin, stopping at the first failure, live lines), which steps end a batch (table),
and apply over a simulated host (failure in the middle, rescue, ignore_errors, handlers)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

import pytest
from tests.unit.execution.test_runner import FakeHost, setup  # noqa: F401 - fixture

from provision.execution.batchscript import (
    BatchError,
    Item,
    batch_script,
    batch_steps,
    new_marker,
    parse_batch,
    split_batch,
    stop_path,
)
from provision.execution.reports import CHANGED, FAILED, OK, SKIPPED
from provision.planning.model import Change, Deferred, Failed, NoOp, command


def run_sh(items: list[Item], bound: int = 1 << 20) -> tuple[str, subprocess.CompletedProcess]:
    marker = new_marker()
    script = batch_script(items, marker, bound)
    proc = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True, timeout=60)
    return marker, proc


NASTY = [
    b"",
    b"no newline at the end",
    b"\x00\x01\x02 NUL and controls \x1b[31m\n",
    b"line\rbreaks\vof\fevery\x85kind\xe2\x80\xa8\xe2\x80\xa9\n",
    b"@@provision-batch-0123456789abcdef 0 0 5 5\nfake frame\n",
    bytes(range(256)) * 4,
    b"-n leading dash\n../../etc\n'quotes\" `and` $(subst)\n",
]


@pytest.mark.parametrize("data", NASTY, ids=range(len(NASTY)))
def test_any_output_and_stdin_round_trip_exactly(data: bytes) -> None:
    items = [
        Item("cat", stdin=data),  # stdout = the stdin it was fed
        Item("cat >&2", stdin=data),  # stderr likewise
        Item("printf ok"),
    ]
    marker, proc = run_sh(items)
    assert proc.returncode == 0, proc.stderr
    results = parse_batch(marker, proc.stdout)
    assert [(r.rc, r.stdout, r.stderr) for r in results] == [
        (0, data, b""),
        (0, b"", data),
        (0, b"ok", b""),
    ]


def test_ten_megabytes_of_binary_output_kept_whole_or_bounded() -> None:
    produce = "head -c 10485760 /dev/zero | tr '\\0' '\\377'"
    marker, proc = run_sh([Item(produce, whole=True), Item(produce)], bound=4096)
    results = parse_batch(marker, proc.stdout)
    assert results[0].stdout == b"\xff" * 10485760  # a registered result: whole
    assert results[1].stdout == b"\xff" * 4096  # otherwise its tail, bounded


def test_stops_at_the_first_failure_and_reports_its_output() -> None:
    items = [
        Item("echo one"),
        Item("echo two; echo 'it broke' >&2; exit 3"),
        Item("touch /nonexistent-should-not-run; echo three"),
    ]
    marker, proc = run_sh(items)
    results = parse_batch(marker, proc.stdout)
    assert [(r.rc, r.stdout, r.stderr) for r in results] == [
        (0, b"one\n", b""),
        (3, b"two\n", b"it broke\n"),
    ]


def test_commands_run_in_subshells_and_read_no_script() -> None:
    items = [Item("cd /; exit 0"), Item("pwd; cat"), Item("X=1; exit 0"), Item('echo "${X-unset}"')]
    marker, proc = run_sh(items)
    results = parse_batch(marker, proc.stdout)
    assert results[1].stdout.decode().strip() == os.getcwd() != "/"  # `cd` did not leak
    assert results[3].stdout == b"unset\n"
    assert len(results) == 4  # `cat` read /dev/null, not the rest of the script


def test_progress_lines_are_relayed_live_on_stderr() -> None:
    items = [Item("echo quiet"), Item("echo waiting for lock >&2; echo installing", progress=True)]
    marker, proc = run_sh(items)
    lines = proc.stderr.decode().splitlines()
    assert lines[0] == f"{marker}+1" and lines[-1] == f"{marker}-1 0"
    assert sorted(lines[1:-1]) == sorted([f"{marker}>waiting for lock", f"{marker}>installing"])
    results = parse_batch(marker, proc.stdout)
    assert results[1] == type(results[1])(0, b"installing\n", b"waiting for lock\n")


@pytest.mark.parametrize(
    "stdout",
    [b"garbage\n", b"@@provision-batch-x 0 0 1 0\n", b"{m} 0 0 10 0\nshort", b"{m} 1 0 0 0\n"],
)
def test_unreadable_frames_raise(stdout: bytes) -> None:
    marker = new_marker()
    with pytest.raises(BatchError):
        parse_batch(marker, stdout.replace(b"{m}", marker.encode()))


def test_split_batch_reads_back_what_was_batched() -> None:
    items = [Item("a 'b'"), Item("cat > x", stdin=b"\x00data\n"), Item("dnf x", progress=True)]
    marker = new_marker()
    assert split_batch(batch_script(items, marker)) == (
        marker,
        [("a 'b'", None), ("cat > x", b"\x00data\n"), ("dnf x", None)],
    )
    assert split_batch("echo hi") is None


# --- which step ends a batch ----------------------------------------------------------


@dataclass
class Task:
    name: str
    task: object = "t"
    pending: object = None
    become: bool = False
    flush_handlers: bool = False
    failed_when: object = None
    changed_when: object = None


@dataclass
class Step:
    task: Task
    outcome: object


@dataclass
class Flow:
    skipped: set[str] = field(default_factory=set)

    def skip(self, task: Task) -> str:
        return "rescue: runs only if a task of its block fails" if task.name in self.skipped else ""


CHANGE = Change(["x"], [command("true")])
GROUPING = [
    # (steps after the first Change, skipped names, expected count, reason)
    ([], set(), 1, "end of the play's tasks"),
    ([Step(Task("b"), CHANGE), Step(Task("c"), NoOp("ok"))], set(), 3, "end of the play's tasks"),
    ([Step(Task("b", task=None), None)], set(), 2, "end of the play's tasks"),  # skipped
    ([Step(Task("b"), Deferred("re-read", []))], set(), 1, "re-read at apply"),
    ([Step(Task("b"), None)], set(), 1, "re-read at apply"),
    ([Step(Task("b", pending=object()), None)], set(), 1, "decided at apply"),
    ([Step(Task("b", flush_handlers=True), None)], set(), 1, "handlers flushed here"),
    ([Step(Task("b"), Failed("no"))], set(), 1, "fails at plan time"),
    ([Step(Task("b", become=True), CHANGE)], set(), 1, "become differs"),
    ([Step(Task("b", become=True), NoOp("x"))], set(), 2, "end of the play's tasks"),
    ([Step(Task("b", failed_when=1), CHANGE), Step(Task("c"), CHANGE)], set(), 2, "failed_when"),
    ([Step(Task("b", changed_when=1), CHANGE), Step(Task("c"), CHANGE)], set(), 2, "changed_when"),
    ([Step(Task("r"), Deferred("x", [])), Step(Task("c"), CHANGE)], {"r"}, 3, "end of the play"),
]


@pytest.mark.parametrize(("rest", "skipped", "count", "why"), GROUPING)
def test_which_step_ends_a_batch(rest: list, skipped: set, count: int, why: str) -> None:
    steps = [Step(Task("a"), CHANGE), *rest]
    got, reason = batch_steps(steps, Flow(skipped))
    assert got == count
    assert why in reason


# --- apply over a simulated host ----------------------------------------------------------

PLAY = """\
- hosts: all
  tasks:
    - name: forwarding
      sysctl: {name: net.ipv4.ip_forward, value: "1", file: /etc/sysctl.d/99-docker.conf}
    - name: daemon.json
      copy: {content: "{}\\n", dest: /etc/docker/daemon.json}
    - name: marker
      command: {cmd: "touch /etc/provisioned", creates: /etc/provisioned}
"""

RESCUED = """\
- hosts: all
  tasks:
    - name: guarded
      block:
        - name: forwarding
          sysctl: {name: net.ipv4.ip_forward, value: "1", file: /etc/sysctl.d/99-docker.conf}
        - name: daemon.json
          copy: {content: "{}\\n", dest: /etc/docker/daemon.json}
      rescue:
        - name: marker
          command: {cmd: "touch /etc/provisioned", creates: /etc/provisioned}
"""


def test_failure_in_the_middle_stops_the_batch_and_names_the_step(setup) -> None:  # noqa: F811
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    hosts["h1"].fail_on = ["daemon.json"]
    reports, connections, _ = setup(hosts, PLAY)(True)
    h1 = reports["h1"]
    assert h1.status == FAILED
    assert [(t.name, t.status) for t in h1.tasks] == [
        ("forwarding", CHANGED),
        ("daemon.json", FAILED),
    ]
    assert "write /etc/docker/daemon.json" in h1.tasks[1].message
    assert "exit code 1" in h1.error
    assert h1.tasks[1].output == ["boom: it failed", "second line"]
    assert "/etc/provisioned" not in hosts["h1"].files  # the later step never ran
    assert h1.commands_run == 2  # the probe and one batch; no re-probe for a failed host
    assert len(connections["h1"].batches) == 1
    # h2: the probe and one batch, the convergence re-probe riding at its end
    assert reports["h2"].status == CHANGED and reports["h2"].commands_run == 2
    assert "@@provision-" in connections["h2"].batches[0][-1]


def test_a_rescued_failure_runs_the_rescue_after_the_batch(setup) -> None:  # noqa: F811
    hosts = {"h1": FakeHost(), "h2": FakeHost()}
    hosts["h1"].fail_on = ["daemon.json"]
    reports, _, _ = setup(hosts, RESCUED)(True)
    h1 = reports["h1"]
    statuses = [(t.name, t.status) for t in h1.tasks]
    assert statuses == [("forwarding", CHANGED), ("daemon.json", FAILED), ("marker", CHANGED)]
    assert h1.tasks[1].reason.startswith("rescued")
    assert hosts["h1"].files["/etc/provisioned"] == b""
    h2 = reports["h2"]
    assert [t.status for t in h2.tasks] == [CHANGED, CHANGED, SKIPPED]
    assert "/etc/provisioned" not in hosts["h2"].files


def test_an_ignored_failure_lets_the_next_steps_run_in_a_new_batch(setup) -> None:  # noqa: F811
    hosts = {"h1": FakeHost(), "h2": FakeHost(converged=True)}
    hosts["h1"].fail_on = ["sysctl -q -w"]
    playbook = PLAY.replace(
        "file: /etc/sysctl.d/99-docker.conf}",
        "file: /etc/sysctl.d/99-docker.conf}\n      ignore_errors: true",
    )
    reports, connections, _ = setup(hosts, playbook)(True)
    h1 = reports["h1"]
    assert [t.status for t in h1.tasks] == [OK, CHANGED, CHANGED]
    assert h1.tasks[0].reason.startswith("failure ignored")
    assert len(connections["h1"].batches) == 2
    assert hosts["h1"].files["/etc/provisioned"] == b""


def test_the_stop_file_ends_the_batch_after_the_running_command(tmp_path) -> None:
    marker = new_marker()
    stop = stop_path(marker)
    items = [Item(f"touch {stop}; echo one"), Item(f"touch {tmp_path}/two")]
    proc = subprocess.run(
        ["sh", "-s"], input=batch_script(items, marker).encode(), capture_output=True, timeout=60
    )
    results = parse_batch(marker, proc.stdout)
    assert [(r.rc, r.stdout) for r in results] == [(0, b"one\n")]
    assert not (tmp_path / "two").exists()
    assert not os.path.exists(stop)  # removed on the way out
