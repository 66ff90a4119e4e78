"""paramiko, imported without invoke.

paramiko.config imports invoke (and with it unittest.mock, asyncio and a vendored YAML
parser) only to run the commands of `Match exec` lines, which provision refuses when it
reads an ssh config (`provision.execution.sshconfig`). That import was ~40 % of paramiko's
import time, paid on every run. Imported here with invoke hidden, paramiko keeps
`invoke = None` and would raise only on a `Match exec`; an `import invoke` elsewhere, later,
works as usual.

paramiko's `__init__` also imports importlib.metadata (and with it email, zipfile, csv:
~10 ms on a run's path) for one call, `metadata.version("paramiko")`. Imported here, it gets
a small stand-in whose `version` reads the `Version:` line of paramiko's dist-info METADATA,
the file importlib.metadata reads (first sys.path entry that has the dist-info); anything
less plain (no such folder, two of them, an egg-info, no Version line) is answered by the
real importlib.metadata, imported then. The stand-in leaves sys.modules afterwards, so any
later `import importlib.metadata` is the real one.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()
_METADATA = "importlib.metadata"


def _dist_info_version(name: str) -> str | None:
    """The `Version:` of `name`'s METADATA in the first sys.path folder holding a
    `NAME-*.dist-info` (what importlib.metadata.version finds), or None when it is not
    that plain (then the caller asks importlib.metadata)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except FileNotFoundError:
            continue
        except OSError:  # a zip file, an unreadable folder: importlib.metadata decides
            return None
        found = [
            n
            for n in names
            if n.lower().startswith(name + "-") and n.lower().endswith((".dist-info", ".egg-info"))
        ]
        if not found:
            continue
        if len(found) != 1 or not found[0].endswith(".dist-info"):
            return None
        try:
            with open(os.path.join(entry or ".", found[0], "METADATA"), encoding="utf-8") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line[len("Version:") :].strip() or None
                    if not line.strip():
                        return None  # end of the headers
        except OSError:
            return None
        return None
    return None


def _real_metadata() -> Any:
    if sys.modules.get(_METADATA) is _STAND_IN:
        del sys.modules[_METADATA]
    from importlib import metadata

    return metadata


def _version(name: str) -> str:
    found = _dist_info_version(name) if name == "paramiko" else None
    return found if found is not None else _real_metadata().version(name)


_STAND_IN = types.ModuleType(_METADATA, "paramiko's one use of importlib.metadata (see above)")
_STAND_IN.version = _version  # type: ignore[attr-defined]
# any other name a paramiko version might read: the real module's
_STAND_IN.__getattr__ = lambda name: getattr(_real_metadata(), name)  # type: ignore[method-assign]


def import_paramiko() -> Any:
    """The paramiko module (imported once, by the first thread that asks)."""
    with _lock:
        if "paramiko" not in sys.modules and "invoke" not in sys.modules:
            sys.modules["invoke"] = None  # type: ignore[assignment]  # import invoke: ImportError
            if _METADATA not in sys.modules:
                sys.modules[_METADATA] = _STAND_IN
            try:
                import paramiko  # noqa: F401
            finally:
                if "invoke" in sys.modules and sys.modules["invoke"] is None:
                    del sys.modules["invoke"]
                if sys.modules.get(_METADATA) is _STAND_IN:
                    del sys.modules[_METADATA]
    import paramiko

    return paramiko
