"""`offline_bundle`: the controller's reading of a bundle, the pure plan, and the host's
install script run for real on this machine against a temporary folder (sha256sum, tar)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from provision.bundle.testing import bundle_id_of, make_bundle_of_bytes
from provision.errors import InputError, Location
from provision.execution.connection import Result
from provision.execution.upload import Progress, Upload
from provision.planning.model import Change, HostState, NoOp
from provision.tasks.base import TaskContext, task_types
from provision.tasks.offline_bundle import (
    KEYRING,
    BundleError,
    BundleState,
    OfflineBundleFact,
    install_script,
    plain_path_problem,
    read_bundle,
)

DEST = "/var/lib/provision/offline"
RPM_NAME = "hello-1.0-1.el9.x86_64.rpm"
RPM = f"rpms/el9/x86_64/{RPM_NAME}"
KEYS = Path(__file__).parents[1] / "facts" / "openpgp"
LAB_KEY = KEYS / "lab-docker.asc"
LAB_FP = "FB93DD323340E2138B02E8EB6374A1577B58CADC"
OTHER_FP = "EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"
BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]


def write_bundle(
    path: Path, rpm: bytes = b"rpm bytes\n", keys: tuple[Path, ...] = (LAB_KEY,)
) -> Path:
    """A bundle as `provision bundle create` writes it (provision.bundle.testing)."""
    return make_bundle_of_bytes(
        path.parent, {RPM_NAME: rpm}, keys=keys, name=path.name, createrepo=False
    )


def one_byte_changed(bundle: Path, target: Path, member: str) -> Path:
    data = bytearray(bundle.read_bytes())
    with tarfile.open(bundle) as archive:
        info = archive.getmember(member)
    data[info.offset_data + info.size // 2] ^= 1
    target.write_bytes(bytes(data))
    return target


def make(args: dict[str, Any]) -> Any:
    cls = task_types()["offline_bundle"]
    location = Location("roles/offline_repo/tasks/main.yml", 3)
    params = cls.coerce(cls.parse(args, location), location)
    return cls(params, TaskContext(location, None, {}))


def state_with(current: str | None = None, manifest: str | None = None) -> HostState:
    return HostState({OfflineBundleFact(DEST): BundleState(current, manifest)})


# ------------------------------------------------------------------ reading: the format's reader


def test_read_bundle(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    bundle = read_bundle(str(path))
    assert bundle.id == bundle_id_of(path)
    assert bundle.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert bundle.files == 3  # the RPM, repomd.xml, the key (SHA256SUMS lists these)
    assert bundle.releases == (("el9", "x86_64", "rpms/el9/x86_64"),)
    assert bundle.keys == (("keys/lab-docker.asc", LAB_FP),)


def test_the_task_has_no_reader_of_its_own() -> None:
    """One reader of the format: the task calls provision.bundle.verify (no twin)."""
    import provision.tasks.offline_bundle as module

    for twin in ("safe_member", "parse_sums", "_manifest", "_entries", "_read_member"):
        assert not hasattr(module, twin), twin
    assert BundleError.__module__ == "provision.bundle.format"


@pytest.mark.parametrize("member", [RPM, "rpms/el9/x86_64/repodata/repomd.xml", "SHA256SUMS"])
def test_one_byte_changed_is_refused_on_the_controller_naming_file_and_member(
    tmp_path: Path, member: str
) -> None:
    bad = one_byte_changed(write_bundle(tmp_path / "b.tar"), tmp_path / "bad.tar", member)
    with pytest.raises(InputError) as exc:
        make({"src": str(bad)})
    message = str(exc.value)
    assert f"bundle {bad}: member {member}: sha256 mismatch" in message
    assert "main.yml" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "expected a tar file, found 0 bytes"),
        (b"hello" * 400, "damaged tar header"),
        (gzip.compress(b"x" * 4000), "expected an uncompressed tar, found gzip data"),
    ],
)
def test_not_a_bundle_is_refused(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "b.tar"
    path.write_bytes(data)
    with pytest.raises(InputError, match=expected):
        make({"src": str(path)})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        make({"src": str(tmp_path / "absent.tar")})


def test_a_symlink_member_is_refused(tmp_path: Path) -> None:
    """The stricter reader: a link where a member should be (the old twin skipped some)."""
    good = write_bundle(tmp_path / "b.tar")
    data = bytearray(good.read_bytes())
    with tarfile.open(good) as archive:
        info = archive.getmember(RPM)
    header = bytearray(data[info.offset : info.offset + 512])
    header[156:157] = b"2"  # typeflag: symbolic link
    header[148:156] = b"        "
    header[148:155] = f"{sum(header):06o}\0".encode()
    data[info.offset : info.offset + 512] = header
    bad = tmp_path / "link.tar"
    bad.write_bytes(bytes(data))
    expected = f"member {RPM}: expected a regular file, found a symbolic link"
    with pytest.raises(InputError, match=expected):
        make({"src": str(bad)})


@pytest.mark.parametrize("char", [*BREAKS, "\x1b[2J", "\x01", "\x7f", "\u202e", "\u200b"])
@pytest.mark.parametrize("exists", [True, False])
def test_a_bundle_path_is_shown_escaped(tmp_path: Path, char: str, exists: bool) -> None:
    target = tmp_path / f"a{char}b.tar" if exists else tmp_path / "absent" / f"x{char}.tar"
    if exists:
        target.write_bytes(b"hello" * 400)
    with pytest.raises(InputError) as exc:
        make({"src": str(target)})
    message = str(exc.value)
    assert char not in message, message
    assert repr(str(target)) in message, message


def test_a_bundle_file_name_cannot_reach_the_shell(tmp_path: Path) -> None:
    """The file name is shown in the host script's messages: quoted, never run (a member
    changed on the host makes the script reach its last message)."""
    path = write_bundle(tmp_path / "x$(touch pwned)`touch pwned2`\"';.tar")
    task = make({"src": str(path)})
    bad = one_byte_changed(path, tmp_path / "bad.tar", RPM)
    bundle = dataclasses.replace(task.bundle, sha256=hashlib.sha256(bad.read_bytes()).hexdigest())
    dest, staging = tmp_path / "dest", tmp_path / "staging"
    staging.mkdir()
    staged = staging / "copy.tar"
    staged.write_bytes(bad.read_bytes())
    done = subprocess.run(
        ["sh", "-c", install_script(bundle, str(dest), str(staged))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert f"""refused: SHA-256 differs for: {RPM}""" in done.stderr
    assert "x$(touch pwned)`touch pwned2`" in done.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


@pytest.mark.parametrize(
    "path", ["/var/lib/provision/offline", "/srv/a+b~c^d@e=f%g,h:i", "/var/tmp"]
)
def test_plain_host_paths(path: str) -> None:
    assert plain_path_problem(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "relative/dir",
        "/a/../b",
        "/a//b",
        "/a/./b",
        "/a/-rf",
        "/a b",
        "/a'b",
        "/a$(id)",
        "/a;b",
        "/a\\b",
        "/a\x00b",
        "/a\x1bb",
        *[f"/a{c}b" for c in BREAKS],
    ],
)
def test_unplain_host_paths(path: str, tmp_path: Path) -> None:
    assert plain_path_problem(path) is not None
    with pytest.raises(InputError, match="`dest` must be an absolute path"):
        make({"src": str(write_bundle(tmp_path / "b.tar")), "dest": path})


# ------------------------------------------------------------------ the task: validate, plan


def test_pinned_fingerprint_required(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    make({"src": str(path), "fingerprints": ["FB93 DD32 3340 E213 8B02  E8EB 6374 A157 7B58 CADC"]})
    with pytest.raises(InputError, match=f"no key with the pinned fingerprint {OTHER_FP}"):
        make({"src": str(path), "fingerprints": [OTHER_FP]})


def test_plan_fresh_host_sends_the_bundle(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    task = make({"src": str(path)})
    state = state_with()
    outcome = task.plan(state)
    assert isinstance(outcome, Change)
    assert "none there" in outcome.summary[0]
    (command,) = outcome.commands
    assert command.upload == Upload(
        str(path), f"/var/tmp/.provision-bundle-{task.bundle.id[:16]}.tar", path.stat().st_size
    )
    assert command.progress
    assert isinstance(task.plan(state), NoOp)  # the state after it: idempotent


def test_plan_current_bundle_is_a_noop(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    task = make({"src": str(path)})
    outcome = task.plan(state_with(task.bundle.id, task.bundle.id))
    assert isinstance(outcome, NoOp)
    assert task.bundle.id[:12] in outcome.reason


@pytest.mark.parametrize(
    ("current", "manifest", "why"),
    [
        ("0" * 64, "0" * 64, "current: 000000000000"),
        ("SAME", "1" * 64, "no longer matches"),
        ("SAME", None, "no longer matches"),
    ],
)
def test_plan_other_or_damaged_bundle_sends_again(
    tmp_path: Path, current: str, manifest: str | None, why: str
) -> None:
    path = write_bundle(tmp_path / "b.tar")
    task = make({"src": str(path)})
    current = task.bundle.id if current == "SAME" else current
    outcome = task.plan(state_with(current, manifest))
    assert isinstance(outcome, Change)
    assert why in outcome.summary[0]


def test_a_changed_bundle_file_is_read_again(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    first = make({"src": str(path)}).bundle.id
    write_bundle(path, rpm=b"v2")
    os.utime(path, ns=(1, 1))
    assert make({"src": str(path)}).bundle.id != first


# ------------------------------------------------------------------ the host's script, for real


def run_install(bundle: Path, dest: Path, staging: Path) -> subprocess.CompletedProcess:
    task = make({"src": str(bundle), "dest": str(dest), "staging": str(staging)})
    staged = staging / f".provision-bundle-{task.bundle.id[:16]}.tar"
    staged.write_bytes(bundle.read_bytes())
    script = install_script(task.bundle, str(dest), str(staged))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    dest, staging = tmp_path / "dest", tmp_path / "staging"
    staging.mkdir()
    return dest, staging


def test_install_script_unpacks_verifies_and_points_current(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    dest, staging = dirs
    bundle = write_bundle(tmp_path / "b.tar")
    done = run_install(bundle, dest, staging)
    assert done.returncode == 0, done.stderr
    ident = bundle_id_of(bundle)
    assert os.readlink(dest / "current") == ident
    assert (dest / "current" / RPM).read_bytes() == b"rpm bytes\n"
    assert (dest / "current" / KEYRING).read_bytes() == LAB_KEY.read_bytes()
    assert list(staging.iterdir()) == []  # the copy in transit is removed
    assert not list(dest.glob(".incoming.*"))
    fact = OfflineBundleFact(str(dest))
    probed = subprocess.run(["sh", "-c", fact.command()], capture_output=True)
    assert fact.parse(probed.returncode, probed.stdout, probed.stderr).verified_id == ident


def test_install_script_keeps_one_previous_bundle(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    ids = []
    for n in range(3):
        bundle = write_bundle(tmp_path / f"b{n}.tar", rpm=f"v{n}".encode())
        assert run_install(bundle, dest, staging).returncode == 0
        ids.append(bundle_id_of(bundle))
    assert sorted(p.name for p in dest.iterdir()) == sorted([ids[1], ids[2], "current"])
    assert os.readlink(dest / "current") == ids[2]


def test_one_byte_changed_on_the_host_is_refused_naming_the_member(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    """The controller refuses a changed bundle first (above); the host checks again, after
    the copy: a member changed there (the copy's hash made to agree) is named."""
    dest, staging = dirs
    good = write_bundle(tmp_path / "good.tar")
    assert run_install(good, dest, staging).returncode == 0
    task = make({"src": str(good), "dest": str(dest), "staging": str(staging)})
    bad = one_byte_changed(good, tmp_path / "bad.tar", RPM)
    bundle = dataclasses.replace(
        task.bundle, path=str(bad), sha256=hashlib.sha256(bad.read_bytes()).hexdigest()
    )
    staged = staging / "copy.tar"
    staged.write_bytes(bad.read_bytes())
    done = subprocess.run(
        ["sh", "-c", install_script(bundle, str(dest), str(staged))],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert f"offline bundle bad.tar refused: SHA-256 differs for: {RPM}" in done.stderr
    assert os.readlink(dest / "current") == bundle_id_of(good)  # the old one stays in use
    assert not list(dest.glob(".incoming.*"))
    assert list(staging.iterdir()) == []


def test_transfer_damage_is_refused(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    bundle = write_bundle(tmp_path / "b.tar")
    task = make({"src": str(bundle), "dest": str(dest), "staging": str(staging)})
    staged = staging / "copy.tar"
    data = bytearray(bundle.read_bytes())
    data[-2000] ^= 1
    staged.write_bytes(bytes(data))
    done = subprocess.run(
        ["sh", "-c", install_script(task.bundle, str(dest), str(staged))],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "differs from b.tar (transfer damaged)" in done.stderr
    assert not (dest / "current").exists()


def test_missing_copy_is_refused(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    dest, staging = dirs
    task = make({"src": str(write_bundle(tmp_path / "b.tar"))})
    done = subprocess.run(
        ["sh", "-c", install_script(task.bundle, str(dest), str(staging / "gone.tar"))],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "is missing" in done.stderr


# ------------------------------------------------------------------ the upload


class ShellConnection:
    """Runs scripts here (no SFTP): the chunked fallback."""

    def __init__(self) -> None:
        self.scripts: list[str] = []

    def run(self, script: str, stdin: bytes | None = None, become: bool = False) -> Result:
        self.scripts.append(script)
        done = subprocess.run(["sh", "-c", script], input=stdin or b"", capture_output=True)
        return Result(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("size", [0, 1, 5, 16 * 1024 * 1024, 16 * 1024 * 1024 + 3])
def test_chunked_upload(tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("provision.execution.upload.FALLBACK_CHUNK_BYTES", 4 * 1024 * 1024)
    local = tmp_path / "in.bin"
    local.write_bytes(os.urandom(size))
    remote = tmp_path / "out dir" / "o'ut.bin"
    remote.parent.mkdir()
    lines: list[str] = []
    conn = ShellConnection()
    result = Upload(str(local), str(remote), size).send(conn, lines.append)
    assert result.rc == 0
    assert remote.read_bytes() == local.read_bytes()
    assert oct(remote.stat().st_mode & 0o777) == "0o600"
    assert lines[-1].startswith(f"sent {size / 1048576:.1f} MiB of") and "(100%)" in lines[-1]


def test_upload_refuses_a_file_that_changed(tmp_path: Path) -> None:
    local = tmp_path / "in.bin"
    local.write_bytes(b"abc")
    result = Upload(str(local), str(tmp_path / "o"), 2).send(ShellConnection())
    assert result.rc == 1 and b"changed during the run" in result.stderr


def test_progress_lines_every_tenth() -> None:
    lines: list[str] = []
    progress = Progress("b.tar", 100, lines.append)
    for sent in range(1, 101):
        progress.update(sent)
    assert len(lines) == 10
    assert lines[0].endswith("(10%) of b.tar") and lines[-1].endswith("(100%) of b.tar")
