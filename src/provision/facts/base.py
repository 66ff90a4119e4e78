"""The fact protocol, the base class every fact kind derives from, and parser errors.

A fact kind is a frozen dataclass deriving from `FactKind`: a `kind` name, the command
that prints it, a pure parser, and the simple form of its value that the table tests
write (`case_value`). Kinds are found by discovery (`fact_kinds()`): defining the class
in any imported module registers it; no list to keep.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self


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


@dataclass(frozen=True)
class CaseFacts:
    """A host as a table test writes it: the case's `facts:` mapping (one section per
    fact kind, e.g. `files: {PATH: {...}}`), and the folders that files a case names
    (a key file) are read from."""

    facts: Mapping[str, Any]
    data_dirs: tuple[Path, ...] = ()

    def section(self, key: str) -> dict[str, Any]:
        """One section of the case's facts, `{}` when the case leaves it out."""
        return dict(self.facts.get(key) or {})

    def read(self, name: str) -> bytes:
        """A data file the case names, from the first data folder that holds it."""
        for folder in self.data_dirs:
            if (folder / name).is_file():
                return (folder / name).read_bytes()
        raise FileNotFoundError(f"no data file {name!r} in {', '.join(map(str, self.data_dirs))}")


_KINDS: dict[str, type[FactKind]] = {}


class FactKind:
    """Base of every fact kind (a frozen dataclass): registers itself by `kind`.

    A subclass sets `kind`, implements `command`, `parse` and `describe` (the `Fact`
    protocol) and `case_value`. Its fields are what the fact cases' `fact:` mapping
    gives (`from_case`)."""

    kind: ClassVar[str]
    # The command is the user's own shell text (a guard, an assert), not built from values.
    verbatim: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            other = _KINDS.get(cls.kind)
            if other is not None and other.__qualname__ != cls.__qualname__:
                raise TypeError(f"fact kind {cls.kind!r} defined twice: {other} and {cls}")
            _KINDS[cls.kind] = cls

    @classmethod
    def from_case(cls, spec: Mapping[str, Any]) -> Self:
        """The fact a fact case names: `{kind: file, path: /etc/x}` → FileFact('/etc/x')."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(spec) - names - {"kind"}
        if unknown:
            raise ValueError(f"fact {cls.kind}: unknown field(s) {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in spec.items() if k != "kind"})

    def case_value(self, case: CaseFacts) -> Any:
        """This fact's parsed value on the host a table test describes (`case.facts`, in
        the simple form documented on each kind), with defaults for what it leaves out."""
        raise NotImplementedError(f"fact kind {self.kind!r} has no simple case form")


def fact_kinds() -> dict[str, type[FactKind]]:
    """Every fact kind, by name: the modules of this package are imported (which
    registers their kinds); kinds defined in other modules (a task type's own fact)
    are registered once those are imported (`provision.tasks.base.task_types()`)."""
    import provision.facts as package

    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
    return dict(_KINDS)


def text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def tail(data: bytes, lines: int = 5) -> str:
    return "\n".join(text(data).strip().splitlines()[-lines:])
