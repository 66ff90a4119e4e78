"""`provision check`'s `offline bundle` rule: the fact run for real on a folder the
install script made, then each way the host's copy can be wrong."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from provision.bundle.testing import bundle_id_of as bundle_id
from provision.bundle.testing import make_bundle_of_bytes
from provision.check.offline import (
    CHECK,
    OfflineCheckFact,
    OfflineCheckState,
    check_offline,
    offline_facts,
)
from provision.check.rules import Level
from provision.facts.base import FactError
from provision.facts.host import FactFailure
from provision.tasks.offline_bundle import install_script, read_bundle

RPM = "rpms/el9/x86_64/hello-1.0-1.el9.x86_64.rpm"
LAB_KEY = Path(__file__).parents[1] / "facts" / "openpgp" / "lab-docker.asc"


def write_bundle(path: Path, rpm: bytes = b"rpm bytes\n") -> Path:
    return make_bundle_of_bytes(
        path.parent, {RPM.rsplit("/", 1)[1]: rpm}, keys=[LAB_KEY], name=path.name
    )


def probe(dest: Path) -> OfflineCheckState:
    fact = OfflineCheckFact(str(dest))
    done = subprocess.run(["sh", "-c", fact.command()], capture_output=True)
    return fact.parse(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Path, Path]:
    bundle = write_bundle(tmp_path / "b.tar")
    dest = tmp_path / "dest"
    staged = tmp_path / "staged.tar"
    staged.write_bytes(bundle.read_bytes())
    script = install_script(read_bundle(str(bundle)), str(dest), str(staged))
    assert subprocess.run(["sh", "-c", script], capture_output=True).returncode == 0
    return bundle, dest


def variables(bundle: Path, dest: Path) -> dict[str, str]:
    return {"offline_bundle": str(bundle), "offline_repo_dir": str(dest)}


def judge(bundle: Path, dest: Path) -> tuple[Level, str]:
    (result,) = check_offline(variables(bundle, dest), {"offline": probe(dest)})
    assert result.check == CHECK
    return result.level, result.measured


def test_no_fact_and_no_result_without_offline_bundle() -> None:
    assert offline_facts({}) == {}
    assert offline_facts({"offline_bundle": ""}) == {}
    assert check_offline({}, {}) == []


def test_pass_when_current_and_whole(installed: tuple[Path, Path]) -> None:
    bundle, dest = installed
    level, measured = judge(bundle, dest)
    assert level is Level.PASS
    assert bundle_id(bundle)[:12] in measured


def test_fail_when_absent(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b.tar")
    level, measured = judge(bundle, tmp_path / "nothing")
    assert level is Level.FAIL and "no bundle in" in measured


def test_fail_when_a_member_was_changed(installed: tuple[Path, Path]) -> None:
    bundle, dest = installed
    (dest / "current" / RPM).write_bytes(b"rpm bytez\n")
    level, measured = judge(bundle, dest)
    assert level is Level.FAIL and RPM in measured


def test_fail_when_a_member_is_gone(installed: tuple[Path, Path]) -> None:
    bundle, dest = installed
    (dest / "current" / RPM).unlink()
    level, measured = judge(bundle, dest)
    assert level is Level.FAIL and "members differ" in measured


def test_fail_when_another_bundle_is_current(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, dest = installed
    other = write_bundle(tmp_path / "other.tar", b"v2")
    level, measured = judge(other, dest)
    assert level is Level.FAIL and "not " + bundle_id(other)[:12] in measured


def test_fail_when_the_manifest_was_changed(installed: tuple[Path, Path]) -> None:
    bundle, dest = installed
    manifest = dest / "current" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b" ")
    level, measured = judge(bundle, dest)
    assert level is Level.FAIL and "no longer hashes" in measured


def test_fail_when_the_controller_bundle_is_broken(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, dest = installed
    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"x" * 1000)
    level, measured = judge(broken, dest)
    assert level is Level.FAIL and "expected a tar file" in measured


def test_warn_when_unread(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b.tar")
    found = {"offline": FactFailure("timeout")}
    (result,) = check_offline(variables(bundle, tmp_path), found)
    assert result.level is Level.WARN


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        ("absent\n", OfflineCheckState(None, None, False)),
        (
            f"current {'a' * 64}\nmanifest {'a' * 64}\nwhole\n",
            OfflineCheckState("a" * 64, "a" * 64, True),
        ),
        (
            f"current /x/{'a' * 64}\nbad rpms/x.rpm\nbroken\n",
            OfflineCheckState("a" * 64, None, False, ("rpms/x.rpm",)),
        ),
        (f"current {'a' * 64}\nunreadable\n", OfflineCheckState("a" * 64, None, False)),
    ],
)
def test_parse(stdout: str, expected: OfflineCheckState) -> None:
    assert OfflineCheckFact("/d").parse(0, stdout.encode(), b"") == expected


@pytest.mark.parametrize("stdout", ["hello\n", "current x\nsomething else\n"])
def test_parse_refuses_garbage(stdout: str) -> None:
    with pytest.raises(FactError):
        OfflineCheckFact("/d").parse(0, stdout.encode(), b"")


def test_dest_is_quoted() -> None:
    command = OfflineCheckFact("/d'; touch /tmp/x; '").command()
    assert "'\"'\"'" in command and os.sep in command
