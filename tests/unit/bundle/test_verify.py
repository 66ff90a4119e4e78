"""`bundle verify`: a good bundle passes; every kind of hostile or damaged tar is refused
with a message naming the bundle and the member; a one-byte change anywhere is caught."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from provision.bundle.format import BundleError, GpgKey, Release
from provision.bundle.testing import make_bundle
from provision.bundle.verify import BundleInvalid, verify_bundle, verify_stream
from provision.bundle.writer import Member, write_bundle

from .helpers import (
    ED25519,
    ED25519_FP,
    KEYS,
    Entry,
    assemble,
    entries_of,
    rewrite_manifest,
    small_bundle,
)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_bundle(tmp_path_factory.mktemp("bundle"))


def check(data: bytes, name: str = "B") -> None:
    verify_stream(io.BytesIO(data), name, len(data))


def refused(data: bytes) -> str:
    with pytest.raises(BundleError) as caught:
        check(data)
    return str(caught.value)


def test_good_bundle_verifies(good: Path) -> None:
    verified = verify_bundle(good)
    assert verified.members[:2] == ["manifest.json", "SHA256SUMS"]
    assert len(verified.members) == len(verified.manifest.files) + 1
    assert len(verified.id) == 64
    assert verified.size == good.stat().st_size


def test_real_createrepo_bundle_verifies(tmp_path: Path) -> None:
    if not __import__("shutil").which("createrepo_c"):
        pytest.skip("createrepo_c is not installed")
    bundle = small_bundle(tmp_path, createrepo=True)
    names = verify_bundle(bundle).members
    assert "rpms/el9/x86_64/repodata/repomd.xml" in names
    assert any(n.endswith("primary.xml.gz") or n.endswith("primary.xml.zst") for n in names)


def test_gnu_tar_lists_and_sha256sum_checks_it(good: Path, tmp_path: Path) -> None:
    """The bundle is a plain tar, and SHA256SUMS works with `sha256sum -c --strict`."""
    import subprocess

    with tarfile.open(good) as archive:
        archive.extractall(tmp_path / "x", filter="data")
    proc = subprocess.run(
        ["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"],
        cwd=tmp_path / "x",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _flip_positions(size: int) -> list[int]:
    return sorted(set(range(0, 1536)) | set(range(0, size, 7)))


def test_one_byte_change_anywhere_is_caught(good: Path) -> None:
    data = good.read_bytes()
    missed = []
    for position in _flip_positions(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        try:
            check(bytes(changed))
        except BundleError:
            continue
        missed.append(position)
    assert missed == []


@pytest.mark.parametrize("member_index", [2, 3, 4, 5, 6])
def test_changed_member_is_named(good: Path, member_index: int) -> None:
    entries = entries_of(good)
    target = entries[member_index]
    target.data = bytes([target.data[0] ^ 0x20]) + target.data[1:]
    text = refused(assemble(entries))
    assert f"bundle B: member {target.name}: sha256 mismatch" in text


def test_all_mismatches_are_listed(good: Path) -> None:
    entries = entries_of(good)
    for entry in entries[2:5]:
        entry.data = entry.data[:-1] + bytes([entry.data[-1] ^ 1])
    with pytest.raises(BundleInvalid) as caught:
        check(assemble(entries))
    assert len(caught.value.problems) == 3
    assert all("sha256 mismatch" in p for p in caught.value.problems)


def test_verify_bundle_names_the_file(good: Path, tmp_path: Path) -> None:
    data = bytearray(good.read_bytes())
    data[-2000] ^= 0x10  # inside the last member (the image)
    bad = tmp_path / "corrupt.tar"
    bad.write_bytes(bytes(data))
    with pytest.raises(BundleError) as caught:
        verify_bundle(bad)
    assert f"bundle {bad}: member images/registry_2.tar: sha256 mismatch" in str(caught.value)


def _insert(entry: Entry, at: int = 2) -> Callable[[list[Entry]], None]:
    def edit(entries: list[Entry]) -> None:
        entries.insert(at, entry)

    return edit


def _append(entry: Entry) -> Callable[[list[Entry]], None]:
    return lambda entries: entries.append(entry)


HOSTILE_MEMBERS = [
    (Entry("rpms/el9/x86_64/x.rpm", b"", tarfile.SYMTYPE, linkname="/etc/shadow"), "symbolic"),
    (Entry("rpms/el9/x86_64/x.rpm", b"", tarfile.LNKTYPE, linkname="/etc/shadow"), "hard link"),
    (Entry("keys/dev.asc", b"", tarfile.CHRTYPE), "character device"),
    (Entry("keys/blk.asc", b"", tarfile.BLKTYPE), "block device"),
    (Entry("keys/fifo.asc", b"", tarfile.FIFOTYPE), "FIFO"),
    (Entry("rpms/el9/x86_64", b"", tarfile.DIRTYPE), "a directory"),
    (Entry("rpms/el9/x86_64/old.rpm", b"data", tarfile.AREGTYPE), "old style"),
    (Entry("rpms/el9/x86_64/c.rpm", b"data", tarfile.CONTTYPE), "contiguous"),
    (Entry("/etc/cron.d/evil", b"* * * * * root sh\n"), "absolute path"),
    (Entry("../evil.rpm", b"x"), "'..' components"),
    (Entry("rpms/el9/../../../../evil", b"x"), "'..' components"),
    (Entry("rpms/el9/x86_64/./a.rpm", b"x"), "'.'"),
    (Entry("rpms//el9/a.rpm", b"x"), "empty"),
    (Entry("rpms/el9/x86_64/-rf.rpm", b"x"), "starting with '-'"),
    (Entry("-evil", b"x"), "starting with '-'"),
    (Entry("rpms/el9/x86_64/a\nb.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\rb.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\x0bb.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\x0cb.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\x85b.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\u2028b.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\u2029b.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\x1bb.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a b.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a\\..\\b.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/$(reboot).rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/a'b.rpm", b"x"), "letters, digits"),
    (Entry("rpms/el9/x86_64/extra.rpm", b"x"), "only members the manifest lists"),
    (Entry("keys/extra.asc", b"x"), "only members the manifest lists"),
    (Entry("x" * 99 + "/" + "y" * 99, b"x", fmt=tarfile.PAX_FORMAT), "pax extended header"),
    (Entry("a" * 300, b"x", fmt=tarfile.GNU_FORMAT), "GNU long name"),
    (Entry("rpms/el9/x86_64/n.rpm", b"x", mode=0o4755), "canonical tar header"),
    (Entry("rpms/el9/x86_64/n.rpm", b"x", uid=1000), "canonical tar header"),
    (Entry("rpms/el9/x86_64/n.rpm", b"x", uname="root"), "canonical tar header"),
    (Entry("rpms/el9/x86_64/n.rpm", b"x", mtime=0), "canonical tar header"),
]


@pytest.mark.parametrize("hostile,expected", HOSTILE_MEMBERS)
@pytest.mark.parametrize("where", ["after the sums", "at the end"])
def test_hostile_member_is_refused(good: Path, hostile: Entry, expected: str, where: str) -> None:
    entries = entries_of(good)
    edit = _insert(hostile) if where == "after the sums" else _append(hostile)
    edit(entries)
    text = refused(assemble(entries))
    assert text.startswith("bundle B: "), text
    assert expected in text, text


@pytest.mark.parametrize(
    "hostile,expected",
    [
        (Entry("manifest.json", b"{}", tarfile.SYMTYPE, linkname="x"), "symbolic link"),
        (Entry("../manifest.json", b"{}"), "'..'"),
        (Entry("SHA256SUMS", b""), "expected manifest.json as the first member"),
        (Entry("keys/ed25519.asc", b""), "expected manifest.json as the first member"),
    ],
)
def test_hostile_first_member(good: Path, hostile: Entry, expected: str) -> None:
    entries = entries_of(good)
    entries[0] = hostile
    assert expected in refused(assemble(entries))


def test_symlink_in_place_of_a_listed_member(good: Path) -> None:
    entries = entries_of(good)
    entries[3] = Entry(entries[3].name, b"", tarfile.SYMTYPE, linkname="/etc/passwd")
    assert f"member {entries[3].name}: expected a regular file, found a symbolic link" in refused(
        assemble(entries)
    )


def test_sums_not_second(good: Path) -> None:
    entries = entries_of(good)
    entries[1], entries[2] = entries[2], entries[1]
    assert "expected SHA256SUMS here" in refused(assemble(entries))


def test_duplicate_member(good: Path) -> None:
    entries = entries_of(good)
    entries.append(Entry(entries[3].name, entries[3].data))
    assert f"member {entries[3].name}: expected each member once" in refused(assemble(entries))


def test_duplicate_manifest(good: Path) -> None:
    entries = entries_of(good)
    entries.append(Entry("manifest.json", entries[0].data))
    assert "member manifest.json: expected each member once" in refused(assemble(entries))


def test_missing_member(good: Path) -> None:
    entries = entries_of(good)
    gone = entries.pop(4)
    assert f"member {gone.name}: listed in the manifest, missing" in refused(assemble(entries))


def test_size_mismatch(good: Path) -> None:
    entries = entries_of(good)
    entries[2].data += b"more"
    assert f"member {entries[2].name}: size mismatch" in refused(assemble(entries))


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"", "expected a tar file, found 0 bytes"),
        (b"\0" * 512, "expected a tar file"),
        (b"\0" * 10240, "found an empty tar"),
        (b"hello world" * 200, "damaged tar header at byte 0"),
        (gzip.compress(b"x" * 2000), "expected an uncompressed tar, found gzip data"),
        (b"BZh91AY&SY" + b"\0" * 2000, "found bzip2 data"),
        (b"\xfd7zXZ\0" + b"\0" * 2000, "found xz data"),
        (b"\x28\xb5\x2f\xfd" + b"\0" * 2000, "found zstd data"),
    ],
)
def test_not_a_bundle(data: bytes, expected: str) -> None:
    assert expected in refused(data)


def test_gzipped_bundle(good: Path) -> None:
    assert "found gzip data" in refused(gzip.compress(good.read_bytes()))


@pytest.mark.parametrize("cut", [100, 512, 700, 3000, -1100, -1024, -600, -1])
def test_truncated(good: Path, cut: int) -> None:
    data = good.read_bytes()
    text = refused(data[:cut])
    assert "truncated" in text or "end with zero blocks" in text or "expected a tar" in text


@pytest.mark.parametrize(
    "tail",
    [b"x", b"\0" * 511 + b"x", b"\0" * 512 + b"extra data" + b"\0" * 502, b"\0" * 100],
)
def test_trailing_data(good: Path, tail: bytes) -> None:
    text = refused(good.read_bytes() + tail)
    assert "end with zero blocks" in text


def test_only_one_end_block(good: Path) -> None:
    entries = entries_of(good)
    assert "end with zero blocks" in refused(assemble(entries, end=b"\0" * 512))


def test_nonzero_padding(good: Path) -> None:
    entries = entries_of(good)
    data = bytearray(assemble(entries))
    # the first member's data ends before a block boundary: poke its padding
    size = len(entries[0].data)
    assert size % 512
    data[512 + size] = 0x41
    assert "member manifest.json: expected zero bytes after its data" in refused(bytes(data))


def test_reformatted_manifest(good: Path) -> None:
    import json

    entries = entries_of(good)
    entries[0].data = json.dumps(json.loads(entries[0].data)).encode()
    assert "canonical JSON" in refused(assemble(entries))


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda d: d.update(format="provision-bundle/2"), "format: expected"),
        (lambda d: d.pop("files"), "expected the field(s) files"),
        (lambda d: d.update(created="yesterday"), "created: expected an ISO-8601"),
        (lambda d: d.update(created="2026-02-30T00:00:00Z"), "real UTC date"),
        (lambda d: d.update(created="9999-01-01T00:00:00Z"), "from 1970 to 2242"),
        (lambda d: d["files"][2].update(path="../../etc/passwd"), "'..' components"),
        (lambda d: d["files"][2].update(path="/etc/passwd"), "absolute path"),
        (lambda d: d["files"][2].update(path="rpms/el9/x86_64/a\nb.rpm"), "letters, digits"),
        (lambda d: d["files"][2].update(path="rpms/el8/x86_64/a.rpm"), "no place for any"),
        (lambda d: d["files"][2].update(kind="image"), "expected kind 'image'"),
        (lambda d: d["files"][2].update(kind="exe"), "expected one of rpm"),
        (lambda d: d["files"][2].update(size=-1), "expected a byte count"),
        (lambda d: d["files"][2].update(size=True), "expected a byte count"),
        (lambda d: d["files"][2].update(size="12"), "expected a byte count"),
        (lambda d: d["files"][2].update(sha256="A" * 64), "64 lower-case hex"),
        (lambda d: d["files"][2].update(name="-x"), "files[2].name"),
        (lambda d: d["files"][2].update(version="1 2"), "files[2].version"),
        (lambda d: d["files"][2].update(source="javascript:x"), "http(s) or file URL"),
        (lambda d: d["files"][2].update(source="http://a/\nb"), "http(s) or file URL"),
        (lambda d: d["files"].append(dict(d["files"][2])), "twice"),
        (lambda d: d["releases"][0].update(repo_path="rpms/../x"), "expected 'rpms/el9/x86_64'"),
        (lambda d: d["releases"][0].update(arch="i386"), "expected one of x86_64"),
        (lambda d: d["releases"][0].update(release="fc40"), "a release such as 'el9'"),
        (lambda d: d["releases"].append(dict(d["releases"][0])), "once, found one twice"),
        (lambda d: d["gpg_keys"][0].update(fingerprint="D916B83A"), "40 (or 64)"),
        (lambda d: d["gpg_keys"][0].update(path="images/registry_2.tar"), "of kind 'key'"),
        (lambda d: d["gpg_keys"].clear(), "kind 'key' that gpg_keys does not list"),
        (lambda d: d["images"][0].update(ref="-e x"), "an image reference"),
        (lambda d: d["images"][0].update(ref="a\nb"), "an image reference"),
        (lambda d: d["images"][0].update(id="md5:x"), "'sha256:'"),
        (lambda d: d["images"].clear(), "kind 'image' that images does not list"),
        (lambda d: d.update(files=[f for f in d["files"] if f["kind"] != "sums"]), "'sums'"),
        (
            lambda d: d.update(files=[f for f in d["files"] if not f["path"].endswith("md.xml")]),
            "repomd.xml (the release has RPMs), missing",
        ),
    ],
)
def test_bad_manifest_field(good: Path, change: Callable[[dict], None], expected: str) -> None:
    entries = entries_of(good)
    rewrite_manifest(entries, change)
    text = refused(assemble(entries))
    assert text.startswith("bundle B: member manifest.json: "), text
    assert expected in text, text


def test_manifest_change_caught_by_core_digest(good: Path) -> None:
    """A changed source URL (valid, canonical JSON) is caught through SHA256SUMS's line 1."""
    import json

    from provision.bundle.format import canonical_json

    entries = entries_of(good)
    data = json.loads(entries[0].data)
    data["gpg_keys"][0]["source"] = "https://evil.example/gpg"
    entries[0].data = canonical_json(data)
    assert "member manifest.json: sha256 mismatch: its digest in SHA256SUMS" in refused(
        assemble(entries)
    )


@pytest.mark.parametrize(
    "sums,expected",
    [
        (lambda t: t.replace("  ", " ", 2), "line 2: expected '<64 hex>  <path>'"),
        (lambda t: t.rstrip("\n"), "the last one has none"),
        (lambda t: "\n".join(t.splitlines()[1:]) + "\n", "line 1: expected '# manifest-core"),
        (lambda t: t + t.splitlines()[1] + "\n", "is listed twice"),
        (lambda t: t + "0" * 64 + "  keys/new.asc\n", "lists keys/new.asc"),
        (lambda t: "\n".join(t.splitlines()[:-1]) + "\n", "does not list"),
        (lambda t: t + "0" * 64 + "  ../x\n", "line"),
        (lambda t: t.replace("\n", "\r\n"), "expected"),
    ],
)
def test_bad_sums(good: Path, sums: Callable[[str], str], expected: str) -> None:
    """SHA256SUMS changed, and the manifest's hash of it updated: the content is judged."""
    import hashlib
    import json

    from provision.bundle.format import canonical_json

    entries = entries_of(good)
    entries[1].data = sums(entries[1].data.decode()).encode()
    data = json.loads(entries[0].data)
    for item in data["files"]:
        if item["kind"] == "sums":
            item["sha256"] = hashlib.sha256(entries[1].data).hexdigest()
            item["size"] = len(entries[1].data)
    entries[0].data = canonical_json(data)
    assert expected in refused(assemble(entries))


def test_sums_hash_differs_from_manifest(good: Path) -> None:
    entries = entries_of(good)
    digest = entries[1].data.decode().splitlines()[2].split()[0]
    entries[1].data = entries[1].data.replace(digest.encode(), b"0" * 64)
    text = refused(assemble(entries))
    assert "member SHA256SUMS: sha256 mismatch" in text
    assert "sha256 mismatch between the manifest and SHA256SUMS" in text


def _bundle_with_key(tmp_path: Path, key: Path, fingerprint: str) -> Path:
    members = [Member("keys/k.asc", "key", local=key)]
    return write_bundle(
        tmp_path / "k.tar",
        members,
        [],
        [GpgKey("keys/k.asc", fingerprint, "")],
        [],
        "2026-01-31T12:00:00Z",
    ) and (tmp_path / "k.tar")


def test_key_fingerprint_rechecked(tmp_path: Path) -> None:
    bundle = _bundle_with_key(tmp_path, ED25519, "0" * 40)
    with pytest.raises(BundleError) as caught:
        verify_bundle(bundle)
    assert f"member keys/k.asc: expected exactly the key {'0' * 40}, found {ED25519_FP}" in str(
        caught.value
    )


def test_key_file_with_two_keys_refused(tmp_path: Path) -> None:
    bundle = _bundle_with_key(tmp_path, KEYS / "two-keys.asc", ED25519_FP)
    with pytest.raises(BundleError) as caught:
        verify_bundle(bundle)
    assert "expected exactly the key" in str(caught.value)


def test_key_not_a_key(tmp_path: Path) -> None:
    junk = tmp_path / "junk.asc"
    junk.write_text("not a key\n")
    bundle = _bundle_with_key(tmp_path, junk, ED25519_FP)
    with pytest.raises(BundleError) as caught:
        verify_bundle(bundle)
    assert "member keys/k.asc: expected an OpenPGP public key" in str(caught.value)


def test_key_good(tmp_path: Path) -> None:
    assert verify_bundle(_bundle_with_key(tmp_path, ED25519, ED25519_FP)).manifest.gpg_keys


def test_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError) as caught:
        verify_bundle(tmp_path)
    assert "cannot be read" in str(caught.value)
    with pytest.raises(BundleError) as caught:
        verify_bundle(tmp_path / "nope.tar")
    assert f"bundle {tmp_path / 'nope.tar'}: cannot be read" in str(caught.value)


def test_images_only_bundle(tmp_path: Path) -> None:
    image = tmp_path / "i.tar"
    image.write_bytes(b"x")
    bundle = make_bundle(tmp_path, images=[("busybox:latest", image)])
    verified = verify_bundle(bundle)
    assert verified.manifest.releases == []
    assert verified.manifest.images[0].path == "images/busybox_latest.tar"


def test_two_releases(tmp_path: Path) -> None:
    rpm9 = tmp_path / "a-1-1.el9.x86_64.rpm"
    rpm8 = tmp_path / "a-1-1.el8.x86_64.rpm"
    rpm9.write_bytes(b"9")
    rpm8.write_bytes(b"8")
    bundle = make_bundle(tmp_path, rpms={"el9": [rpm9], "el8": [rpm8]}, createrepo=False)
    releases = verify_bundle(bundle).manifest.releases
    assert [r.repo_path for r in releases] == ["rpms/el9/x86_64", "rpms/el8/x86_64"]
    assert Release("el8", "x86_64", "rpms/el8/x86_64") in releases
