"""`provision bundle verify | list | create` from the command line: exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.cli import main

from .helpers import CREATED, ED25519_FP, small_bundle


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_bundle(tmp_path_factory.mktemp("cli"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_verify_ok(good: Path) -> None:
    code, out, _err = run("bundle", "verify", str(good))
    assert code == 0
    assert out.startswith(f"bundle {good}: OK, 7 members verified, id ")


def test_verify_one_byte_changed(good: Path, tmp_path: Path) -> None:
    data = bytearray(good.read_bytes())
    data[-2000] ^= 1
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    code, out, err = run("bundle", "verify", str(bad))
    assert code == 1
    assert out == ""
    assert err == f"bundle {bad}: member images/registry_2.tar: sha256 mismatch\n"


def test_verify_expect_id(good: Path) -> None:
    code, out, _ = run("bundle", "list", str(good), "--format", "json")
    bundle_id = json.loads(out)["id"]
    assert run("bundle", "verify", str(good), "--expect-id", bundle_id)[0] == 0
    code, _, err = run("bundle", "verify", str(good), "--expect-id", "0" * 64)
    assert code == 1
    assert "member manifest.json: bundle id" in err


def test_verify_missing_file(tmp_path: Path) -> None:
    code, _, err = run("bundle", "verify", str(tmp_path / "none.tar"))
    assert code == 1
    assert "cannot be read" in err


def test_list_text(good: Path) -> None:
    code, out, _ = run("bundle", "list", str(good))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"bundle   {good}"
    assert lines[2] == f"created  {CREATED} by provision 0.1.0"
    assert "release  el9 x86_64: 2 packages in rpms/el9/x86_64" in lines
    assert any(line.split() == ["containerd.io", "1.6.28-3.1.el9.x86_64"] for line in lines)
    assert any(line.startswith("image    registry:2  sha256:") for line in lines)
    assert any(
        "EA9C A9B3" in line and line.startswith("key      keys/ed25519.asc") for line in lines
    )


def test_list_json(good: Path) -> None:
    code, out, _ = run("bundle", "list", str(good), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["created"] == CREATED
    assert doc["size"] == good.stat().st_size
    assert len(doc["id"]) == 64
    packages = doc["releases"][0]["packages"]
    assert [(p["name"], p["version"], p["release"]) for p in packages] == [
        ("containerd.io", "1.6.28", "3.1.el9"),
        ("docker-ce", "24.0.7", "1.el9"),
    ]
    assert doc["images"][0]["ref"] == "registry:2"
    assert doc["gpg_keys"][0]["fingerprint"] == ED25519_FP
    assert doc["verified"] is False


@pytest.mark.parametrize("content", [b"", b"x" * 600, b"\0" * 2048])
def test_list_not_a_bundle(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(content)
    code, out, err = run("bundle", "list", str(bad))
    assert code == 1
    assert err.startswith(f"bundle {bad}: ")


def test_create_bad_input_exit_2(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    ref:\n      ansible_connection: local\n")
    code, _, err = run(
        "bundle", "create", str(inventory), "--reference", "ref", "--release", "el9",
        "--package", "-y", "-o", str(tmp_path / "b.tar"),
    )  # fmt: skip
    assert code == 2
    assert "--package: expected a package name" in err
    assert not (tmp_path / "b.tar").exists()


def test_create_without_release_or_image_exit_2(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    ref:\n      ansible_connection: local\n")
    code, _, err = run(
        "bundle", "create", str(inventory), "--reference", "ref", "-o", str(tmp_path / "b.tar")
    )
    assert code == 2
    assert "--release: give at least one release (el8, el9, el10), or images only" in err


def test_create_unknown_reference_exit_2(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    ref:\n      ansible_connection: local\n")
    code, _, err = run(
        "bundle", "create", str(inventory), "--reference", "nope", "--release", "el9",
        "-o", str(tmp_path / "b.tar"),
    )  # fmt: skip
    assert code == 2
    assert "matches no host" in err
