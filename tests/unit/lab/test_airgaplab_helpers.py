"""tests/lab/airgaplab.py's helpers without a lab: the one-byte-changed bundle copy, the
log readers, the secret check, the transcript, the registry plays."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from tests.lab import airgaplab

from provision.bundle.format import BundleError
from provision.bundle.testing import make_bundle_of_bytes
from provision.bundle.verify import verify_bundle

RPMS = {"docker-ce-24.0.7-1.el9.x86_64.rpm": b"d" * 3000, "hello-1.0-1.el9.x86_64.rpm": b"h" * 3000}


@pytest.mark.parametrize(
    ("member", "wanted"),
    [
        (lambda name: "/docker-ce-" in name, "rpms/el9/x86_64/docker-ce-24.0.7-1.el9.x86_64.rpm"),
        (lambda name: name.endswith(".rpm"), "rpms/el9/x86_64/docker-ce-24.0.7-1.el9.x86_64.rpm"),
        (lambda name: "/hello-" in name, "rpms/el9/x86_64/hello-1.0-1.el9.x86_64.rpm"),
    ],
    ids=["docker-ce", "first-rpm", "hello"],
)
def test_corrupted_copy_changes_one_byte_of_that_member(
    tmp_path: Path, member: object, wanted: str
) -> None:
    bundle = make_bundle_of_bytes(tmp_path, RPMS, name="good.tar")
    bad, name = airgaplab.corrupted_copy(bundle, tmp_path / "bad.tar", member)  # type: ignore[arg-type]
    assert name == wanted
    good, changed = bundle.read_bytes(), bad.read_bytes()
    assert len(good) == len(changed)
    assert sum(a != b for a, b in zip(good, changed, strict=True)) == 1
    with pytest.raises(BundleError, match=f"member {wanted}: sha256 mismatch"):
        verify_bundle(bad)


def test_log_lines_after_the_mark_for_one_address(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    assert airgaplab.log_size(log) == 0 and airgaplab.log_lines(log, 0, "10.0.0.1") == []
    log.write_text("1 10.0.0.1 GET /old\n")
    mark = airgaplab.log_size(log)
    with open(log, "a") as handle:
        handle.write("2 10.0.0.1 GET /a\n3 10.0.0.11 GET /b\n4 10.0.0.2 10.0.0.1\n10.0.0.1x\n")
    assert airgaplab.log_lines(log, mark, "10.0.0.1") == [
        "2 10.0.0.1 GET /a",
        "4 10.0.0.2 10.0.0.1",
    ]


@pytest.mark.parametrize("where", ["stdout", "stderr"])
def test_assert_no_secret_finds_either_stream(where: str) -> None:
    proc = subprocess.CompletedProcess([], 0, stdout="ok", stderr="")
    airgaplab.assert_no_secret([proc], ("pw-1",))
    setattr(proc, where, "a pw-1 b")
    with pytest.raises(AssertionError, match="a password leaked"):
        airgaplab.assert_no_secret([proc], ("other", "pw-1"))


def test_transcript_only_when_its_variable_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "transcript.txt"
    monkeypatch.delenv("MEND6_TRANSCRIPT", raising=False)
    done = airgaplab.provision("--version", transcript_var="MEND6_TRANSCRIPT")
    assert done.returncode == 0 and not out.exists()
    monkeypatch.setenv("MEND6_TRANSCRIPT", str(out))
    airgaplab.provision("--version")  # no variable named: nothing written
    assert not out.exists()
    airgaplab.provision("--version", transcript_var="MEND6_TRANSCRIPT")
    text = out.read_text()
    assert text.startswith("$ provision --version\n") and text.endswith("[rc 0]\n\n")


def test_registry_plays_are_yaml_with_the_extra_vars() -> None:
    extra = "    docker_registry_image_tar: /opt/x.tar\n"
    plays = yaml.safe_load(airgaplab.registry_plays("pw", "r:5000", "r:5000/i:2", "n", extra))
    assert [p["name"] for p in plays] == ["n", "Docker hosts trust and use it"]
    assert plays[0]["vars"] == {
        "docker_registry_users": [{"name": "alice", "password": "pw"}],
        "docker_registry_image_tar": "/opt/x.tar",
    }
    assert plays[1]["vars"]["docker_check_registry_image"] == "r:5000/i:2"
    assert plays[1]["vars"]["docker_registry_client_password"] == "pw"
