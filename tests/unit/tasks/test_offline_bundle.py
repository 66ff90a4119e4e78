"""`offline_bundle`: the controller's reading of a bundle, the pure plan, and the host's
install script run for real on this machine against a temporary folder (sha256sum, tar)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from tests.tools.offline_bundle import LAB_KEY, bundle_id, bundle_members, write_bundle

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
    parse_sums,
    read_bundle,
    safe_member,
)

DEST = "/var/lib/provision/offline"
RPM = "rpms/el9/x86_64/hello-1.0-1.el9.x86_64.rpm"
OTHER_KEY = Path(__file__).parents[1] / "facts" / "openpgp" / "ed25519.asc"


def make(args: dict[str, Any]) -> Any:
    cls = task_types()["offline_bundle"]
    location = Location("roles/offline_repo/tasks/main.yml", 3)
    params = cls.coerce(cls.parse(args, location), location)
    return cls(params, TaskContext(location, None, {}))


def state_with(current: str | None = None, manifest: str | None = None) -> HostState:
    return HostState({OfflineBundleFact(DEST): BundleState(current, manifest)})


# ------------------------------------------------------------------ member names

BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize(
    "name",
    ["rpms/el9/x86_64/a.rpm", "keys/docker.asc", "images/busybox_1.36.tar", "a+b~c^d@e=f%g,h:i"],
)
def test_safe_member_accepts(name: str) -> None:
    assert safe_member(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "../etc/passwd",
        "rpms/../../x",
        "rpms/./x",
        "rpms//x",
        "-rf",
        "rpms/-x.rpm",
        "a b.rpm",
        "a'b.rpm",
        'a"b.rpm',
        "a\\b",
        "a\x00b",
        "a\x1bb",
        "a\x7fb",
        "a$(id).rpm",
        "a;b",
        *[f"a{c}b" for c in BREAKS],
    ],
)
def test_safe_member_refuses(name: str) -> None:
    assert safe_member(name) is not None


# ------------------------------------------------------------------ SHA256SUMS

HEX = "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{HEX}  a.rpm\n", {"a.rpm": HEX}),
        (f"{HEX} *a.rpm\n", {"a.rpm": HEX}),
        (f"{HEX}  a.rpm\n{HEX}  b/c.rpm\n", {"a.rpm": HEX, "b/c.rpm": HEX}),
        ("", {}),
    ],
)
def test_parse_sums(text: str, expected: dict[str, str]) -> None:
    assert parse_sums(text.encode()) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{HEX}  a.rpm\r\n", "carriage return"),
        (f"{HEX.upper()}  a.rpm\n", "line 1"),
        (f"{HEX} a.rpm\n", "line 1"),
        (f"{HEX[:-1]}  a.rpm\n", "line 1"),
        (f"{HEX}  \n", "line 1"),
        (f"{HEX}  ../a.rpm\n", "line 1"),
        (f"{HEX}  /a.rpm\n", "line 1"),
        (f"{HEX}  a.rpm\n{HEX}  a.rpm\n", "listed twice"),
        *[(f"{HEX}  a{c}b.rpm\n", "line 1") for c in ["\v", "\f", "\x85", "\u2028", "\u2029"]],
    ],
)
def test_parse_sums_refuses(text: str, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        parse_sums(text.encode())


def test_parse_sums_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(BundleError, match="not UTF-8"):
        parse_sums(HEX.encode() + b"  \xff.rpm\n")


# ------------------------------------------------------------------ reading the bundle


def test_read_bundle(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    bundle = read_bundle(str(path))
    assert bundle.id == bundle_id(path)
    assert bundle.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert bundle.files == 3
    assert bundle.releases == (("el9", "x86_64", "rpms/el9/x86_64"),)
    assert bundle.keys == (("keys/docker.asc", "FB93DD323340E2138B02E8EB6374A1577B58CADC"),)


def _tar(path: Path, members: list[tuple[str, bytes | None, bytes]]) -> Path:
    """(name, data, type) members; type b'0' file, b'5' dir, b'2' symlink."""
    with tarfile.open(path, "w") as archive:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/shadow"
            info.size = len(data or b"")
            archive.addfile(info, io.BytesIO(data or b"") if data else None)
    return path


def _refused(path: Path, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        read_bundle(str(path))


def test_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "b.tar"
    path.write_bytes(b"hello" * 100)
    _refused(path, "not an uncompressed tar")


def test_compressed_tar_refused(tmp_path: Path) -> None:
    plain = write_bundle(tmp_path / "b.tar")
    gz = tmp_path / "b.tar.gz"
    with tarfile.open(plain) as src, tarfile.open(gz, "w:gz") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m))
    _refused(gz, "not an uncompressed tar")


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "absent.tar", "cannot read")


def test_manifest_must_come_first(tmp_path: Path) -> None:
    manifest, sums, _ = bundle_members({f"{RPM}": b"x"})
    path = _tar(tmp_path / "b.tar", [("SHA256SUMS", sums, b"0"), ("manifest.json", manifest, b"0")])
    _refused(path, "must start with manifest.json then SHA256SUMS")


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("../evil", tarfile.REGTYPE, "is an absolute or|empty, `.` or `..`"),
        ("/etc/evil", tarfile.REGTYPE, "absolute"),
        ("rpms/link", tarfile.SYMTYPE, "not a regular file"),
        ("rpms/hard", tarfile.LNKTYPE, "not a regular file"),
        ("rpms/fifo", tarfile.FIFOTYPE, "not a regular file"),
        ("rpms/a\nb", tarfile.REGTYPE, "characters other than"),
    ],
)
def test_unsafe_members_refused(tmp_path: Path, name: str, kind: bytes, message: str) -> None:
    manifest, sums, _ = bundle_members({})
    path = _tar(
        tmp_path / "b.tar",
        [
            ("manifest.json", manifest, tarfile.REGTYPE),
            ("SHA256SUMS", sums, tarfile.REGTYPE),
            (name, b"x" if kind == tarfile.REGTYPE else None, kind),
        ],
    )
    _refused(path, message)


def test_member_not_listed_refused(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar", extra={"rpms/el9/x86_64/sneaky.rpm": b"x"})
    _refused(path, "not listed: rpms/el9/x86_64/sneaky.rpm")


def test_listed_member_absent_refused(tmp_path: Path) -> None:
    manifest, sums, members = bundle_members({RPM: b"x", "rpms/el9/x86_64/repodata/r": b"r"})
    path = _tar(
        tmp_path / "b.tar",
        [("manifest.json", manifest, b"0"), ("SHA256SUMS", sums, b"0")]
        + [(n, d, b"0") for n, d in members.items() if n != RPM],
    )
    _refused(path, f"absent: {RPM}")


def without_sums_entry(manifest: bytes) -> bytes:
    """The manifest without its SHA256SUMS entry (which the reader checks first)."""
    data = json.loads(manifest)
    data["files"] = [e for e in data["files"] if e["path"] != "SHA256SUMS"]
    return json.dumps(data).encode()


def test_sums_and_manifest_disagree(tmp_path: Path) -> None:
    files = {RPM: b"x", "rpms/el9/x86_64/repodata/repomd.xml": b"r"}
    _, sums, _ = bundle_members(files, keys={})
    other_manifest, _, _ = bundle_members({**files, RPM: b"y"}, keys={})
    path = write_bundle(
        tmp_path / "b.tar", files, keys={}, manifest=without_sums_entry(other_manifest), sums=sums
    )
    _refused(path, f"{RPM}: SHA256SUMS and manifest.json disagree")


def test_sums_not_the_one_the_manifest_lists(tmp_path: Path) -> None:
    files = {RPM: b"x", "rpms/el9/x86_64/repodata/repomd.xml": b"r"}
    _, sums, _ = bundle_members(files, keys={})
    path = write_bundle(tmp_path / "b.tar", files, keys={}, sums=sums + b"# another comment\n")
    _refused(path, "SHA256SUMS: its SHA-256 is not the one manifest.json lists")


def test_comment_lines_in_sums_are_skipped() -> None:
    assert parse_sums(f"# manifest-core-sha256 {HEX}\n{HEX}  a.rpm\n".encode()) == {"a.rpm": HEX}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"format": "provision-bundle/2", "releases": [], "files": []}', "format is"),
        (b'{"format": "provision-bundle/1", "releases": {}, "files": []}', "`releases`"),
        (b'{"format": "provision-bundle/1", "releases": [], "files": "x"}', "`files`"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_bad_manifest(tmp_path: Path, manifest: bytes, message: str) -> None:
    path = write_bundle(tmp_path / "b.tar", {}, keys={}, manifest=manifest, sums=b"")
    _refused(path, message)


def test_release_without_repodata(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar", {RPM: b"x"}, keys={})
    _refused(path, "release el9: no dnf repository at rpms/el9/x86_64/")


def test_key_not_the_pinned_one(tmp_path: Path) -> None:
    files = {RPM: b"x", "rpms/el9/x86_64/repodata/repomd.xml": b"r"}
    good, _, _ = bundle_members(files, keys={"keys/docker.asc": LAB_KEY.read_bytes()})
    _, sums, _ = bundle_members(files, keys={"keys/docker.asc": OTHER_KEY.read_bytes()})
    # the manifest pins the lab key; the file holds another key (digests made to agree)
    data = json.loads(without_sums_entry(good))
    for entry in data["files"]:
        if entry["path"] == "keys/docker.asc":
            entry["sha256"] = hashlib.sha256(OTHER_KEY.read_bytes()).hexdigest()
    path = write_bundle(
        tmp_path / "b.tar",
        files,
        keys={"keys/docker.asc": OTHER_KEY.read_bytes()},
        manifest=json.dumps(data).encode(),
        sums=sums,
    )
    _refused(path, "holds EA9CA9B3.*not the pinned FB93DD32")


def test_key_not_a_key(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar", keys={"keys/x.asc": b"hello"})
    _refused(path, "gpg key keys/x.asc: not an OpenPGP packet")


# ------------------------------------------------------------------ the task: validate, plan


def test_input_error_names_the_bundle_and_the_problem(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar", extra={"rpms/x.rpm": b"x"})
    with pytest.raises(InputError) as exc:
        make({"src": str(path)})
    assert "b.tar" in str(exc.value) and "not listed: rpms/x.rpm" in str(exc.value)
    assert "main.yml" in str(exc.value)


def test_pinned_fingerprint_required(tmp_path: Path) -> None:
    path = write_bundle(tmp_path / "b.tar")
    make({"src": str(path), "fingerprints": ["FB93 DD32 3340 E213 8B02  E8EB 6374 A157 7B58 CADC"]})
    with pytest.raises(InputError, match="no key with the pinned fingerprint EA9CA9B3"):
        make({"src": str(path), "fingerprints": ["EA9CA9B3EFD92D70097D901FB4D29E47D916B83A"]})


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
    write_bundle(path, {RPM: b"v2", "rpms/el9/x86_64/repodata/repomd.xml": b"r2"})
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
    ident = bundle_id(bundle)
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
        files = {RPM: f"v{n}".encode(), "rpms/el9/x86_64/repodata/repomd.xml": b"r"}
        bundle = write_bundle(tmp_path / f"b{n}.tar", files)
        assert run_install(bundle, dest, staging).returncode == 0
        ids.append(bundle_id(bundle))
    assert sorted(p.name for p in dest.iterdir()) == sorted([ids[1], ids[2], "current"])
    assert os.readlink(dest / "current") == ids[2]


def test_one_byte_changed_is_refused_naming_the_member(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    dest, staging = dirs
    good = write_bundle(tmp_path / "good.tar")
    assert run_install(good, dest, staging).returncode == 0
    bad = write_bundle(tmp_path / "bad.tar", tamper={RPM: b"rpm bytez\n"})
    done = run_install(bad, dest, staging)
    assert done.returncode == 1
    assert f"offline bundle bad.tar refused: SHA-256 differs for: {RPM}" in done.stderr
    assert os.readlink(dest / "current") == bundle_id(good)  # the old one stays in use
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
