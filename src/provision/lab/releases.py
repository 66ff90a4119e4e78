"""Which EL release a lab host says it is (`provision lab up --os ...`), pure.

The lab has one image (a Debian userland dressed as Rocky Linux 9.5, see docs/lab.md).
A host booted `--os rocky8` or `--os rhel9` gets that release's identity files written
into its own disk (the overlay's upper layer): /etc/os-release, /usr/lib/os-release,
/etc/redhat-release, /etc/system-release, /etc/system-release-cpe and the vendor's
release file. That is what `provision facts` reads and what the roles branch on. The
programs, the rpm database, dnf's `$releasever` (9, from the image's rocky-release
package) and the kernel stay the image's: only the identity is simulated.

This module is not a build input of the image (image.BUILD_INPUTS): choosing a release
never rebuilds the image, and the default (rocky9) writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import config

DEFAULT = "rocky9"


@dataclass(frozen=True)
class Release:
    key: str  # rocky8, rhel9, ...
    os_id: str  # ID= in os-release
    name: str  # NAME=
    version: str  # VERSION_ID=
    codename: str
    id_like: str
    cpe: str
    release_file: str  # /etc/rocky-release, /etc/redhat-release only (RHEL), ...

    @property
    def major(self) -> str:
        return self.version.split(".")[0]

    @property
    def release_line(self) -> str:
        """What /etc/redhat-release says."""
        return f"{self.name} release {self.version} ({self.codename})\n"

    def os_release(self) -> str:
        pretty = f"{self.name} {self.version} ({self.codename})"
        return (
            f'NAME="{self.name}"\n'
            f'VERSION="{self.version} ({self.codename})"\n'
            f'ID="{self.os_id}"\n'
            f'ID_LIKE="{self.id_like}"\n'
            f'VERSION_ID="{self.version}"\n'
            f'PLATFORM_ID="platform:el{self.major}"\n'
            f'PRETTY_NAME="{pretty}"\n'
            f'CPE_NAME="{self.cpe}"\n'
            "# provision lab: only this host's identity says so (docs/lab.md, --os)\n"
        )


#: vendor (the key's prefix) → ID=, NAME=, ID_LIKE=, the CPE's vendor:product, its release file
_VENDORS = {
    "rocky": ("rocky", "Rocky Linux", "rhel centos fedora", "rocky:rocky", "/etc/rocky-release"),
    "alma": (
        "almalinux",
        "AlmaLinux",
        "rhel centos fedora",
        "almalinux:almalinux",
        "/etc/almalinux-release",
    ),
    "rhel": (
        "rhel",
        "Red Hat Enterprise Linux",
        "fedora",
        "redhat:enterprise_linux",
        "/etc/redhat-release",
    ),
}


def _release(vendor: str, major: str, version: str, codename: str) -> Release:
    os_id, name, id_like, cpe, release_file = _VENDORS[vendor]
    return Release(
        f"{vendor}{major}",
        os_id,
        name,
        version,
        codename,
        id_like,
        f"cpe:/o:{cpe}:{major}::baseos",
        release_file,
    )


RELEASES: dict[str, Release] = {
    r.key: r
    for r in (
        _release("rocky", "8", "8.10", "Green Obsidian"),
        _release("rocky", "9", "9.5", "Blue Onyx"),
        _release("rocky", "10", "10.0", "Red Quartz"),
        _release("alma", "8", "8.10", "Cerulean Leopard"),
        _release("alma", "9", "9.5", "Teal Serval"),
        _release("alma", "10", "10.0", "Purple Lion"),
        _release("rhel", "8", "8.10", "Ootpa"),
        _release("rhel", "9", "9.5", "Plow"),
        _release("rhel", "10", "10.0", "Coughlan"),
    )
}

#: every path a release writes; a host back to the default gets these from the image again
IDENTITY_PATHS = (
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/redhat-release",
    "/etc/system-release",
    "/etc/system-release-cpe",
    "/etc/rocky-release",
    "/etc/almalinux-release",
)


def identity_files(key: str) -> dict[str, str | None]:
    """Path → text for the release `key` (None: the file must not exist). The default
    release gives {} (the image's own files)."""
    if key == DEFAULT:
        return {}
    r = RELEASES[key]
    files: dict[str, str | None] = {p: None for p in IDENTITY_PATHS}
    files.update(
        {
            "/etc/os-release": r.os_release(),
            "/usr/lib/os-release": r.os_release(),
            "/etc/redhat-release": r.release_line,
            "/etc/system-release": r.release_line,
            "/etc/system-release-cpe": r.cpe + "\n",
        }
    )
    if r.release_file != "/etc/redhat-release":
        files[r.release_file] = r.release_line
    return files


def choices() -> str:
    return ", ".join(RELEASES)


def parse_os_options(values: tuple[str, ...] | list[str], count: int) -> dict[str, str]:
    """`--os` values → host name → release key, for hosts rocky1..rocky<count>.

    `rocky8` sets every host; `rocky2=rhel9` one host (later values win, so
    `--os rocky8 --os rocky1=rocky9` is every host but rocky1). Raises ValueError with what
    was expected."""
    hosts = [config.host_name(i) for i in range(1, count + 1)]
    chosen = {h: DEFAULT for h in hosts}
    for value in values:
        host, sep, key = value.partition("=")
        if not sep:
            host, key = "", value
        if key not in RELEASES:
            raise ValueError(f"--os {value!r}: unknown release {key!r} (one of: {choices()})")
        if not host:
            chosen = {h: key for h in hosts}
        elif host in chosen:
            chosen[host] = key
        else:
            raise ValueError(
                f"--os {value!r}: {host!r} is not one of the hosts up ({', '.join(hosts)})"
            )
    return chosen
