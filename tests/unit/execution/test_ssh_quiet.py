"""paramiko, fabric and invoke never print to the user's terminal, whatever they log."""

from __future__ import annotations

import logging
import sys

import pytest

from provision.execution import ssh


@pytest.mark.parametrize("name", ["paramiko", "paramiko.transport", "fabric", "invoke.runners"])
def test_library_loggers_print_nothing(name: str, capfd) -> None:
    ssh.quiet_library_loggers()
    logger = logging.getLogger(name)
    try:
        raise ValueError("Error reading SSH protocol banner")
    except ValueError:
        logger.exception("Exception (client): Error reading SSH protocol banner")
    logger.error("Traceback (most recent call last):")
    logger.critical("Unknown exception")
    sys.stderr.flush()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_muting_is_idempotent() -> None:
    ssh.quiet_library_loggers()
    ssh.quiet_library_loggers()
    handlers = logging.getLogger("paramiko").handlers
    assert sum(type(h) is logging.NullHandler for h in handlers) == 1, handlers
    assert logging.getLogger("paramiko").propagate is False
