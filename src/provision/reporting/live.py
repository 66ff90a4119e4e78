"""Live progress of long steps (a dnf transaction, an engine restart) on a terminal.

One status line per host running a long step: its name, the task, the elapsed time and the
last line the host printed, kept at the bottom of the terminal and redrawn in place. The
console erases these lines before it writes anything else and draws them again after, so
they never mix with the permanent output. Pure rendering: the console owns the stream,
the lock and the clock.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# Cursor up N lines (to the first status line), back to column 0, erase to the screen's end.
ERASE = "\033[{n}A\r\033[J"


@dataclass
class Step:
    """A long step running on one host; every text field already masked and escaped."""

    task: str
    display: str
    started: float
    last: str = ""


def live_wanted(stream: object, environ: Mapping[str, str] | None = None) -> bool:
    """Redraw in place only on a terminal that understands cursor movement (not TERM=dumb)."""
    env = os.environ if environ is None else environ
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and env.get("TERM", "") != "dumb"


def terminal_columns() -> int:
    return shutil.get_terminal_size((80, 24)).columns


def char_width(char: str) -> int:
    """Columns a character takes on a terminal: 2 for wide East Asian ones, 0 for combining."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def fit(text: str, columns: int) -> str:
    """`text` cut to at most `columns` terminal columns (a wrapped status line would break
    the count of lines to erase)."""
    used = 0
    for index, char in enumerate(text):
        used += char_width(char)
        if used > columns:
            return text[:index]
    return text


def elapsed(seconds: float) -> str:
    """`7s`, `1:05`, `1:02:03`."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    if minutes:
        return f"{minutes}:{secs:02d}"
    return f"{secs}s"


class LiveArea:
    """The status lines now on screen, by host (one long step per host at a time)."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}
        self.drawn = 0  # lines of the area now on screen, the cursor just below them

    def erase(self) -> str:
        """What clears the area from the screen (the cursor ends where the area began)."""
        text = ERASE.format(n=self.drawn) if self.drawn else ""
        self.drawn = 0
        return text

    def draw(self, now: float, columns: int, host_width: int, label_width: int) -> str:
        """The area's lines, each cut to the terminal's width less one column."""
        lines = []
        for host, step in self.steps.items():
            line = (
                f"{host:<{host_width}}  {'running':<{label_width}} {step.task}  "
                f"{elapsed(now - step.started)}"
            )
            if step.last:
                line += f"  {step.last}"
            lines.append(fit(line, max(10, columns - 1)))
        self.drawn = len(lines)
        return "".join(line + "\n" for line in lines)
