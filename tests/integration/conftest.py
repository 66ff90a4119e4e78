from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sshd import Sshd, can_run_sshd, start_sshd

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    why = can_run_sshd()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _last_apply_record_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """The hosts here are this machine: apply's last-apply record goes to a temp folder."""
    folder = tmp_path_factory.mktemp("host-record")
    # the environment reaches `provision` subprocesses too (their applies to this machine)
    monkeypatch.setenv("PROVISION_HOST_RECORD", str(folder / "last-apply.json"))
