"""What the sysctl boot fact's command prints on a host holding some files (fake hosts).

(The simple case forms of the trust facts live with their kinds: `case_value` of
`RpmKeysFact` and `SysctlBootFact`.)
"""

from __future__ import annotations

import posixpath

from provision.facts.sysctl_boot import SYSCTL_CONF, SYSCTL_DIRS


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
