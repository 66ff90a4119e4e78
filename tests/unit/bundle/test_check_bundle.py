"""`provision check`: the offline bundle named by `offline_bundle` is present and verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.check import bundle as check_bundle
from provision.check.bundle import bundle_checks
from provision.check.rules import Level

from .helpers import small_bundle


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_bundle(tmp_path_factory.mktemp("check"))


@pytest.mark.parametrize("variables", [{}, {"offline_bundle": ""}, {"offline_bundle": None}])
def test_not_set_no_check(variables: dict) -> None:
    assert bundle_checks(variables) == []


def test_present_and_verified_passes(good: Path) -> None:
    (result,) = bundle_checks({"offline_bundle": str(good)})
    assert result.level is Level.PASS
    assert result.check == "bundle file"
    assert "el9/x86_64, 2 packages, 1 images" in result.measured


def test_missing_fails_with_what_to_do(tmp_path: Path) -> None:
    (result,) = bundle_checks({"offline_bundle": str(tmp_path / "none.tar")})
    assert result.level is Level.FAIL
    assert "No such file" in result.measured
    assert "provision bundle create" in result.advice


def test_corrupt_fails_naming_the_member(good: Path, tmp_path: Path) -> None:
    data = bytearray(good.read_bytes())
    data[-2000] ^= 1
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    (result,) = bundle_checks({"offline_bundle": str(bad)})
    assert result.level is Level.FAIL
    assert result.measured == f"bundle {bad}: member images/registry_2.tar: sha256 mismatch"
    assert "provision bundle verify" in result.advice


@pytest.mark.parametrize("value", [["a"], {"a": 1}, 3, True])
def test_not_a_path(value: object) -> None:
    (result,) = bundle_checks({"offline_bundle": value})
    assert result.level is Level.FAIL
    assert "not a file path" in result.measured


def test_verified_once_per_file(good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_bundle._cache.clear()
    calls: list[Path] = []
    real = check_bundle._verify

    def counting(path: Path):  # type: ignore[no-untyped-def]
        calls.append(path)
        return real(path)

    monkeypatch.setattr(check_bundle, "_verify", counting)
    for _ in range(5):
        bundle_checks({"offline_bundle": str(good)})
    assert len(calls) == 1


def test_judge_adds_the_check(good: Path) -> None:
    """The hook in provision.check.run.judge: the result is among the host's checks."""
    from provision.check.run import HostFacts, judge
    from provision.project.compile import host_settings

    inventory = good.parent / "inv.yml"
    inventory.write_text(
        f"all:\n  hosts:\n    h1:\n      ansible_connection: local\n      offline_bundle: {good}\n"
    )
    (settings,) = host_settings(inventory, None, {}, None)
    (host,) = judge([(settings, HostFacts("h1"))])
    assert [r.level for r in host.results if r.check == "bundle file"] == [Level.PASS]
