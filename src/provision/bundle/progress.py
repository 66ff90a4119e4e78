"""Progress on a terminal (stderr), nothing when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MIB = 1024 * 1024


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = ""
        self.total = 0
        self.done = 0
        self.shown_at = 0.0
        self.open_line = False

    def phase(self, text: str) -> None:
        """A step starts: one line of its own."""
        if not self.enabled:
            return
        self._end_line()
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.shown_at = label, total, 0, 0.0

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.shown_at < 0.2 and self.done < self.total:
            return
        self.shown_at = now
        pct = f" {100 * self.done // self.total:3d}%" if self.total else ""
        self.stream.write(
            f"\r{self.label}: {self.done / MIB:8.1f} of {self.total / MIB:.1f} MiB{pct}"
        )
        self.stream.flush()
        self.open_line = True

    def finish(self) -> None:
        self._end_line()

    def _end_line(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False
