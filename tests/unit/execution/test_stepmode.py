"""stepmode.StepGate with host threads: once per task for all hosts, in lockstep, loop items
asked once, the host furthest behind first, --forks smaller than the hosts, answers read as
ansible-playbook reads them, and a stop while hosts wait."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from provision.errors import Location
from provision.execution.runner import HostFailed
from provision.execution.stepmode import CONTINUE, DECLINED, NO, YES, StepGate, parse_answer


@dataclass
class Loop:
    id: int


@dataclass
class Task:
    name: str
    line: int
    loop: Loop | None = None
    role: str | None = None
    task: object = "a task"
    pending: object = None

    @property
    def location(self) -> Location:
        return Location("tasks.yml", self.line)


ANSWERS = {
    "y": YES,
    "Y": YES,
    "yes": YES,
    "YES": YES,
    " y ": YES,
    "y\n": YES,
    "y\r\n": YES,
    "\ty\v": YES,
    "y\f": YES,
    "y\x85": YES,
    "y\u2028": YES,
    "y\u2029": YES,
    "c": CONTINUE,
    "C\n": CONTINUE,
    "continue": CONTINUE,
    "Continue\r": CONTINUE,
    "": NO,
    "\n": NO,
    "n": NO,
    "no": NO,
    "N": NO,
    "maybe": NO,
    "yes!": NO,
    "ye": NO,
    "y y": NO,
    "-y": NO,
    "../y": NO,
    "\x00y": NO,
    "y\x1b[A": NO,
    "cont": NO,
    "'y'": NO,
    "y" * 100_000: NO,
}


@pytest.mark.parametrize(("typed", "word"), ANSWERS.items(), ids=[repr(k)[:20] for k in ANSWERS])
def test_answers_are_read_as_ansible_reads_them(typed: str, word: str) -> None:
    assert parse_answer(typed) == word


def run_hosts(
    gate: StepGate, plays: dict[str, list[Task]], forks: int = 10
) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """Each host walks its tasks through the gate; returns (events in order, ran per host)
    where an event is ("ask", question) or (host, task name) when the host runs it."""
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    ran: dict[str, list[str]] = {h: [] for h in plays}

    def host(name: str) -> None:
        for task in plays[name]:
            if gate.declined(name, task) == "":
                with lock:
                    events.append((name, task.name))
                    ran[name].append(task.name)

    real_ask = gate._ask

    def ask(text: str) -> str | None:
        with lock:
            events.append(("ask", text))
        return real_ask(text)

    gate._ask = ask
    names = list(plays)
    with ThreadPoolExecutor(max_workers=forks) as pool:
        futures = [pool.submit(host, n) for n in names]
        gate.serve(futures, names, threading.Event())
        for future in futures:
            future.result()
    return events, ran


def answers(*typed: str):  # noqa: ANN201
    queue = list(typed)
    return lambda text: queue.pop(0) if queue else None


def test_one_question_per_task_for_all_hosts_in_lockstep() -> None:
    tasks = [Task("a", 1), Task("b", 2), Task("c", 3)]
    gate = StepGate(answers("y", "n", "y"))
    events, ran = run_hosts(gate, {h: list(tasks) for h in ("h1", "h2", "h3")})
    asks = [i for i, e in enumerate(events) if e[0] == "ask"]
    assert len(asks) == 3
    assert all(r == ["a", "c"] for r in ran.values())
    # every host ran `a` after the first question and before the second
    between = {e for e in events[asks[0] + 1 : asks[1]]}
    assert between == {("h1", "a"), ("h2", "a"), ("h3", "a")}
    assert all(e[1] == "c" for e in events[asks[2] + 1 :])


def test_continue_stops_asking() -> None:
    tasks = [Task(n, i) for i, n in enumerate("abcdef", 1)]
    gate = StepGate(answers("n", "c"))
    events, ran = run_hosts(gate, {"h1": list(tasks), "h2": list(tasks)})
    assert sum(e[0] == "ask" for e in events) == 2
    assert ran["h1"] == ran["h2"] == list("bcdef")
    assert gate.go_on


def test_loop_items_are_one_question_and_a_file_included_twice_is_two() -> None:
    items = [Task("item", 5, Loop(7)) for _ in range(4)]
    again = [Task("item", 5, Loop(9)) for _ in range(2)]
    plain_twice = [Task("inc", 8), Task("inc", 8)]
    gate = StepGate(answers("y", "n", "y", "n"))
    _, ran = run_hosts(gate, {"h1": items + again + plain_twice, "h2": items + again})
    assert ran["h1"] == ["item"] * 4 + ["inc"]
    assert ran["h2"] == ["item"] * 4
    assert len(gate.asked) == 4


def test_forks_smaller_than_the_hosts_asks_once() -> None:
    tasks = [Task("a", 1), Task("b", 2)]
    gate = StepGate(answers("y", "n"))
    _, ran = run_hosts(gate, {f"h{i}": list(tasks) for i in range(5)}, forks=2)
    assert len(gate.asked) == 2
    assert all(r == ["a"] for r in ran.values())


def test_the_host_furthest_behind_is_asked_first() -> None:
    # h2 skips `a` (not asked: skipped before the run), so both park on different tasks
    a, b = Task("a", 1), Task("b", 2)
    skipped = Task("a", 1, task=None)
    gate = StepGate(answers("y", "y"))
    events, _ = run_hosts(gate, {"h1": [a, b], "h2": [skipped, b]})
    asks = [e[1] for e in events if e[0] == "ask"]
    assert asks[0].startswith("Perform task: a ")


def test_a_task_skipped_before_the_run_is_not_asked() -> None:
    gate = StepGate(answers())
    assert gate.declined("h1", Task("x", 1, task=None)) == ""
    assert gate.asked == []


def test_a_stop_while_waiting_fails_the_host() -> None:
    stop = threading.Event()
    gate = StepGate(answers(), stop)
    stop.set()
    with pytest.raises(HostFailed, match="interrupted: stopped before task 'x'"):
        gate.declined("h1", Task("x", 1))


def test_end_of_input_stops_the_run() -> None:
    tasks = [Task("a", 1), Task("b", 2)]
    gate = StepGate(answers("y"))
    stop = threading.Event()
    failed: list[str] = []

    def host(name: str) -> None:
        try:
            for task in tasks:
                gate.declined(name, task)
        except HostFailed as exc:
            failed.append(str(exc))

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(host, n) for n in ("h1", "h2")]
        gate.serve(futures, ["h1", "h2"], stop)
    assert stop.is_set()
    assert sorted(failed) == ["interrupted: stopped before task 'b'"] * 2


def test_a_declined_task_gives_the_reason() -> None:
    gate = StepGate(answers("n"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(gate.declined, "h1", Task("x", 1))
        gate.serve([future], ["h1"], threading.Event())
    assert future.result() == DECLINED
