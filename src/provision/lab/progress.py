"""A progress display for long steps: a live status line on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """Shows ``[ 12s] 3/7 building RPMs`` and updates it while a step runs."""

    def __init__(self, total: int, title: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.title = title
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.start = time.monotonic()
        self.index = 0
        self.step_name = ""
        self.step_start = self.start
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        self.stream.write(f"{self.title}\n")
        self.stream.flush()
        if self.live:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish_step(failed=exc_type is not None)
        self._stop.set()
        if self._thread:
            self._thread.join()
        if exc_type is None:
            self.stream.write(f"done in {time.monotonic() - self.start:.0f}s\n")
        self.stream.flush()

    def step(self, name: str) -> None:
        """Start the next step (ends the previous one)."""
        self._finish_step(failed=False)
        with self._lock:
            self.index += 1
            self.step_name = name
            self.step_start = time.monotonic()
        self._render()

    def _finish_step(self, failed: bool) -> None:
        with self._lock:
            if not self.step_name:
                return
            took = time.monotonic() - self.step_start
            mark = "FAILED" if failed else f"{took:.0f}s"
            line = f"  {self.index}/{self.total} {self.step_name} ... {mark}"
            self.step_name = ""
        if self.live:
            self.stream.write("\r\033[K" + line + "\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _render(self) -> None:
        if not self.live:
            return
        with self._lock:
            if not self.step_name:
                return
            elapsed = time.monotonic() - self.start
            spin = "|/-\\"[int(elapsed * 4) % 4]
            line = f"  {self.index}/{self.total} {self.step_name} {spin} [{elapsed:4.0f}s total]"
            self.stream.write("\r\033[K" + line)
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(0.25):
            self._render()
