"""paramiko, imported without invoke.

paramiko.config imports invoke (and with it unittest.mock, asyncio and a vendored YAML
parser) only to run the commands of `Match exec` lines, which provision refuses when it
reads an ssh config (`provision.execution.sshconfig`). That import was ~40 % of paramiko's
import time, paid on every run. Imported here with invoke hidden, paramiko keeps
`invoke = None` and would raise only on a `Match exec`; an `import invoke` elsewhere, later,
works as usual.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

_lock = threading.Lock()


def import_paramiko() -> Any:
    """The paramiko module (imported once, by the first thread that asks)."""
    with _lock:
        if "paramiko" not in sys.modules and "invoke" not in sys.modules:
            sys.modules["invoke"] = None  # type: ignore[assignment]  # import invoke: ImportError
            try:
                import paramiko  # noqa: F401
            finally:
                if "invoke" in sys.modules and sys.modules["invoke"] is None:
                    del sys.modules["invoke"]
    import paramiko

    return paramiko
