"""The console renderer: per host, what changes, fails or is pending (more with -v, -vv,
-vvv), live progress of long steps, host errors, a recap and the run's verdict.

Every field from inputs or hosts is masked, then escaped (`text`, `block`); every line is
masked and escaped once more as it is written (`safe`), with only the console's own colour
sequences kept. A task's block (its status line, changes, diff, commands, output) is
written in one piece under a lock, so hosts working in parallel never interleave inside it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from provision.execution.batches import NOT_STARTED, RUNNING, STOPPED, BatchRecord
from provision.execution.reports import (
    CHANGED,
    CHECK,
    FAILED,
    OK,
    PENDING,
    SKIPPED,
    UNREACHABLE,
    HostReport,
    TaskReport,
)
from provision.reporting.live import LiveArea, Step, live_wanted, terminal_columns
from provision.reporting.mask import Masker
from provision.reporting.summary import outcome, verdict
from provision.reporting.terminal import block_lines, escape_control

COLOURS = {
    CHECK: "36",
    OK: "32",
    CHANGED: "33",
    PENDING: "33",
    FAILED: "31",
    UNREACHABLE: "31",
    SKIPPED: "36",
}
# The words of the status column: a task's status as shown, and the console's own notes.
LABELS = {PENDING: "will change", CHECK: "will check"}
NOTES = ("probe", "started", "finished", "note", "running")
STATUS_WIDTH = max(
    len(word)
    for word in [
        *(LABELS.get(s, s) for s in (OK, CHANGED, FAILED, SKIPPED, UNREACHABLE, PENDING, CHECK)),
        *NOTES,
    ]
)
# Shown at verbosity 0: what changes, fails or is pending. -v adds ok and skipped.
SHOWN_BY_DEFAULT = (PENDING, CHECK, CHANGED, FAILED)
SLOW_TASK_SECONDS = 5.0  # a task that took longer shows its time
REDRAW_SECONDS = 0.1  # live lines: at most this often on new output; the clock ticks each 0.5 s
TICK_SECONDS = 0.5
# The only escape sequences the console writes itself: its colours and their reset.
_OWN_SEQUENCES = re.compile("(\033\\[(?:0|3[0-9])m)")


def colour_wanted(
    stream: object, flag: bool | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether to colour: `--color` / `--no-color` first; then NO_COLOR (any non-empty value
    turns colour off, https://no-color.org); then FORCE_COLOR or CLICOLOR_FORCE (non-empty,
    not "0") turn it on; else only on a terminal that is not TERM=dumb."""
    if flag is not None:
        return flag
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    for name in ("FORCE_COLOR", "CLICOLOR_FORCE"):
        if env.get(name, "") not in ("", "0"):
            return True
    return live_wanted(stream, env)


class Console:
    def __init__(
        self,
        masker: Masker,
        stream: TextIO | None = None,
        plan: bool = False,
        diff: bool = False,
        colour: bool | None = None,
        verbosity: int = 0,
        stats: bool = False,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] = terminal_columns,
    ) -> None:
        self.stream = stream or sys.stdout
        self.mask = masker
        self.plan = plan
        self.diff = diff or plan
        self.verbosity = verbosity
        self.stats = stats
        self.colour = colour_wanted(self.stream, colour)
        self.live = live_wanted(self.stream) if live is None else live
        self.clock = clock
        self.columns = columns
        self.lock = threading.Lock()
        self.width = 0
        self.area = LiveArea()
        self._last_draw = 0.0
        self._ticker: threading.Thread | None = None
        self.batches: dict[int, BatchRecord] = {}  # rolling batches, as run_all reports them

    # ---- fields and lines -------------------------------------------------------------

    def paint(self, status: str, text: str) -> str:
        if not self.colour or status not in COLOURS:
            return text
        return f"\033[{COLOURS[status]}m{text}\033[0m"

    def text(self, value: object) -> str:
        """A one-line field from inputs or hosts (name, host, reason): masked, and every
        control character shown escaped, tabs and line breaks included."""
        return escape_control(self.mask(str(value)))

    def safe(self, line: str) -> str:
        """One console line, masked, with every control character escaped except tabs
        and, when colouring, the console's own colour sequences."""
        line = self.mask(line)
        if not self.colour:
            return escape_control(line, keep_tab=True)
        parts = _OWN_SEQUENCES.split(line)
        return "".join(
            part if index % 2 else escape_control(part, keep_tab=True)
            for index, part in enumerate(parts)
        )

    def block(self, text: str) -> list[str]:
        """A multi-line block's lines (split at \\n and \\r\\n), each masked and escaped;
        tabs kept."""
        return [escape_control(self.mask(line), keep_tab=True) for line in block_lines(text)]

    def head(self, host: str, word: str, status: str = "") -> str:
        """`HOST  WORD ` with the host and the status word in their columns."""
        label = self.paint(status, f"{word:<{STATUS_WIDTH}}")
        return f"{self.text(host):<{self.width}}  {label} "

    @property
    def pad(self) -> str:
        """The indent of the lines under a status line: past the host and status columns."""
        return " " * (self.width + 2 + STATUS_WIDTH + 1)

    def write(self, lines: list[str]) -> None:
        """Lines written as one piece; on a terminal, the live lines are erased first and
        drawn again after."""
        text = "".join(self.safe(line) + "\n" for line in lines)
        with self.lock:
            if self.area.drawn:
                text = self.area.erase() + text
            if self.area.steps:
                text += self._draw()
            self.stream.write(text)
            self.stream.flush()

    # ---- the event stream ---------------------------------------------------------------

    def play(self, name: str, hosts: list[str]) -> None:
        self.width = max([self.width, *(len(self.text(h)) for h in hosts)])
        noun = "host" if len(hosts) == 1 else "hosts"
        names = ", ".join(self.text(h) for h in hosts)
        self.write([f"PLAY {self.text(name)} ({len(hosts)} {noun}: {names})"])

    def listener(self, event: str, payload: object) -> None:
        if event == "task":
            host, report = payload  # type: ignore[misc]
            if self.shows(report):
                self.write(self.task_lines(host, report))
        elif event == "probe":
            host, facts, script_bytes, seconds = payload  # type: ignore[misc]
            if self.verbosity >= 3:
                noun = "fact" if facts == 1 else "facts"
                self.write(
                    [
                        self.head(host, "probe")
                        + f"{facts} {noun} in one script of {script_bytes} bytes, {seconds:.2f}s"
                    ]
                )
        elif event == "progress":
            host, task, display = payload  # type: ignore[misc]
            self.step_started(host, task, display)
        elif event == "output":
            host, _task, line = payload  # type: ignore[misc]
            self.step_output(host, line)
        elif event == "progress-end":
            host, task, display, seconds, rc = payload  # type: ignore[misc]
            self.step_ended(host, task, display, seconds, rc)
        elif event == "notice":
            host, task, line = payload  # type: ignore[misc]
            self.write([self.head(host, "note") + f"{self.text(task)}: {self.text(line)}"])
        elif event == "batch":
            self.batch(payload)  # type: ignore[arg-type]
        elif event == "batch-pause":
            record, seconds = payload  # type: ignore[misc]
            self.write([f"pausing {seconds:g}s before {record.label()} (Ctrl-C stops the run)"])

    def batch(self, record: BatchRecord) -> None:
        """A rolling batch starts (shown) or ends (kept for the recap)."""
        self.batches[id(record)] = record
        if record.state == RUNNING:
            hosts = ", ".join(self.text(h) for h in record.hosts)
            self.write(
                [f"BATCH {record.index}/{record.count} of {self.text(record.play)}: {hosts}"]
            )

    def shows(self, report: TaskReport) -> bool:
        return self.verbosity >= 1 or report.status in SHOWN_BY_DEFAULT

    def task_lines(self, host: str, report: TaskReport) -> list[str]:
        role = f"{self.text(report.role)} : " if report.role else ""
        kind = "handler " if report.handler else ""
        word = LABELS.get(report.status, report.status)
        head = self.head(host, word, report.status) + f"{kind}{role}{self.text(report.name)}"
        if report.status in (OK, SKIPPED) and report.reason and self.verbosity >= 1:
            head += f"  ({self.text(report.reason)})"
        if report.status in (CHANGED, FAILED) and report.duration >= SLOW_TASK_SECONDS:
            head += f"  ({report.duration:.1f}s)"
        lines = [head]
        pad = self.pad
        if report.status in (PENDING, CHECK, CHANGED, FAILED):
            lines += [pad + line for s in report.summary for line in self.block(s)]
            if self.diff:
                for diff in report.diffs:
                    lines += [pad + line for d in diff.unified() for line in self.block(d)]
            disruption = report.disruption
            if disruption is not None and disruption.level != "none":
                lines.append(pad + "disrupts: " + self.text(disruption.describe()))
            if self.verbosity >= 2:
                lines += [pad + "$ " + line for c in report.commands for line in self.block(c)]
        if report.status == FAILED:
            lines += [pad + self.paint(FAILED, m) for m in self.block(report.message)]
            lines += [pad + "| " + line for out in report.output for line in self.block(out)]
        return lines

    # ---- long steps -----------------------------------------------------------------------

    def step_started(self, host: str, task: str, display: str) -> None:
        if not self.live:
            self.write([self.head(host, "started") + f"{self.text(task)}: {self.text(display)}"])
            return
        with self.lock:
            self.area.steps[self.text(host)] = Step(
                self.text(task), self.text(display), self.clock()
            )
            self._redraw()
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, daemon=True)
                self._ticker.start()

    def step_output(self, host: str, line: str) -> None:
        if not self.live:
            return
        # What a terminal would show of a line redrawn with \r: the text after the last one.
        shown = self.text(line.rstrip("\r").rsplit("\r", 1)[-1].strip())
        with self.lock:
            step = self.area.steps.get(self.text(host))
            if step is None or not shown:
                return
            step.last = shown
            if self.clock() - self._last_draw >= REDRAW_SECONDS:
                self._redraw()

    def step_ended(
        self, host: str, task: str, display: str, seconds: float, rc: int | None
    ) -> None:
        if not self.live:
            if rc == 0:
                how = f"{seconds:.1f}s"
            elif rc is None:
                how = f"stopped after {seconds:.1f}s"
            else:
                how = f"exit code {rc} after {seconds:.1f}s"
            self.write([self.head(host, "finished") + f"{self.text(task)}: {how}"])
            return
        with self.lock:
            self.area.steps.pop(self.text(host), None)
            self._redraw()

    def _draw(self) -> str:
        self._last_draw = self.clock()
        return self.area.draw(self._last_draw, self.columns(), self.width, STATUS_WIDTH)

    def _redraw(self) -> None:
        """Under the lock: the live lines drawn again (or erased, when none is left)."""
        text = self.area.erase()
        if self.area.steps:
            text += self._draw()
        if text:
            self.stream.write(text)
            self.stream.flush()

    def _tick(self) -> None:
        """While a long step runs: redraw each TICK_SECONDS, so its elapsed time moves."""
        while True:
            time.sleep(TICK_SECONDS)
            with self.lock:
                if not self.area.steps:
                    self._ticker = None
                    return
                self._redraw()

    def stop_live(self) -> None:
        """Erase the live lines for good (after a run, or when it was interrupted)."""
        with self.lock:
            self.area.steps.clear()
            self._redraw()

    # ---- the end of the run --------------------------------------------------------------

    def rollout_lines(self, reports: list[HostReport], width: int) -> list[str]:
        """The DISRUPTION section (plan: each host with changes; apply: each host whose
        changes disrupt something), one line per host; then the BATCHES section: what
        became of each batch of a play with `serial`."""
        lines: list[str] = []
        for r in sorted(reports, key=lambda r: r.name):
            found = r.disruption
            if found is None or r.status in (FAILED, UNREACHABLE):
                continue
            if found.level == "none" and not (self.plan and r.pending):
                continue
            if not lines:
                lines += ["", "DISRUPTION"]
            lines.append(f"{self.text(r.name):<{width}}  {self.text(found.describe())}")
        if self.batches:
            lines += ["", "BATCHES"]
        for record in self.batches.values():
            hosts = ", ".join(self.text(h) for h in record.hosts)
            state = record.state
            if record.failed and state != NOT_STARTED:
                state += f", failed: {', '.join(self.text(h) for h in record.failed)}"
            line = f"{self.text(record.play)} {record.label()} ({hosts}): {state}"
            if record.state == STOPPED and record.reason:
                last = record.index == record.count
                line += f": {self.text(record.reason)}; " + (
                    "the run stops" if last else "later batches not started"
                )
            lines.append(self.paint(FAILED, line) if record.state == STOPPED else line)
        return lines

    def host_error(self, report: HostReport) -> None:
        if report.error and report.status in (FAILED, UNREACHABLE):
            first, *rest = self.block(report.error.strip("\n"))
            lines = [self.head(report.name, report.status, report.status) + first]
            lines += [self.pad + r.strip() for r in rest]
            self.write(lines)

    def recap(self, reports: list[HostReport], command: str = "", code: int | None = None) -> None:
        """One line per host, the counts in aligned columns; then, given the exit code, the
        run's verdict: every outcome with its hosts, and why the exit code is what it is."""
        self.stop_live()
        width = max([self.width, *(len(self.text(r.name)) for r in reports)])
        rows = []
        for r in sorted(reports, key=lambda r: r.name):
            counts = [f"ok={r.count(OK)}"]
            counts.append(f"pending={r.pending}" if self.plan else f"changed={r.count(CHANGED)}")
            counts += [
                f"failed={r.count(FAILED) + (1 if r.failed and not r.count(FAILED) else 0)}",
                f"skipped={r.count(SKIPPED)}",
                f"unreachable={1 if r.unreachable else 0}",
            ]
            rows.append((r, counts))
        columns = [max(len(row[1][i]) for row in rows) for i in range(5)] if rows else []
        lines = self.rollout_lines(reports, width)
        lines += ["", "RECAP"]
        for r, counts in rows:
            conns = "connection" if r.connections == 1 else "connections"
            cmds = "remote command" if r.commands_run == 1 else "remote commands"
            status = r.status
            if self.plan and status == OK and r.pending:
                status = PENDING
            cells = "  ".join(f"{c:<{w}}" for c, w in zip(counts, columns, strict=True))
            line = (
                f"{self.paint(status, f'{self.text(r.name):<{width}}')}  {cells}  "
                f"{r.duration:5.1f}s  {r.connections} {conns}, {r.commands_run} {cmds}"
            )
            if self.stats:
                line += f", probe {r.probe_seconds:.2f}s"
            lines.append(line)
        if code is not None:
            groups = outcome(command or ("plan" if self.plan else "apply"), reports)
            worst = next((g for g in ("failed", "unreachable") if groups[g]), "")
            status = {"failed": FAILED, "unreachable": UNREACHABLE}.get(worst, "")
            text = self.text(verdict(command or ("plan" if self.plan else "apply"), groups, code))
            lines.append(self.paint(status, text) if status else text)
        self.write(lines)
