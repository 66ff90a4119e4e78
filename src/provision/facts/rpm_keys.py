"""The GPG keys in the host's rpm database and, when the pinned one is missing, the key file
to import: fetched on the host (curl, as dnf would, through the given proxy) or read from a
host path. The fingerprints are computed here, from the bytes, by `openpgp` (pure)."""

from __future__ import annotations

import base64
import binascii
import shlex
from dataclasses import dataclass

from provision.facts.base import CaseFacts, FactError, FactKind, tail, text
from provision.facts.openpgp import MAX_KEY_BYTES, KeyFileError, primary_fingerprints

MISSING_TOOL = 127
FETCH_FAILED = 4
KEY_MARK = "@@provision-rpmkey "
FETCHED_MARK = "@@provision-fetched"


@dataclass(frozen=True)
class InstalledKey:
    """One `gpg-pubkey` package: its rpm name, its fingerprints and its armored text."""

    name: str
    fingerprints: tuple[str, ...]
    armored: str


@dataclass(frozen=True)
class RpmKeys:
    installed: tuple[InstalledKey, ...] = ()
    fetched: bytes | None = None  # the key file's bytes, when it was read (pinned key missing)
    fetch_error: str | None = None

    def with_fingerprint(self, fingerprint: str) -> tuple[InstalledKey, ...]:
        return tuple(k for k in self.installed if fingerprint in k.fingerprints)


def short_id(fingerprint: str) -> str:
    """rpm's name for a key: gpg-pubkey-<the fingerprint's last 8 hex digits, lower case>."""
    return fingerprint[-8:].lower()


@dataclass(frozen=True)
class RpmKeysFact(FactKind):
    """Installed rpm keys; `source` (URL or host path) is read only if `fingerprint` is not
    among them (or `also_read`: a copy of the key is wanted on the host)."""

    kind = "rpm_keys"
    fingerprint: str
    source: str
    proxy: str = ""
    also_read: str = ""  # a host path: read the source too when this file is missing
    slow: bool = True

    def _read(self) -> str:
        src = shlex.quote(self.source)
        limit = f"--max-filesize {MAX_KEY_BYTES}"
        if self.source.startswith("/"):
            return (
                f"[ -f {src} ] || {{ echo 'no such file: '{src} >&2; exit {FETCH_FAILED}; }}; "
                f"echo {FETCHED_MARK}; head -c {MAX_KEY_BYTES + 1} -- {src} | base64 -w0"
            )
        proxy = f"--proxy {shlex.quote(self.proxy)}" if self.proxy else "--noproxy '*'"
        return (
            f"command -v curl >/dev/null || {{ echo 'curl is not installed' >&2; "
            f"exit {FETCH_FAILED}; }}; "
            "t=$(mktemp) || exit 98; "
            f"curl -fsSL --retry 2 --connect-timeout 20 --max-time 120 {limit} "
            f'--proto =http,https --proto-redir =https {proxy} -o "$t" {src}; '
            'c=$?; if [ $c -ne 0 ]; then rm -f -- "$t"; '
            f'echo "curl exit $c fetching "{src} >&2; exit {FETCH_FAILED}; fi; '
            f'echo {FETCHED_MARK}; head -c {MAX_KEY_BYTES + 1} -- "$t" | base64 -w0; rm -f -- "$t"'
        )

    def listing(self) -> str:
        """Just the installed keys (what `provision verify` reads)."""
        fmt = shlex.quote(KEY_MARK + "%{NAME}-%{VERSION}-%{RELEASE}\\n%{DESCRIPTION}\\n")
        return (
            f"command -v rpm >/dev/null || exit {MISSING_TOOL}; "
            f"rpm -qa --qf {fmt} gpg-pubkey || exit 3"
        )

    def command(self) -> str:
        short = shlex.quote(short_id(self.fingerprint))
        full = shlex.quote(self.fingerprint.lower())
        missing = "false"
        if self.also_read:
            missing = f"[ ! -e {shlex.quote(self.also_read)} ]"
        return (
            f"{self.listing()}; "
            f"if rpm -qa --qf '%{{VERSION}}\\n' gpg-pubkey | grep -qix -e {short} -e {full}"
            f" && ! {missing}; then exit 0; fi; {self._read()}"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> RpmKeys:
        if rc == MISSING_TOOL:
            raise FactError("rpm is not installed on this host")
        if rc not in (0, FETCH_FAILED):
            raise FactError(f"cannot list the rpm GPG keys (exit {rc}): {tail(stderr)}")
        out = text(stdout)
        listing, mark, fetched_b64 = out.partition(FETCHED_MARK + "\n")
        installed = []
        for chunk in listing.split(KEY_MARK)[1:]:
            name, _, armored = chunk.partition("\n")
            try:
                fingerprints = tuple(primary_fingerprints(armored.encode()))
            except KeyFileError:
                fingerprints = ()
            installed.append(InstalledKey(name.strip(), fingerprints, armored.strip() + "\n"))
        keys = RpmKeys(tuple(installed))
        if rc == FETCH_FAILED:
            return RpmKeys(keys.installed, None, tail(stderr) or "no output")
        if not mark:
            return keys
        try:
            data = base64.b64decode(fetched_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise FactError(f"unreadable key data from {self.source}")
        return RpmKeys(keys.installed, data, None)

    def describe(self) -> str:
        return f"rpm GPG keys (pinned {self.fingerprint})"

    def case_value(self, case: CaseFacts) -> RpmKeys:
        """`rpm_keys: {installed: {NAME: KEYFILE}, fetched: KEYFILE, fetch_error: TEXT}`,
        KEYFILE naming a data file of the case (or `{text: ...}` for raw text). As on a host,
        the key file is read only when no installed key has the pinned key's short ID, or
        `also_read` is missing from the case's `files:`."""

        def key_bytes(spec: object) -> bytes:
            if isinstance(spec, dict):
                return str(spec["text"]).encode()
            return case.read(str(spec))

        spec = case.section("rpm_keys")
        installed = []
        for name, key in (spec.get("installed") or {}).items():
            data = key_bytes(key)
            try:
                fingerprints = tuple(primary_fingerprints(data))
            except ValueError:
                fingerprints = ()
            installed.append(InstalledKey(name, fingerprints, data.decode()))
        by_short = any(
            k.name.startswith(f"gpg-pubkey-{short_id(self.fingerprint)}-") for k in installed
        )
        dest_missing = bool(self.also_read) and not case.section("files").get(self.also_read)
        if by_short and not dest_missing:
            return RpmKeys(tuple(installed))
        if spec.get("fetch_error"):
            return RpmKeys(tuple(installed), None, spec["fetch_error"])
        fetched = key_bytes(spec["fetched"]) if "fetched" in spec else None
        return RpmKeys(tuple(installed), fetched)


def check_key_file(data: bytes, fingerprint: str) -> str | None:
    """None when `data` holds exactly the pinned primary key, else what is wrong."""
    try:
        found = primary_fingerprints(data)
    except KeyFileError as exc:
        return f"it is not an OpenPGP public key file ({exc})"
    if found == [fingerprint]:
        return None
    if len(found) == 1:
        return f"its key has fingerprint {found[0]}"
    return f"it holds {len(found)} keys ({', '.join(found)}), not only the pinned one"
