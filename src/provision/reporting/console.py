"""The console renderer: one line per host and task, diffs, progress, a recap."""

from __future__ import annotations

import re
import sys
import threading
from typing import TextIO

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
from provision.reporting.mask import Masker
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
# The only escape sequences the console writes itself: its colours and their reset.
_OWN_SEQUENCES = re.compile("(\033\\[(?:0|3[0-9])m)")


class Console:
    def __init__(
        self,
        masker: Masker,
        stream: TextIO | None = None,
        plan: bool = False,
        diff: bool = False,
        colour: bool | None = None,
        verbose: bool = False,
        stats: bool = False,
    ) -> None:
        self.stream = stream or sys.stdout
        self.mask = masker
        self.plan = plan
        self.diff = diff or plan
        self.verbose = verbose
        self.stats = stats
        self.colour = self.stream.isatty() if colour is None else colour
        self.lock = threading.Lock()
        self.width = 0

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

    def write(self, lines: list[str]) -> None:
        with self.lock:
            for line in lines:
                self.stream.write(self.safe(line) + "\n")
            self.stream.flush()

    def play(self, name: str, hosts: list[str]) -> None:
        self.width = max([self.width, *(len(h) for h in hosts)])
        noun = "host" if len(hosts) == 1 else "hosts"
        names = ", ".join(self.text(h) for h in hosts)
        self.write([f"PLAY {self.text(name)} ({len(hosts)} {noun}: {names})"])

    def listener(self, event: str, payload: object) -> None:
        if event == "task":
            host, report = payload  # type: ignore[misc]
            self.write(self.task_lines(host, report))
        elif event == "progress":
            host, task, display = payload  # type: ignore[misc]
            line = f"{self.text(host):<{self.width}}  {'...':<8} {self.text(task)}: "
            self.write([line + self.text(display)])

    def task_lines(self, host: str, report: TaskReport) -> list[str]:
        label = {PENDING: "will change", CHECK: "will check"}.get(report.status, report.status)
        role = f"{self.text(report.role)} : " if report.role else ""
        kind = "handler " if report.handler else ""
        status = self.paint(report.status, f"{label:<8}")
        head = f"{self.text(host):<{self.width}}  {status} {kind}{role}{self.text(report.name)}"
        if report.status == OK and report.reason and (self.verbose or self.plan):
            head += f"  ({self.text(report.reason)})"
        if report.status == SKIPPED and self.verbose:
            head += f"  ({self.text(report.reason)})"
        lines = [head]
        pad = " " * (self.width + 2 + 9)
        if report.status in (PENDING, CHECK, CHANGED, FAILED):
            lines += [pad + line for s in report.summary for line in self.block(s)]
            if self.diff:
                for diff in report.diffs:
                    lines += [pad + line for d in diff.unified() for line in self.block(d)]
        if report.status == FAILED:
            lines += [pad + self.paint(FAILED, m) for m in self.block(report.message)]
            lines += [pad + "| " + line for out in report.output for line in self.block(out)]
        return lines

    def block(self, text: str) -> list[str]:
        """A multi-line block's lines (split at \\n and \\r\\n), each masked and escaped;
        tabs kept."""
        return [escape_control(self.mask(line), keep_tab=True) for line in block_lines(text)]

    def host_error(self, report: HostReport) -> None:
        if report.error and report.status in (FAILED, UNREACHABLE):
            first, *rest = self.block(report.error.strip("\n"))
            lines = [
                f"{self.text(report.name):<{self.width}}  "
                f"{self.paint(report.status, f'{report.status:<8}')} {first}"
            ]
            lines += [" " * (self.width + 11) + r.strip() for r in rest]
            self.write(lines)

    def recap(self, reports: list[HostReport]) -> None:
        lines = ["", "RECAP"]
        width = max([self.width, *(len(r.name) for r in reports)])
        for r in sorted(reports, key=lambda r: r.name):
            counts = [f"ok={r.count(OK)}"]
            counts.append(f"pending={r.pending}" if self.plan else f"changed={r.count(CHANGED)}")
            counts += [
                f"failed={r.count(FAILED) + (1 if r.failed and not r.count(FAILED) else 0)}",
                f"skipped={r.count(SKIPPED)}",
                f"unreachable={1 if r.unreachable else 0}",
            ]
            conns = "connection" if r.connections == 1 else "connections"
            cmds = "remote command" if r.commands_run == 1 else "remote commands"
            status = r.status
            if self.plan and status == OK and r.pending:
                status = PENDING
            line = (
                f"{self.paint(status, f'{self.text(r.name):<{width}}')}  {'  '.join(counts)}  "
                f"{r.duration:5.1f}s  {r.connections} {conns}, {r.commands_run} {cmds}"
            )
            if self.stats:
                line += f", probe {r.probe_seconds:.2f}s"
            lines.append(line)
        self.write(lines)
