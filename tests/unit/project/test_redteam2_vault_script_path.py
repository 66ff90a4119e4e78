"""Red team 2: `--vault-password-file NAME` with a bare name: provision checked the file
NAME in the current folder, then ran `NAME` through PATH, so an executable password file
called `hostname` (or `reboot`) ran the system's program of that name instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provision.project import vault


@pytest.mark.parametrize("name", ["hostname", "true", "id", "pw-client"])
def test_a_bare_script_name_runs_the_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / name
    script.write_text("#!/bin/sh\necho the-script-password\n")
    os.chmod(script, 0o700)
    assert vault.load_secret(name).password == b"the-script-password"
    assert vault.load_secret(name, "lbl").password == b"the-script-password"
