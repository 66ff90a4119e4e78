"""The offline bundle format `provision-bundle/1` (pure: constants, paths, the manifest).

A bundle is ONE uncompressed POSIX ustar file. Its members, in this order: `manifest.json`,
`SHA256SUMS`, then every other file the manifest lists. docs/bundle-format.md describes it
for people; this module is what every reader and writer of a bundle checks against.

Every byte of a bundle is covered by a check, so that a one-byte change anywhere is found:
- each member's data: its SHA-256 in the manifest and (except the manifest) in SHA256SUMS;
- the manifest: it is canonical JSON (`canonical_json`), and SHA256SUMS carries, in a
  comment line that `sha256sum -c --strict` skips, the SHA-256 of the manifest with the
  SHA256SUMS entry's own hash and size zeroed (`manifest_core_digest`), since the manifest
  also lists SHA256SUMS's hash;
- every tar header: it must be exactly the canonical ustar header (`member_header`) of a
  regular file, mode 0644, owner 0:0, mtime = the manifest's `created`;
- the padding after each member's data and the end of the archive: zero bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from provision.errors import ProvisionError

FORMAT = "provision-bundle/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
CORE_DIGEST_PREFIX = "# manifest-core-sha256 "
KINDS = ("rpm", "repodata", "key", "image", "sums")
ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x")
MEMBER_MODE = 0o644
BLOCK = 512
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_SUMS_BYTES = 64 * 1024 * 1024
MAX_KEY_BYTES = 1024 * 1024
MAX_PATH_BYTES = 255  # what a ustar header can hold (prefix 155 + name 100)
ZERO_SHA256 = "0" * 64

_COMPONENT = re.compile(r"[A-Za-z0-9._+~^@=][A-Za-z0-9._+~^@=-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_RELEASE = re.compile(r"el[0-9]{1,2}")
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_IMAGE_REF = re.compile(r"[a-z0-9][a-z0-9._/:@-]{0,254}", re.IGNORECASE)
_CREATED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_RPM_FIELD = re.compile(r"[A-Za-z0-9._+~^][A-Za-z0-9._+~^-]{0,199}")
_URL = re.compile(r"(https?|file)://[^\s\x00-\x1f\x7f\x85\u2028\u2029]{1,2000}")


class BundleError(ProvisionError):
    """A bundle (or what would go into one) is not what the format says."""


def bundle_error(bundle: str, member: str | None, text: str) -> BundleError:
    """`bundle X: member Y: text` (or `bundle X: text` when no member is concerned); X and
    Y as `shown_path` shows them."""
    where = f"bundle {shown_path(bundle)}: "
    if member is not None:
        where += f"member {shown_path(member)}: "
    return BundleError(where + text)


def shown_path(path: object) -> str:
    """A file or member path for a message. Plain printable text stays as it is; anything
    else is quoted and escaped (Python's repr): a line break of any kind (\\n \\r \\v
    \\f \\x85 \\u2028 \\u2029), a control character, an ANSI escape, an invisible or
    bidirectional mark, leading or trailing spaces, and a leading '-' (so it cannot read as
    an option). Idempotent: a shown path is shown as it is."""
    text = str(path)
    if text and text.isprintable() and not text.startswith("-") and text == text.strip():
        return text
    return repr(text)


def shown(value: object) -> str:
    """A value for an error message: repr, so line breaks and control characters show."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def path_problem(path: object) -> str | None:
    """Why `path` cannot be a member path (None: it can). Relative, `/`-separated, each
    component of a small character set, none starting with `-` or being `.` or `..`."""
    if not isinstance(path, str):
        return f"expected a path (text), found {type(path).__name__}"
    if not path:
        return "expected a path, found an empty one"
    if len(path.encode("utf-8", errors="replace")) > MAX_PATH_BYTES:
        return f"expected a path of at most {MAX_PATH_BYTES} bytes, found {len(path)} characters"
    if path.startswith("/"):
        return f"expected a relative path, found the absolute path {shown(path)}"
    if not _ustar_fits(path):
        return (
            f"expected a path that fits a ustar header (name 100, prefix 155), found {shown(path)}"
        )
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"expected a path without empty, '.' or '..' components, found {shown(path)}"
        if part.startswith("-"):
            return f"expected no path component starting with '-', found {shown(path)}"
        if not _COMPONENT.fullmatch(part):
            return (
                f"expected a path of letters, digits and . _ + ~ ^ @ = - only, found {shown(path)}"
            )
    return None


def _ustar_fits(path: str) -> bool:
    data = path.encode("utf-8", errors="replace")
    if len(data) <= 100:
        return True
    cut = data.rfind(b"/", 0, 156)
    return cut > 0 and len(data) - cut - 1 <= 100


def kind_of_path(path: str, releases: list[Release]) -> str | None:
    """The kind a member at `path` must have (None: no member may sit there)."""
    if path == SUMS:
        return "sums"
    parts = path.split("/")
    if len(parts) == 2 and parts[0] == "keys" and parts[1].endswith(".asc"):
        return "key"
    if len(parts) == 2 and parts[0] == "images" and parts[1].endswith(".tar"):
        return "image"
    for release in releases:
        prefix = release.repo_path + "/"
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :].split("/")
        if len(rest) == 1 and rest[0].endswith(".rpm"):
            return "rpm"
        if len(rest) == 2 and rest[0] == "repodata":
            return "repodata"
    return None


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """The one serialisation of a manifest: sorted keys, 2-space indent, ASCII, final \\n."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")


def manifest_core_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical manifest with the SHA256SUMS entry's sha256 and size zeroed:
    SHA256SUMS carries it (the manifest carries SHA256SUMS's real hash)."""
    core = json.loads(canonical_json(data))
    for entry in core.get("files", []):
        if isinstance(entry, dict) and entry.get("kind") == "sums":
            entry["sha256"], entry["size"] = ZERO_SHA256, 0
    return hashlib.sha256(canonical_json(core)).hexdigest()


def created_epoch(created: str) -> int:
    return int(datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def now_created() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def member_header(path: str, size: int, mtime: int) -> bytes:
    """The canonical ustar header of a member (what create writes and verify expects)."""
    info = tarfile.TarInfo(path)
    info.size = size
    info.mode = MEMBER_MODE
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    try:
        return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
    except ValueError as exc:
        raise BundleError(f"member {shown(path)}: cannot be put in a ustar header: {exc}")


def padding(size: int) -> int:
    """Zero bytes after a member's data, up to the next 512-byte block."""
    return -size % BLOCK


def sums_text(files: list[FileEntry], core_digest: str) -> bytes:
    """SHA256SUMS: the manifest's core digest as a comment, then `<hex>  <path>` per member
    (every one but manifest.json and SHA256SUMS), in the manifest's order."""
    lines = [CORE_DIGEST_PREFIX + core_digest]
    lines += [f"{f.sha256}  {f.path}" for f in files if f.kind != "sums"]
    return ("\n".join(lines) + "\n").encode("ascii")


def parse_sums(bundle: str, data: bytes) -> tuple[str, dict[str, str]]:
    """(core digest, path → sha256) from SHA256SUMS; anything else in it is an error."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise bundle_error(bundle, SUMS, "expected ASCII text, found other bytes")
    if not text.endswith("\n"):
        raise bundle_error(bundle, SUMS, "expected lines ending in \\n, the last one has none")
    lines = text[:-1].split("\n")
    core = lines[0]
    if not core.startswith(CORE_DIGEST_PREFIX) or not _SHA256.fullmatch(
        core[len(CORE_DIGEST_PREFIX) :]
    ):
        raise bundle_error(
            bundle, SUMS, f"line 1: expected '{CORE_DIGEST_PREFIX}<64 hex>', found {shown(core)}"
        )
    sums: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        digest, sep, path = line.partition("  ")
        if not sep or not _SHA256.fullmatch(digest) or path_problem(path):
            raise bundle_error(
                bundle, SUMS, f"line {number}: expected '<64 hex>  <path>', found {shown(line)}"
            )
        if path in sums:
            raise bundle_error(bundle, SUMS, f"line {number}: {path} is listed twice")
        sums[path] = digest
    return core[len(CORE_DIGEST_PREFIX) :], sums


@dataclass(frozen=True)
class Release:
    release: str
    arch: str
    repo_path: str


@dataclass(frozen=True)
class GpgKey:
    path: str
    fingerprint: str
    source: str


@dataclass(frozen=True)
class Image:
    ref: str
    path: str
    id: str


@dataclass(frozen=True)
class MemberInfo:
    """What the manifest says of a member besides its bytes: shared by `FileEntry` (read
    from a manifest, with hash and size) and `writer.Member` (a local file to put in)."""

    path: str
    kind: str
    source: str = ""
    name: str = ""  # name, version, release, arch: an RPM's, empty for other kinds
    version: str = ""
    release: str = ""
    arch: str = ""

    def info(self) -> dict[str, str]:
        """The shared fields by name (to make the other class from this one)."""
        return {f.name: getattr(self, f.name) for f in fields(MemberInfo)}


@dataclass(frozen=True)
class FileEntry(MemberInfo):
    sha256: str = field(kw_only=True)
    size: int = field(kw_only=True)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "kind": self.kind,
            "source": self.source,
        }
        if self.kind == "rpm":
            data.update(name=self.name, version=self.version, release=self.release, arch=self.arch)
        return data


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. `raw` is the parsed JSON (unknown fields kept as they are)."""

    created: str
    tool_version: str
    releases: list[Release]
    gpg_keys: list[GpgKey]
    images: list[Image]
    files: list[FileEntry]
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def mtime(self) -> int:
        return created_epoch(self.created)

    def file(self, path: str) -> FileEntry | None:
        for entry in self.files:
            if entry.path == path:
                return entry
        return None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.raw)
        data.update(
            format=FORMAT,
            created=self.created,
            tool_version=self.tool_version,
            releases=[
                {"release": r.release, "arch": r.arch, "repo_path": r.repo_path}
                for r in self.releases
            ],
            gpg_keys=[
                {"path": k.path, "fingerprint": k.fingerprint, "source": k.source}
                for k in self.gpg_keys
            ],
            images=[{"ref": i.ref, "path": i.path, "id": i.id} for i in self.images],
            files=[f.as_dict() for f in self.files],
        )
        return data

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_bytes(cls, bundle: str, data: bytes) -> Manifest:
        """Parse and validate manifest.json's bytes; errors name the bundle and the member."""
        if len(data) > MAX_MANIFEST_BYTES:
            raise bundle_error(bundle, MANIFEST, f"expected at most {MAX_MANIFEST_BYTES} bytes")
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bundle_error(bundle, MANIFEST, f"expected JSON, found a parse error: {exc}")
        manifest = cls.from_dict(bundle, raw)
        if canonical_json(raw) != data:
            raise bundle_error(
                bundle,
                MANIFEST,
                "expected the canonical JSON form (sorted keys, 2-space indent, ASCII,"
                " final newline): the bytes were changed",
            )
        return manifest

    @classmethod
    def from_dict(cls, bundle: str, raw: Any) -> Manifest:
        return _Loader(bundle).manifest(raw)


class _Loader:
    """Field by field validation with errors `bundle X: member manifest.json: FIELD: ...`."""

    def __init__(self, bundle: str) -> None:
        self.bundle = bundle

    def fail(self, where: str, text: str) -> BundleError:
        return bundle_error(self.bundle, MANIFEST, f"{where}: {text}")

    def obj(self, value: Any, where: str, required: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {type(value).__name__}")
        missing = [k for k in required if k not in value]
        if missing:
            raise self.fail(where, f"expected the field(s) {', '.join(missing)}, missing")
        return value

    def text(self, value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected text, found {type(value).__name__}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(where, f"expected {_describe(pattern)}, found {shown(value)}")
        return value

    def array(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, found {type(value).__name__}")
        return value

    def path(self, value: Any, where: str) -> str:
        problem = path_problem(value)
        if problem:
            raise self.fail(where, problem)
        return value

    def url(self, value: Any, where: str, empty_ok: bool) -> str:
        text = self.text(value, where)
        if text == "" and empty_ok:
            return text
        if not _URL.fullmatch(text):
            raise self.fail(where, f"expected an http(s) or file URL, found {shown(text)}")
        return text

    def manifest(self, raw: Any) -> Manifest:
        keys = ("format", "created", "tool_version", "releases", "gpg_keys", "images", "files")
        data = self.obj(raw, "top level", keys)
        if data["format"] != FORMAT:
            raise self.fail("format", f"expected {FORMAT!r}, found {shown(data['format'])}")
        created = self.text(data["created"], "created", _CREATED)
        try:
            epoch = created_epoch(created)
        except ValueError:
            raise self.fail("created", f"expected a real UTC date and time, found {created!r}")
        if not 0 <= epoch < 8**11:
            raise self.fail("created", f"expected a time from 1970 to 2242, found {created!r}")
        tool_version = self.text(data["tool_version"], "tool_version", _RPM_FIELD)
        releases = [
            self.release(item, f"releases[{i}]")
            for i, item in enumerate(self.array(data["releases"], "releases"))
        ]
        if len({(r.release, r.arch) for r in releases}) != len(releases):
            raise self.fail("releases", "expected each release and arch once, found one twice")
        files = [
            self.file_entry(item, f"files[{i}]", releases)
            for i, item in enumerate(self.array(data["files"], "files"))
        ]
        by_path: dict[str, FileEntry] = {}
        for entry in files:
            if entry.path in by_path or entry.path == MANIFEST:
                raise self.fail("files", f"expected each path once, found {entry.path} twice")
            by_path[entry.path] = entry
        if [f.kind for f in files].count("sums") != 1:
            raise self.fail("files", f"expected exactly one entry of kind 'sums' ({SUMS})")
        keys_ = [
            self.gpg_key(item, f"gpg_keys[{i}]", by_path)
            for i, item in enumerate(self.array(data["gpg_keys"], "gpg_keys"))
        ]
        images = [
            self.image(item, f"images[{i}]", by_path)
            for i, item in enumerate(self.array(data["images"], "images"))
        ]
        for kind, listed, name in (
            ("key", {k.path for k in keys_}, "gpg_keys"),
            ("image", {i.path for i in images}, "images"),
        ):
            for entry in files:
                if entry.kind == kind and entry.path not in listed:
                    raise self.fail(
                        "files", f"{entry.path}: a file of kind {kind!r} that {name} does not list"
                    )
        for release in releases:
            has_rpm = any(
                f.kind == "rpm" and f.path.startswith(release.repo_path + "/") for f in files
            )
            repomd = f"{release.repo_path}/repodata/repomd.xml"
            if has_rpm and repomd not in by_path:
                raise self.fail("files", f"expected {repomd} (the release has RPMs), missing")
        return Manifest(created, tool_version, releases, keys_, images, files, dict(data))

    def release(self, value: Any, where: str) -> Release:
        data = self.obj(value, where, ("release", "arch", "repo_path"))
        name = self.text(data["release"], where + ".release", _RELEASE)
        arch = self.text(data["arch"], where + ".arch")
        if arch not in ARCHES:
            raise self.fail(where + ".arch", f"expected one of {', '.join(ARCHES)}, found {arch!r}")
        repo_path = self.text(data["repo_path"], where + ".repo_path")
        if repo_path != f"rpms/{name}/{arch}":
            raise self.fail(
                where + ".repo_path", f"expected 'rpms/{name}/{arch}', found {shown(repo_path)}"
            )
        return Release(name, arch, repo_path)

    def file_entry(self, value: Any, where: str, releases: list[Release]) -> FileEntry:
        data = self.obj(value, where, ("path", "sha256", "size", "kind", "source"))
        path = self.path(data["path"], where + ".path")
        digest = self.text(data["sha256"], where + ".sha256", _SHA256)
        size = data["size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size >= 8**11:
            raise self.fail(where + ".size", f"expected a byte count, found {shown(size)}")
        kind = self.text(data["kind"], where + ".kind")
        if kind not in KINDS:
            raise self.fail(where + ".kind", f"expected one of {', '.join(KINDS)}, found {kind!r}")
        expected = kind_of_path(path, releases)
        if expected != kind:
            place = f"a {expected}'s place" if expected else "no place for any member"
            raise self.fail(where, f"{path}: expected kind {kind!r} at this path, it is {place}")
        source = self.url(data["source"], where + ".source", empty_ok=True)
        rpm = {"name": "", "version": "", "release": "", "arch": ""}
        if kind == "rpm":
            self.obj(data, where, tuple(rpm))
            rpm = {k: self.text(data[k], f"{where}.{k}", _RPM_FIELD) for k in rpm}
        return FileEntry(path, kind, source, **rpm, sha256=digest, size=size)

    def gpg_key(self, value: Any, where: str, files: dict[str, FileEntry]) -> GpgKey:
        data = self.obj(value, where, ("path", "fingerprint", "source"))
        path = self.path(data["path"], where + ".path")
        if path not in files or files[path].kind != "key":
            raise self.fail(where + ".path", f"expected a file of kind 'key', found {path}")
        fingerprint = self.text(data["fingerprint"], where + ".fingerprint", _FINGERPRINT)
        source = self.url(data["source"], where + ".source", empty_ok=True)
        return GpgKey(path, fingerprint, source)

    def image(self, value: Any, where: str, files: dict[str, FileEntry]) -> Image:
        data = self.obj(value, where, ("ref", "path", "id"))
        ref = self.text(data["ref"], where + ".ref", _IMAGE_REF)
        path = self.path(data["path"], where + ".path")
        if path not in files or files[path].kind != "image":
            raise self.fail(where + ".path", f"expected a file of kind 'image', found {path}")
        image_id = self.text(data["id"], where + ".id", _IMAGE_ID)
        return Image(ref, path, image_id)


_DESCRIPTIONS = {
    _SHA256.pattern: "64 lower-case hex digits",
    _FINGERPRINT.pattern: "a fingerprint of 40 (or 64) upper-case hex digits",
    _RELEASE.pattern: "a release such as 'el9'",
    _IMAGE_ID.pattern: "'sha256:' and 64 lower-case hex digits",
    _IMAGE_REF.pattern: "an image reference such as 'registry:2'",
    _CREATED.pattern: "an ISO-8601 UTC time such as '2026-01-31T12:00:00Z'",
    _RPM_FIELD.pattern: "letters, digits and . _ + ~ ^ - (1 to 200, no leading -)",
}


def _describe(pattern: re.Pattern[str]) -> str:
    return _DESCRIPTIONS.get(pattern.pattern, f"text matching {pattern.pattern}")


def valid_image_ref(ref: str) -> bool:
    return bool(_IMAGE_REF.fullmatch(ref)) and not ref.startswith("-")


def valid_release(name: str) -> bool:
    return bool(_RELEASE.fullmatch(name))


def valid_rpm_field(value: str) -> bool:
    return bool(_RPM_FIELD.fullmatch(value))


def image_member_path(ref: str) -> str:
    """images/<ref with every character but letters, digits, . _ - replaced by _>.tar"""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", ref).lstrip("-.") or "image"
    return f"images/{name[:200]}.tar"


def bundle_id(manifest_bytes: bytes) -> str:
    return hashlib.sha256(manifest_bytes).hexdigest()
