"""`provision check` with `offline_bundle`: the controller's bundle file is read and verified
once per run, for the `bundle file` result (check/bundle.py) and the `offline bundle` result
(check/offline.py, which takes the id from that reading), however many hosts name it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provision.bundle import verify
from provision.bundle.testing import bundle_id_of
from provision.check import bundle as check_bundle
from provision.check.bundle import bundle_checks
from provision.check.offline import check_offline
from provision.check.rules import Level
from provision.tasks import offline_bundle

from . import test_offline_check

# a bundle made and installed by its own script into a folder; the host's probe of it
installed = test_offline_check.installed
probe = test_offline_check.probe


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every verifying read of a bundle file during the test (the task's reader refused)."""
    check_bundle._cache.clear()
    seen: list[Path] = []
    real = verify.verify_bundle

    def counting(path: Path, *args: object, **kwargs: object) -> verify.Verified:
        seen.append(path)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    def refused(*args: object) -> None:
        raise AssertionError("check read the bundle a second time (tasks.offline_bundle)")

    monkeypatch.setattr(verify, "verify_bundle", counting)
    monkeypatch.setattr(offline_bundle, "read_bundle", refused)
    monkeypatch.setattr(offline_bundle, "_read_bundle", refused)
    return seen


def both(bundle: Path | str, dest: Path) -> list[tuple[str, Level, str]]:
    variables = {"offline_bundle": str(bundle), "offline_repo_dir": str(dest)}
    results = bundle_checks(variables) + check_offline(variables, {"offline": probe(dest)})
    return [(r.check, r.level, r.measured) for r in results]


def test_one_read_for_both_results_and_many_hosts(
    installed: tuple[Path, Path], reads: list[Path]
) -> None:
    bundle, dest = installed
    for _ in range(4):  # four hosts naming the same bundle
        found = both(bundle, dest)
        assert [(c, level) for c, level, _ in found] == [
            ("bundle file", Level.PASS),
            ("offline bundle", Level.PASS),
        ]
        assert bundle_id_of(bundle)[:12] in found[1][2]
    assert len(reads) == 1


def test_the_offline_result_alone_reads_once_too(
    installed: tuple[Path, Path], reads: list[Path]
) -> None:
    bundle, dest = installed
    variables = {"offline_bundle": str(bundle), "offline_repo_dir": str(dest)}
    for _ in range(3):
        (result,) = check_offline(variables, {"offline": probe(dest)})
        assert result.level is Level.PASS
    assert len(reads) == 1


def test_a_relative_and_an_absolute_name_are_one_read(
    installed: tuple[Path, Path], reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, dest = installed
    monkeypatch.chdir(bundle.parent)
    assert [level for _, level, _ in both(bundle.name, dest)] == [Level.PASS, Level.PASS]
    assert [level for _, level, _ in both(bundle, dest)] == [Level.PASS, Level.PASS]
    assert len(reads) == 1


def test_a_changed_file_is_read_again(installed: tuple[Path, Path], reads: list[Path]) -> None:
    bundle, dest = installed
    both(bundle, dest)
    data = bytearray(bundle.read_bytes())
    data[-2000] ^= 1  # inside the RPM member: the file no longer verifies
    bundle.write_bytes(bytes(data))
    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    found = both(bundle, dest)
    assert [(c, level) for c, level, _ in found] == [
        ("bundle file", Level.FAIL),
        ("offline bundle", Level.FAIL),
    ]
    assert "sha256 mismatch" in found[0][2] and "sha256 mismatch" in found[1][2]
    assert len(reads) == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot be read"),
        (b"", "expected a tar file"),
        (b"x" * 1000, "expected a tar file"),
        (b"\0" * 4096, "found an empty tar"),
    ],
    ids=["missing", "empty", "short-junk", "zeros"],
)
def test_a_bad_controller_file_fails_both_from_one_read(
    tmp_path: Path, reads: list[Path], content: bytes | None, expected: str
) -> None:
    bundle = tmp_path / "bad.tar"
    if content is not None:
        bundle.write_bytes(content)
    found = both(bundle, tmp_path / "dest")
    assert [(c, level) for c, level, _ in found] == [
        ("bundle file", Level.FAIL),
        ("offline bundle", Level.FAIL),
    ]
    assert expected in found[1][2], found
    assert len(reads) == (0 if content is None else 1)
