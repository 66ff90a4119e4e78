"""The signing keys of an offline bundle, read on the controller, for hosts that use the
bundle's repository through a mirror host (role offline_repo, `offline_repo_mode: mirror`)
and so never receive the bundle itself.

    {{ offline_bundle | bundle_keyring(offline_repo_fingerprints) }}
        -> the bundle's keys/*.asc, together (ASCII armour), '' when offline_bundle is empty
    {{ {'mode': ..., 'host': ..., ...} | offline_mirror_valid(groups['all']) }}
        -> True, or an input error naming the mirror variable that is wrong

The bundle's layout and each key's pinned fingerprint are checked by the same reader the
`offline_bundle` task uses (provision.tasks.offline_bundle.read_bundle); a fingerprint the
caller wants that no key holds is an error. The keys travel from the controller, not from
the mirror's plain-HTTP server: a machine in the middle could swap packages, never keys.
"""

from __future__ import annotations

import os
import re
from typing import Any

MAX_KEY_BYTES = 1024 * 1024


def bundle_keyring(bundle: Any, fingerprints: Any = ()) -> str:
    import tarfile  # here, not at the top: every run that renders a template imports this

    from provision.facts.openpgp import normalise_fingerprint
    from provision.project.jinjafilters import FilterError
    from provision.tasks.offline_bundle import BundleError, read_bundle

    if bundle is None or bundle == "":
        return ""
    if isinstance(fingerprints, str) or not isinstance(fingerprints, list | tuple):
        raise FilterError("bundle_keyring: the fingerprints must be a list")
    path = os.path.abspath(str(bundle))
    try:
        read = read_bundle(path)
    except BundleError as exc:
        raise FilterError(f"{bundle}: {exc}") from None
    have = {fp for _, fp in read.keys}
    for wanted in fingerprints:
        if normalise_fingerprint(str(wanted)) not in have:
            raise FilterError(
                f"{bundle}: no key with the pinned fingerprint {normalise_fingerprint(str(wanted))}"
                f" (the bundle has: {', '.join(sorted(have)) or 'none'})"
            )
    if not read.keys:
        raise FilterError(f"{bundle}: the bundle has no signing key (its packages are unchecked)")
    texts = []
    with tarfile.open(path, "r:") as archive:
        for name, _fingerprint in read.keys:
            member = archive.getmember(name)
            handle = archive.extractfile(member)
            if handle is None or member.size > MAX_KEY_BYTES:
                raise FilterError(f"{bundle}: gpg key {name} cannot be read")
            texts.append(handle.read().decode("ascii", "replace").strip() + "\n")
    return "".join(texts)


_ADDRESS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]")
_BIND = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_DIGITS = re.compile(r"[0-9]{1,5}")


def _whole(value: Any) -> str | None:
    """A whole number given as a number or as digits; None for anything else."""
    if isinstance(value, bool):
        return None
    text = str(value)
    return text if _DIGITS.fullmatch(text) else None


def offline_mirror_valid(settings: Any, hosts: Any) -> bool:
    """True, or an input error naming the variable that is wrong (role offline_repo,
    mirror mode), for the role's first check: found when the run is compiled, before any
    host is touched."""
    from provision.project.jinjafilters import FilterError

    if not isinstance(settings, dict):
        raise FilterError("offline_mirror_valid: expected the mirror settings as a mapping")
    mode = settings.get("mode")
    if mode not in ("local", "mirror"):
        raise FilterError(
            "offline_repo_mode must be local (each host reads its own copy of the bundle) or"
            f" mirror (one host serves it over HTTP to the others), not {shown(mode)}"
        )
    if mode == "local":
        return True
    host = settings.get("host")
    names = [str(h) for h in hosts] if isinstance(hosts, list | tuple) else []
    if not isinstance(host, str) or host not in names:
        raise FilterError(
            "offline_repo_mode is mirror: offline_repo_mirror_host must name the inventory"
            f" host that serves the repository, not {shown(host)}"
        )
    address = settings.get("address")
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise FilterError(
            "offline_repo_mirror_address must be a host name or an IP address ([IPv6] in"
            f" brackets), not {shown(address)}"
        )
    port = _whole(settings.get("port"))
    if port is None or not 0 < int(port) < 65536:
        raise FilterError(
            f"offline_repo_mirror_port must be a port (1-65535), not {shown(settings.get('port'))}"
        )
    bind = settings.get("bind")
    if not isinstance(bind, str) or not _BIND.fullmatch(bind):
        raise FilterError(
            f"offline_repo_mirror_bind must be an IP address (0.0.0.0: all), not {shown(bind)}"
        )
    if _whole(settings.get("wait")) is None:
        raise FilterError(
            "offline_repo_mirror_wait must be whole seconds (0-99999), not"
            f" {shown(settings.get('wait'))}"
        )
    return True


def shown(value: Any) -> str:
    """A value for a message: quoted, control characters escaped, long ones cut."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
