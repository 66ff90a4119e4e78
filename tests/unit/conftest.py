"""Unit tests apply to `ansible_connection: local` hosts, i.e. this machine: the host's
last-apply record (written by apply) goes to the test's tmp_path, never to the real
/var/lib/provision of the machine running the tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _last_apply_record_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    folder: Path = tmp_path_factory.mktemp("host-record")
    # the environment reaches `provision` subprocesses too (their applies to this machine)
    monkeypatch.setenv("PROVISION_HOST_RECORD", str(folder / "last-apply.json"))
