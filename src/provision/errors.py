"""The error tree. The CLI maps each branch to an exit code; users never see a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class ProvisionError(Exception):
    """Base of every error this tool reports to a user."""


@dataclass
class Location:
    """Where in the user's input something was found."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


class InputError(ProvisionError):
    """Bad input: found before any host is touched. Exit code 2."""

    def __init__(self, message: str, location: Location | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  {self.hint}"
        return text


class ConnectError(ProvisionError):
    """A host could not be reached or logged into."""


class HostKeyError(ConnectError):
    """A host key is unknown or does not match the recorded one."""
