"""Simple case forms for the trust facts (rpm keys, sysctl files read at boot).

- `rpm_keys: {installed: {NAME: KEYFILE}, fetched: KEYFILE, fetch_error: TEXT}`, KEYFILE
  naming a file in tests/unit/facts/openpgp/ (or `{text: ...}` for raw text). As on a host,
  the key file is only read when the pinned key is not installed, or `dest` is missing.
- sysctl files read at boot: every entry of `files` under a sysctl.d folder (or
  /etc/sysctl.conf), plus `sysctl_links: {LINK: TARGET}` (a target of /dev/null masks).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from provision.facts.openpgp import primary_fingerprints
from provision.facts.rpm_keys import InstalledKey, RpmKeys, RpmKeysFact, short_id
from provision.facts.sysctl_boot import SYSCTL_CONF, SYSCTL_DIRS, BootFile, SysctlBoot

KEYS = Path(__file__).parents[1] / "facts" / "openpgp"


def key_bytes(spec: Any) -> bytes:
    if isinstance(spec, dict):
        return str(spec["text"]).encode()
    return (KEYS / str(spec)).read_bytes()


def rpm_keys_value(fact: RpmKeysFact, facts: dict[str, Any]) -> RpmKeys:
    spec = facts.get("rpm_keys") or {}
    installed = []
    for name, key in (spec.get("installed") or {}).items():
        data = key_bytes(key)
        try:
            fingerprints = tuple(primary_fingerprints(data))
        except ValueError:
            fingerprints = ()
        installed.append(InstalledKey(name, fingerprints, data.decode()))
    by_short = any(
        k.name.startswith(f"gpg-pubkey-{short_id(fact.fingerprint)}-") for k in installed
    )
    dest_missing = bool(fact.also_read) and not (facts.get("files") or {}).get(fact.also_read)
    if by_short and not dest_missing:
        return RpmKeys(tuple(installed))
    if spec.get("fetch_error"):
        return RpmKeys(tuple(installed), None, spec["fetch_error"])
    fetched = key_bytes(spec["fetched"]) if "fetched" in spec else None
    return RpmKeys(tuple(installed), fetched)


def sysctl_boot_value(facts: dict[str, Any]) -> SysctlBoot:
    files = facts.get("files") or {}
    links = facts.get("sysctl_links") or {}
    listed = []
    for path in sorted(set(files) | set(links)):
        if posixpath.dirname(path) not in SYSCTL_DIRS and path != SYSCTL_CONF:
            continue
        realpath = links.get(path, path)
        if realpath == "/dev/null":
            listed.append(BootFile(path, realpath, "", 0o666))
            continue
        spec = files.get(realpath)
        if spec is None or spec.get("exists", True) is False:
            continue
        listed.append(BootFile(path, realpath, str(spec.get("content", ""))))
    order = {d: i for i, d in enumerate(SYSCTL_DIRS)}
    listed.sort(key=lambda f: (order.get(posixpath.dirname(f.path), len(order)), f.path))
    return SysctlBoot(tuple(listed))


def sysctl_boot_output(files: dict[str, bytes]) -> bytes:
    """What the sysctl boot fact's command prints on a host holding `files` (fake hosts)."""
    from base64 import b64encode

    from provision.facts.sysctl_boot import MARK

    out = []
    for path in sorted(files):
        if posixpath.dirname(path) not in SYSCTL_DIRS and path != SYSCTL_CONF:
            continue
        name = b64encode(path.encode()).decode()
        out.append(f"{MARK}{name} {name} 644|root|root\n{b64encode(files[path]).decode()}\n")
    return "".join(out).encode()
