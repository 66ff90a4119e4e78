"""A fake connection for unit tests: answers scripts from a function, records what ran."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from provision.execution.batchscript import frame, split_batch
from provision.execution.connection import Result

Responder = Callable[[str, bytes | None], Result]


@dataclass
class FakeConnection:
    """Stands in for an SSH or local connection (the `Connection` protocol)."""

    responder: Responder
    commands_run: int = 0
    connections_opened: int = 1
    history: list[tuple[str, bytes | None, bool]] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)  # the commands of each batch

    def run(
        self,
        script: str,
        stdin: bytes | None = None,
        become: bool = False,
        on_stderr: Callable[[str], None] | None = None,
    ) -> Result:
        self.commands_run += 1
        self.history.append((script, stdin, become))
        batch = split_batch(script)
        if batch is None:
            return self.responder(script, stdin)
        marker, commands = batch  # one batch script: its commands one by one, framed
        self.batches.append([c for c, _ in commands])
        out = b""
        for index, (command, data) in enumerate(commands):
            result = self.responder(command, data)
            out += frame(marker, index, result)
            if result.rc != 0:
                break
        return Result(0, out, b"")

    def close(self) -> None:
        return None
