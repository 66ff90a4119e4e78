"""The lab's spare disk: the nspawn binding and the record that `lab down` trusts."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.lab import spare
from provision.lab.launcher import nspawn_command


def test_spare_bound_as_vdb(tmp_path: Path) -> None:
    cmd = nspawn_command("rocky1", tmp_path / "root", tmp_path, "/dev/loop7")
    assert "--bind=/dev/loop7:/dev/vdb" in cmd


def test_no_spare_no_device_binding(tmp_path: Path) -> None:
    cmd = nspawn_command("rocky1", tmp_path / "root", tmp_path)
    assert not any("/dev/vdb" in word or "/dev/mapper" in word for word in cmd)


@pytest.mark.parametrize(
    "record", ["", "/dev/sda\n", "/dev/loop\n", "/dev/loopx\n", "/dev/loop1 /dev/sda\n", "../x"]
)
def test_a_bad_record_is_not_trusted(tmp_path: Path, record: str) -> None:
    (tmp_path / spare.RECORD_NAME).write_text(record)
    assert spare.recorded_loop(tmp_path) is None


def test_a_loop_of_another_file_is_not_ours(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / spare.RECORD_NAME).write_text("/dev/loop3\n")
    monkeypatch.setattr(spare, "_backing_file", lambda loop: "/srv/someone-else.img")
    assert spare.recorded_loop(tmp_path) is None
    calls = []
    monkeypatch.setattr(spare, "run", lambda cmd, **kw: calls.append(cmd))
    assert spare.detach(tmp_path) is False
    assert calls == []  # never detaches a loop device the lab did not attach


def test_our_loop_is_detached(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / spare.RECORD_NAME).write_text("/dev/loop3\n")
    image = str((tmp_path / spare.IMAGE_NAME).resolve())
    monkeypatch.setattr(spare, "_backing_file", lambda loop: image)
    calls = []
    monkeypatch.setattr(spare, "run", lambda cmd, **kw: calls.append(cmd))
    assert spare.detach(tmp_path) is True
    assert calls[-1] == ["losetup", "--detach", "/dev/loop3"]
    assert not (tmp_path / spare.RECORD_NAME).exists()
