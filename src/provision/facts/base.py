"""The fact protocol and the errors a parser may raise."""

from __future__ import annotations

from typing import Any, Protocol


class FactError(Exception):
    """The host's answer could not be understood; the host fails with this message."""


class Fact(Protocol):
    """A hashable key naming one piece of host state; equal keys are probed once."""

    slow: bool

    def command(self) -> str:
        """A POSIX shell snippet that prints the fact (values quoted by construction)."""
        ...

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> Any:
        """The typed value; a missing tool gives the default, an unclear answer raises."""
        ...

    def describe(self) -> str:
        """A short name for messages, e.g. `file /etc/dnf/dnf.conf`."""
        ...


def text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def tail(data: bytes, lines: int = 5) -> str:
    return "\n".join(text(data).strip().splitlines()[-lines:])
