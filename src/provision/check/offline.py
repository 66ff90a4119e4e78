"""`provision check` on an air-gapped site: the offline bundle is on the host and whole.

Only when the host's variables set `offline_bundle` (role offline_repo). The host reads
where `DIR/current` points, the SHA-256 of its manifest and runs
`sha256sum -c --strict SHA256SUMS` there, in the same one probe as the other checks; the
controller compares that with the bundle file it has (its id, from check/bundle.py's one
reading of the file).

In mirror mode (`offline_repo_mode: mirror`) a host other than the mirror keeps no bundle:
its `offline mirror` result says whether the mirror's repository answers from there and the
bundle's keys are in place; the mirror host itself gets the `offline bundle` result.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.check.rules import Level, Result
from provision.facts.base import FactError, tail, text
from provision.facts.host import FactFailure, Tolerant

CHECK = "offline bundle"
DEFAULT_DIR = "/var/lib/provision/offline"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class OfflineCheckState:
    current: str | None  # the id DIR/current points at (None: no bundle)
    manifest_sha256: str | None
    whole: bool
    differing: tuple[str, ...] = ()


@dataclass(frozen=True)
class OfflineCheckFact:
    """The bundle in `dest/current`: its id, its manifest's hash, and every member checked."""

    dest: str
    slow: bool = True  # reads every member

    def command(self) -> str:
        d = shlex.quote(self.dest)
        return (
            f"if [ ! -L {d}/current ]; then echo absent; exit 0; fi; "
            f"printf 'current %s\\n' \"$(readlink -- {d}/current)\"; "
            f"cd -- {d}/current 2>/dev/null || {{ echo unreadable; exit 0; }}; "
            "[ -f manifest.json ] && printf 'manifest %s\\n' "
            '"$(sha256sum < manifest.json | cut -c1-64)"; '
            "if out=$(LC_ALL=C sha256sum -c --strict --quiet SHA256SUMS 2>&1); then echo whole; "
            "else printf '%s\\n' \"$out\" | sed -n 's/: FAILED.*$//p; s/^sha256sum: //p' "
            "| head -n 5 | sed 's/^/bad /'; echo broken; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> OfflineCheckState:
        if rc != 0:
            raise FactError(f"cannot read {self.dest}/current: {tail(stderr)}")
        current = manifest = None
        whole, bad = False, []
        for line in text(stdout).splitlines():
            key, _, value = line.partition(" ")
            if key == "absent":
                return OfflineCheckState(None, None, False)
            if key == "current":
                current = value.rsplit("/", 1)[-1]
            elif key == "manifest" and _HEX64.fullmatch(value):
                manifest = value
            elif key == "bad":
                bad.append(value)
            elif key == "whole":
                whole = True
            elif key not in ("broken", "unreadable", "manifest"):
                raise FactError(f"unexpected answer about {self.dest}: {line!r}")
        return OfflineCheckState(current, manifest, whole, tuple(bad))

    def describe(self) -> str:
        return f"offline bundle in {self.dest}"


CHECK_MIRROR = "offline mirror"
DEFAULT_PORT = 8480
DEFAULT_KEYRING = "/etc/pki/rpm-gpg/provision-offline-bundle.asc"


@dataclass(frozen=True)
class MirrorCheckState:
    answers: bool
    keys: bool
    error: str = ""


@dataclass(frozen=True)
class MirrorCheckFact:
    """From a host that reads the mirror: does `URL/rpms/` answer, are the keys there."""

    url: str
    keyring: str
    slow: bool = True

    def command(self) -> str:
        url = shlex.quote(self.url + "/rpms/")
        keyring = shlex.quote(self.keyring)
        return (
            f"if e=$(curl -fsS -m 10 -o /dev/null --noproxy '*' {url} 2>&1); then echo answers;"
            " else printf 'silent %s\\n'"
            " \"$(printf '%s' \"$e\" | tr '\\n\\t' '  ' | head -c 200)\";"
            f" fi; if [ -s {keyring} ]; then echo keys; else echo nokeys; fi"
        )

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> MirrorCheckState:
        if rc != 0:
            raise FactError(f"cannot ask the offline mirror: {tail(stderr)}")
        answers, keys, error = False, False, ""
        for line in text(stdout).splitlines():
            key, _, value = line.partition(" ")
            if key == "answers":
                answers = True
            elif key == "silent":
                error = value.strip()
            elif key in ("keys", "nokeys"):
                keys = key == "keys"
            else:
                raise FactError(f"unexpected answer about the offline mirror: {line!r}")
        return MirrorCheckState(answers, keys, error)

    def describe(self) -> str:
        return f"offline mirror {self.url}"


def mirror_of(variables: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the mirror's base URL, the keyring path) when this host reads a mirror (mirror mode,
    not the mirror host itself); None otherwise, or when the settings are unusable (the
    role's own check names them)."""
    from provision.tls.bundlekeys import _ADDRESS, _whole

    if str(variables.get("offline_repo_mode") or "local") != "mirror":
        return None
    mirror = str(variables.get("offline_repo_mirror_host") or "")
    if not mirror or str(variables.get("inventory_hostname") or "") == mirror:
        return None
    address: Any = variables.get("offline_repo_mirror_address")
    if not address:
        try:
            address = variables["hostvars"][mirror].get("ansible_host") or mirror
        except Exception:  # noqa: BLE001 - no hostvars here: the mirror's name
            address = mirror
    port = _whole(variables.get("offline_repo_mirror_port") or DEFAULT_PORT)
    keyring = str(variables.get("offline_repo_mirror_keyring") or DEFAULT_KEYRING)
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address) or port is None:
        return None
    return f"http://{address}:{int(port)}", keyring


def offline_facts(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The fact this module adds to a host's probe: none unless `offline_bundle` is set."""
    if not str(variables.get("offline_bundle") or ""):
        return {}
    mirror = mirror_of(variables)
    if mirror is not None:
        return {"offline_mirror": Tolerant(MirrorCheckFact(*mirror), True)}
    dest = str(variables.get("offline_repo_dir") or DEFAULT_DIR)
    return {"offline": Tolerant(OfflineCheckFact(dest), True)}


def check_mirror(url: str, state: Any) -> list[Result]:
    threshold = "the mirror's repository answers; the bundle's keys are here"
    if isinstance(state, FactFailure):
        return [Result(CHECK_MIRROR, Level.WARN, "could not be read", threshold, state.message)]
    apply = "run `provision apply` (role offline_repo, mirror mode) on the mirror and here"
    if not state.answers:
        measured = f"{url}/rpms/ does not answer ({state.error or 'no answer'})"
        return [Result(CHECK_MIRROR, Level.FAIL, measured, threshold, apply)]
    if not state.keys:
        return [Result(CHECK_MIRROR, Level.FAIL, "the bundle's keys are missing", threshold, apply)]
    return [Result(CHECK_MIRROR, Level.PASS, f"{url}/rpms/ answers; keys in place", threshold)]


def expected_id(path: str) -> tuple[str | None, str]:
    """(the bundle id, "") from the controller's file, or (None, why not): the bundle as
    check/bundle.py read it for its `bundle file` result (one reading per run)."""
    from pathlib import Path

    from provision.bundle.format import BundleError, shown_path
    from provision.check.bundle import controller_bundle

    try:
        verified = controller_bundle(Path(os.path.abspath(path)))
    except OSError as exc:
        return None, f"bundle {shown_path(path)}: cannot be read: {exc.strerror or exc}"
    if isinstance(verified, BundleError):
        return None, str(verified)
    return verified.id, ""


def check_offline(variables: Mapping[str, Any], found: Mapping[str, Any]) -> list[Result]:
    """The `offline bundle` result (none when `offline_bundle` is not set)."""
    path = str(variables.get("offline_bundle") or "")
    mirror = mirror_of(variables) if path else None
    if mirror is not None and "offline_mirror" in found:
        return check_mirror(mirror[0], found["offline_mirror"])
    if not path or "offline" not in found:
        return []
    dest = str(variables.get("offline_repo_dir") or DEFAULT_DIR)
    want, why = expected_id(path)
    threshold = "the controller's bundle, current and whole"
    if want is None:
        return [Result(CHECK, Level.FAIL, f"{path}: {why}", threshold, "fix or rebuild the bundle")]
    state = found["offline"]
    short = want[:12]
    if isinstance(state, FactFailure):
        return [Result(CHECK, Level.WARN, "could not be read", threshold, state.message)]
    apply = "run `provision apply` with offline_bundle set (role offline_repo)"
    if state.current is None:
        return [Result(CHECK, Level.FAIL, f"no bundle in {dest}", threshold, apply)]
    if state.current != want:
        measured = f"{dest}/current is bundle {state.current[:12]}, not {short}"
        return [Result(CHECK, Level.FAIL, measured, threshold, apply)]
    if state.manifest_sha256 != want:
        measured = f"{dest}/current/manifest.json no longer hashes to {short}"
        return [Result(CHECK, Level.FAIL, measured, threshold, apply + " (it is copied again)")]
    if not state.whole:
        names = ", ".join(state.differing) or "see sha256sum -c there"
        measured = f"bundle {short}: members differ from SHA256SUMS: {names}"
        advice = "the copy on the host was changed: remove DIR/current and apply again"
        return [Result(CHECK, Level.FAIL, measured, threshold, advice)]
    return [Result(CHECK, Level.PASS, f"bundle {short} current and whole in {dest}", threshold)]
