"""`apply --step`: the user is asked just before each task runs, as ansible-playbook asks.

Ansible's linear strategy asks once per task for all the hosts of the play, when every host
has reached it ("Perform task: NAME (N)o/(y)es/(c)ontinue:"; y/yes runs it, c/continue runs
it and every later task without asking, anything else skips it). Here each host runs in its
own thread; the gate makes them move together:

- a host reaching a task it must ask about parks (`declined`, on the host's thread);
- `serve` (on `run_all`'s thread, the one that owns the terminal) asks once every host that
  is running is parked on a question not answered yet: the question of the host furthest
  behind (the fewest tasks asked so far; then the first parked), then releases every host
  parked on that task with the answer;
- a host that reaches a task already answered (a slower host, a host whose turn comes after
  --forks, a later item of a loop) takes the answer without a second question.

So a task runs on every host before the next question, and each question comes before the
task runs on any host. A task is the same on two hosts when it comes from the same place in
the same file, and it is the same number of times each host has reached that place (a file
included twice is two tasks; the items of one loop are one task). Answers hold for one batch
of hosts (`serial`: each batch is asked again, as in Ansible), `c` for the rest of the run.

Not asked: a task already skipped before the run (tags, --start-at-task, a `when:` decided
on facts) and `meta: flush_handlers`; a task a failed block skips is never reached. A handler
is asked before it runs, as a task. A declined task is reported as skipped, "declined at
--step", and registers a skipped result, as a `when:` that does not hold would.

Ctrl-C, or the end of the input, at a question stops the run: no host runs a later task.
"""

from __future__ import annotations

import select
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import click

DECLINED = "declined at --step"
YES, NO, CONTINUE = "yes", "no", "continue"

# Seconds between two looks at the hosts while nothing wakes the waiting thread.
POLL = 0.05


def parse_answer(text: str) -> str:
    """An answer as ansible-playbook reads it: y/yes, c/continue (any case, padded),
    anything else (an empty line too) is no."""
    word = text.strip().lower()
    if word in ("y", "yes"):
        return YES
    if word in ("c", "continue"):
        return CONTINUE
    return NO


def question(label: str, handler: bool = False) -> str:
    kind = " (handler)" if handler else ""
    return f"Perform task: {label}{kind} (N)o/(y)es/(c)ontinue: "


def label_of(task: Any) -> str:
    return f"{task.role} : {task.name}" if task.role else task.name


@dataclass
class _Park:
    key: tuple
    text: str  # the question
    order: int  # how many tasks this host had been asked about before
    seq: int  # when it parked (first parked first)


class StepGate:
    """The questions of one `apply --step` run (see the module's text)."""

    def __init__(
        self, ask: Callable[[str], str | None], stop: threading.Event | None = None
    ) -> None:
        self._ask = ask  # the question → the line typed, or None (end of input, Ctrl-C)
        self._stop = stop or threading.Event()
        self._cond = threading.Condition()
        self._answers: dict[tuple, bool] = {}
        self._parked: dict[str, _Park] = {}
        self._places: dict[str, dict[tuple, tuple[int, int | None]]] = {}  # per host
        self._order: dict[str, int] = {}
        self._seq = 0
        self.go_on = False  # `c` was answered: no more questions
        self.asked: list[str] = []  # the questions, in the order asked

    # --- a host's thread -------------------------------------------------------------

    def declined(self, host: str, task: Any, handler: bool = False) -> str:
        """Wait for the user's answer about `task` on `host`: "" runs it, else the reason
        it is skipped. Raises HostFailed when the run stops while waiting."""
        from provision.execution.runner import HostFailed

        with self._cond:
            key = self._key(host, task, handler)  # counted even when not asked (`order`)
            if task.task is None and task.pending is None:
                return ""  # skipped before the run, for its own reason: nothing to ask
            try:
                while True:
                    if self._stop.is_set():
                        raise HostFailed(f"interrupted: stopped before task {task.name!r}")
                    if self.go_on:
                        return ""
                    if key in self._answers:
                        return "" if self._answers[key] else DECLINED
                    if host not in self._parked:
                        self._seq += 1
                        text = question(label_of(task), handler)
                        self._parked[host] = _Park(key, text, self._order[host], self._seq)
                        self._cond.notify_all()
                    self._cond.wait(POLL * 4)
            finally:
                self._parked.pop(host, None)

    def _key(self, host: str, task: Any, handler: bool) -> tuple:
        """The task's identity across hosts: its place and how often the host reached it
        (the items of one loop are one visit)."""
        place = (handler, str(task.location), task.role or "")
        loop = task.loop.id if task.loop is not None else None
        places = self._places.setdefault(host, {})
        count, last_loop = places.get(place, (0, None))
        if loop is None or loop != last_loop:
            count += 1
            self._order[host] = self._order.get(host, 0) + 1
        self._order.setdefault(host, 0)
        places[place] = (count, loop)
        return (*place, count)

    # --- run_all's thread --------------------------------------------------------------

    def serve(self, futures: Sequence[Future], names: Sequence[str], stop: threading.Event) -> None:
        """Ask the questions of one batch of hosts until every host of it is done."""
        self._stop = stop
        try:
            while True:
                with self._cond:
                    if all(f.done() for f in futures):
                        return
                    park = self._due(futures, names)
                    if park is None:
                        self._cond.wait(POLL)
                        continue
                answer = None if stop.is_set() else self._ask(park.text)
                self.asked.append(park.text)
                with self._cond:
                    if answer is None:
                        stop.set()  # end of input or Ctrl-C at the question: stop the run
                    else:
                        word = parse_answer(answer)
                        self._answers[park.key] = word != NO
                        self.go_on = self.go_on or word == CONTINUE
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._answers.clear()  # the next batch is asked again (as Ansible does)

    def _due(self, futures: Sequence[Future], names: Sequence[str]) -> _Park | None:
        """The question to ask now: when every running host waits for an answer not given
        yet, the one of the host furthest behind."""
        running = [n for f, n in zip(futures, names, strict=True) if f.running()]
        waiting = [
            self._parked[n]
            for n in running
            if n in self._parked and self._parked[n].key not in self._answers
        ]
        if not waiting or len(waiting) < len(running):
            return None
        return min(waiting, key=lambda p: (p.order, p.seq))


def read_answer(text: str, stop: threading.Event, err: bool = False) -> str | None:
    """Print the question and read one line from standard input; None at the end of the
    input or when the run is stopped (Ctrl-C) while waiting."""
    click.echo(text, nl=False, err=err)
    stream = sys.stdin
    try:
        fd: int | None = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (click's test runner)
        fd = None
    if fd is not None:
        while True:
            if stop.is_set():
                click.echo("", err=err)
                return None
            try:
                ready, _, _ = select.select([fd], [], [], 0.2)
            except (OSError, ValueError):
                break
            if ready:
                break
    line = stream.readline()
    if not line:
        click.echo("", err=err)
        return None
    return line
