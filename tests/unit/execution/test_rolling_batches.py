"""Rolling batches: the arithmetic (tables: N hosts × serial forms × failures), and run_all
with a fake executor: which hosts it touches, what became of each batch, forks inside a
batch, --batch-pause and Ctrl-C during it, --limit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from provision.errors import ConnectError
from provision.execution import runner
from provision.execution.batches import (
    INTERRUPTED,
    NOT_STARTED,
    RAN,
    STOPPED,
    batch_size,
    cut,
    stops_run,
    why_stopped,
)
from provision.execution.reports import CHANGED, FAILED, OK, UNREACHABLE, Status, TaskReport
from provision.execution.runner import HostFailed, RunOptions, run_all
from provision.project.compile import Selection, compile_run

# ---- the arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hosts", "serial", "sizes"),
    [
        (10, [], [10]),
        (10, [3], [3, 3, 3, 1]),
        (10, ["30%"], [3, 3, 3, 1]),
        (3, [1, "50%"], [1, 1, 1]),  # 50% of 3 is 1 (rounded down)
        (10, [1, "50%"], [1, 5, 4]),
        (4, ["10%"], [1, 1, 1, 1]),  # a percentage gives at least 1
        (5, [0], [5]),  # 0: every host left
        (5, [2, 0], [2, 3]),
        (1, ["50%"], [1]),
        (7, [1, 2, 3], [1, 2, 3, 1]),  # the last entry repeats
        (0, [2], []),
        (10, ["100%"], [10]),
        (10, ["12.5%"], [1] * 10),
        (6, [10], [6]),
        (9, ["34%", "33%"], [3, 2, 2, 2]),
        (100, ["1%", "10%", "100%"], [1, 10, 89]),
    ],
)
def test_cut_sizes(hosts: int, serial: list, sizes: list[int]) -> None:
    names = [f"h{i}" for i in range(hosts)]
    batches = cut(names, serial)
    assert [len(b) for b in batches] == sizes
    assert [n for b in batches for n in b] == names  # every host once, in order


@pytest.mark.parametrize(
    ("item", "total", "size"),
    [(3, 10, 3), ("25%", 10, 2), ("25%", 3, 1), ("99%", 100, 99), ("0.5%", 10, 1), (0, 5, 0)],
)
def test_batch_size(item: int | str, total: int, size: int) -> None:
    assert batch_size(item, total) == size


@pytest.mark.parametrize(
    ("failed", "size", "limit", "stops"),
    [
        (0, 4, None, False),
        (1, 4, None, False),  # without max_fail_percentage, only a whole failed batch stops
        (3, 4, None, False),
        (4, 4, None, True),
        (1, 1, None, True),
        (1, 4, 0, True),  # 0%: any failure
        (0, 4, 0, False),
        (1, 4, 25, False),  # 25% is not more than 25%: "exceeded, not equaled"
        (2, 4, 49, True),
        (2, 4, 50, False),
        (3, 4, 75, False),
        (1, 1, 100, True),  # every host of the batch failed: stops whatever the limit
        (5, 5, 100, True),
        (1, 3, 33, True),  # 33.3% > 33%
        (1, 3, 34, False),
        (0, 0, None, False),
    ],
)
def test_stops_run(failed: int, size: int, limit: float | None, stops: bool) -> None:
    assert stops_run(failed, size, limit) is stops


def test_why_stopped_words() -> None:
    assert why_stopped(1, 1, None) == "1 of 1 host failed: every host of the batch"
    assert why_stopped(2, 4, 49) == "2 of 4 hosts failed (50%), more than max_fail_percentage 49%"


# ---- run_all with a fake executor -------------------------------------------------------


class FakeConn:
    commands_run = 1
    connections_opened = 1

    def close(self) -> None:
        pass


class Fleet:
    """What the fake executor saw: hosts connected to, in order, and the most at once."""

    def __init__(self, failing: set[str], unreachable: set[str], seconds: float = 0.0) -> None:
        self.failing, self.unreachable, self.seconds = failing, unreachable, seconds
        self.connected: list[str] = []
        self.ran: list[tuple[str, str]] = []  # (play, host)
        self.busy = 0
        self.most = 0
        self.lock = threading.Lock()


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch):
    """Patch runner.connect and runner.HostRun: a host in `failing` fails its play, one in
    `unreachable` cannot be connected to; every other host changes one task."""
    state: dict[str, Fleet] = {}

    def make(failing: set[str] = frozenset(), unreachable: set[str] = frozenset(), seconds=0.0):
        state["fleet"] = Fleet(set(failing), set(unreachable), seconds)
        return state["fleet"]

    def connect(config, options):
        f = state["fleet"]
        with f.lock:
            f.connected.append(config.name)
        if config.name in f.unreachable:
            raise ConnectError(f"{config.name}: cannot connect")
        return FakeConn()

    class FakeRun:
        def __init__(self, play, conn, options, report, listener) -> None:
            self.play, self.report = play, report

        def run(self) -> None:
            f = state["fleet"]
            with f.lock:
                f.busy += 1
                f.most = max(f.most, f.busy)
                f.ran.append((self.play.play, self.report.name))
            time.sleep(f.seconds)
            with f.lock:
                f.busy -= 1
            if self.report.name in f.failing:
                raise HostFailed("injected failure")
            self.report.tasks.append(TaskReport("t", None, "command", CHANGED))

    monkeypatch.setattr(runner, "connect", connect)
    monkeypatch.setattr(runner, "HostRun", FakeRun)
    return make


def project(tmp_path: Path, hosts: int, play_keys: str, plays: int = 1) -> Path:
    inventory = "all:\n  hosts:\n" + "".join(
        f"    h{i}: {{ansible_connection: local}}\n" for i in range(1, hosts + 1)
    )
    (tmp_path / "inventory.yml").write_text(inventory)
    body = ""
    for index in range(1, plays + 1):
        body += f"- name: play{index}\n  hosts: all\n{play_keys}"
        body += "  tasks:\n    - command: {cmd: 'true', creates: /nonexistent}\n"
    (tmp_path / "site.yml").write_text(body)
    return tmp_path


def run(tmp_path: Path, options: RunOptions | None = None, limit: str | None = None):
    compiled = compile_run(
        tmp_path / "inventory.yml", tmp_path / "site.yml", selection=Selection(limit=limit)
    )
    options = options or RunOptions(apply=True)
    events: list[tuple[str, object]] = []
    reports = run_all(compiled, options, lambda e, p: events.append((e, p)))
    return {r.name: r for r in reports}, options, events


H = [f"h{i}" for i in range(1, 10)]

CASES = [
    # hosts, play keys, failing, touched (in order of batches), batch states
    (3, "  serial: [1, '50%']\n", {"h1"}, H[:1], [STOPPED, NOT_STARTED, NOT_STARTED]),
    (3, "  serial: [1, '50%']\n", {"h2"}, H[:2], [RAN, STOPPED, NOT_STARTED]),
    (3, "  serial: [1, '50%']\n", set(), H[:3], [RAN, RAN, RAN]),
    (4, "  serial: 2\n", {"h1"}, H[:4], [RAN, RAN]),  # half a batch: Ansible goes on
    (4, "  serial: 2\n", {"h1", "h2"}, H[:2], [STOPPED, NOT_STARTED]),
    (4, "  serial: 2\n  max_fail_percentage: 49\n", {"h1"}, H[:2], [STOPPED, NOT_STARTED]),
    (4, "  serial: 2\n  max_fail_percentage: 50\n", {"h1"}, H[:4], [RAN, RAN]),
    (4, "  serial: 2\n  max_fail_percentage: '50%'\n", {"h4"}, H[:4], [RAN, RAN]),
    (5, "  serial: '40%'\n  max_fail_percentage: 0\n", set(), H[:5], [RAN, RAN, RAN]),
    (5, "  serial: '40%'\n  max_fail_percentage: 0\n", {"h3"}, H[:4], [RAN, STOPPED, NOT_STARTED]),
    (6, "  serial: [1, 2, 3]\n", {"h2", "h3"}, H[:3], [RAN, STOPPED, NOT_STARTED]),
    (6, "  serial: [1, 2, 3]\n", {"h2"}, H[:6], [RAN, RAN, RAN]),
    (4, "  max_fail_percentage: 10\n", {"h1"}, H[:4], [STOPPED]),  # one batch: all ran
    (9, "  serial: 3\n  max_fail_percentage: 33\n", {"h4"}, H[:6], [RAN, STOPPED, NOT_STARTED]),
    (9, "  serial: 3\n  max_fail_percentage: 34\n", {"h4"}, H[:9], [RAN, RAN, RAN]),
]


@pytest.mark.parametrize(("hosts", "keys", "failing", "touched", "states"), CASES)
def test_batches_stop_where_ansible_would(
    fleet, tmp_path: Path, hosts: int, keys: str, failing: set, touched: list, states: list
) -> None:
    f = fleet(failing)
    reports, options, _ = run(project(tmp_path, hosts, keys))
    assert sorted(f.connected) == sorted(touched)  # never a connection to a later batch
    assert [b.state for b in options.batches] == states
    for name, report in reports.items():
        if name in failing and name in touched:
            assert report.status == FAILED
        elif name in touched:
            assert report.status == CHANGED
        else:
            assert report.status == Status.NOT_STARTED
            assert report.error.startswith("not started: batch ")
            assert report.tasks == [] and report.not_started == ["play1"]
    stopped = [b for b in options.batches if b.state == STOPPED]
    for later in options.batches[options.batches.index(stopped[0]) + 1 :] if stopped else []:
        assert later.reason.startswith(f"{stopped[0].label()} of play 'play1' stopped the run")


def test_unreachable_hosts_count_as_failed(fleet, tmp_path: Path) -> None:
    f = fleet(unreachable={"h1"})
    reports, options, _ = run(project(tmp_path, 3, "  serial: 1\n"))
    assert f.connected == ["h1"]
    assert reports["h1"].status == UNREACHABLE
    assert [b.state for b in options.batches] == [STOPPED, NOT_STARTED, NOT_STARTED]
    assert options.batches[0].failed == ["h1"]


def test_a_stop_leaves_later_plays_not_started_for_every_host(fleet, tmp_path: Path) -> None:
    f = fleet({"h2"})
    reports, options, _ = run(project(tmp_path, 3, "  serial: 1\n", plays=2))
    assert f.ran == [("play1", "h1"), ("play1", "h2")]
    assert [(b.play, b.state) for b in options.batches] == [
        ("play1", RAN),
        ("play1", STOPPED),
        ("play1", NOT_STARTED),
        ("play2", NOT_STARTED),
        ("play2", NOT_STARTED),
        ("play2", NOT_STARTED),
    ]
    assert reports["h1"].status == CHANGED and reports["h1"].not_started == ["play2"]
    assert reports["h2"].status == FAILED and reports["h2"].not_started == []
    assert reports["h3"].status == Status.NOT_STARTED
    assert reports["h3"].not_started == ["play1", "play2"]


def test_without_keys_no_batch_is_recorded_and_plays_go_on(fleet, tmp_path: Path) -> None:
    f = fleet({"h1"})
    reports, options, events = run(project(tmp_path, 3, "", plays=2))
    assert options.batches == [] and not [e for e, _ in events if e.startswith("batch")]
    assert f.ran.count(("play2", "h2")) == 1 and ("play2", "h1") not in f.ran
    assert reports["h1"].status == FAILED and reports["h2"].status == CHANGED


@pytest.mark.parametrize(("forks", "serial", "most"), [(1, 4, 1), (2, 4, 2), (8, 3, 3)])
def test_forks_limit_each_batch(fleet, tmp_path: Path, forks: int, serial: int, most: int):
    f = fleet(seconds=0.05)
    run(project(tmp_path, 8, f"  serial: {serial}\n"), RunOptions(apply=True, forks=forks))
    assert f.most == most


def test_batch_pause_waits_between_batches_only(fleet, tmp_path: Path) -> None:
    fleet()
    options = RunOptions(apply=True, batch_pause=0.3)
    started = time.monotonic()
    _, _, events = run(project(tmp_path, 3, "  serial: 1\n"), options)
    assert time.monotonic() - started >= 0.6
    assert [p[1] for e, p in events if e == "batch-pause"] == [0.3, 0.3]


def test_ctrl_c_during_the_pause_starts_no_later_batch(fleet, tmp_path: Path) -> None:
    f = fleet()
    options = RunOptions(apply=True, batch_pause=30)
    threading.Timer(0.3, options.stop.set).start()  # what the first Ctrl-C does
    started = time.monotonic()
    reports, _, _ = run(project(tmp_path, 3, "  serial: 1\n"), options)
    assert time.monotonic() - started < 5
    assert f.connected == ["h1"]
    assert reports["h1"].status == CHANGED
    for name in ("h2", "h3"):
        assert reports[name].status == FAILED
        assert reports[name].error == "interrupted: not started"
    assert [b.state for b in options.batches] == [RAN, INTERRUPTED, INTERRUPTED]


def test_limit_cuts_batches_from_the_limited_hosts(fleet, tmp_path: Path) -> None:
    f = fleet({"h3"})
    reports, options, _ = run(project(tmp_path, 6, "  serial: '50%'\n"), limit="h2,h3,h4,h5")
    assert [b.hosts for b in options.batches] == [["h2", "h3"], ["h4", "h5"]]
    assert sorted(f.connected) == ["h2", "h3", "h4", "h5"]
    assert set(reports) == {"h2", "h3", "h4", "h5"}
    assert reports["h4"].status == CHANGED


def test_hosts_failed_in_an_earlier_play_do_not_count_again(fleet, tmp_path: Path) -> None:
    # play 1 has no serial: h1 fails there; in play 2 (serial 1) h1's batch is not a failure
    inventory = "all:\n  hosts:\n" + "".join(
        f"    h{i}: {{ansible_connection: local}}\n" for i in (1, 2)
    )
    (tmp_path / "inventory.yml").write_text(inventory)
    task = "  tasks:\n    - command: {cmd: 'true', creates: /nonexistent}\n"
    (tmp_path / "site.yml").write_text(
        f"- name: first\n  hosts: all\n{task}- name: second\n  hosts: all\n  serial: 1\n{task}"
    )
    f = fleet({"h1"})
    reports, options, _ = run(tmp_path)
    assert [(b.hosts, b.state) for b in options.batches] == [(["h1"], RAN), (["h2"], RAN)]
    assert ("second", "h2") in f.ran and reports["h2"].status == CHANGED
    assert reports["h1"].status == FAILED


def test_plan_reports_in_sync_hosts_as_ok(fleet, tmp_path: Path) -> None:
    fleet()
    reports, options, _ = run(project(tmp_path, 2, "  serial: 1\n"), RunOptions(apply=False))
    assert [b.state for b in options.batches] == [RAN, RAN]
    assert {r.status for r in reports.values()} <= {OK, CHANGED}
