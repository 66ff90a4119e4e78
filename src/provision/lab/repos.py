"""Repo layout (pure): where each RPM goes, the .repo files, the served tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from . import config
from .rpms import Package


@dataclass(frozen=True)
class RepoLayout:
    """Paths relative to the served root (the repo base URL)."""

    baseos: str = config.BASEOS_PATH
    docker_root: str = config.DOCKER_PATH
    releasever: str = "9"
    basearch: str = "x86_64"

    @property
    def docker_stable(self) -> str:
        return f"{self.docker_root}/{self.releasever}/{self.basearch}/stable"

    @property
    def docker_repo_file(self) -> str:
        return f"{self.docker_root}/docker-ce.repo"

    @property
    def docker_gpg(self) -> str:
        return f"{self.docker_root}/gpg"

    @property
    def baseos_gpg(self) -> str:
        return "rocky/RPM-GPG-KEY-Rocky-9"

    def repo_dir(self, pkg: Package) -> str:
        """Directory that holds pkg's repodata."""
        return self.docker_stable if pkg.repo == "docker" else self.baseos

    def rpm_path(self, pkg: Package) -> str:
        """Where pkg's .rpm file is served (relative to the served root)."""
        sub = "Packages" if pkg.repo == "docker" else f"Packages/{pkg.name[0].lower()}"
        return str(PurePosixPath(self.repo_dir(pkg)) / sub / pkg.filename)


def docker_repo_text(base_url: str, layout: RepoLayout | None = None) -> str:
    """docker-ce.repo as download.docker.com serves it, pointing at base_url."""
    layout = layout or RepoLayout()
    root = f"{base_url}/{layout.docker_root}"
    sections = []
    for repo_id, name, sub, enabled in (
        ("docker-ce-stable", "Docker CE Stable", "stable", 1),
        ("docker-ce-stable-debuginfo", "Docker CE Stable - Debuginfo", "debug-stable", 0),
        ("docker-ce-stable-source", "Docker CE Stable - Sources", "source/stable", 0),
        ("docker-ce-test", "Docker CE Test", "test", 0),
    ):
        arch = "" if sub.startswith("source") else "/$basearch"
        path = sub if sub.startswith("source") else sub.removeprefix("debug-")
        if sub.startswith("debug-"):
            arch = "/debug-$basearch"
        sections.append(
            f"[{repo_id}]\n"
            f"name={name} - $basearch\n"
            f"baseurl={root}/$releasever{arch}/{path}\n"
            f"enabled={enabled}\n"
            "gpgcheck=1\n"
            f"gpgkey={root}/gpg\n"
        )
    return "\n".join(sections)


def baseos_repo_text(base_url: str, layout: RepoLayout | None = None) -> str:
    """/etc/yum.repos.d/rocky.repo for the lab hosts (BaseOS only, signed)."""
    layout = layout or RepoLayout()
    return (
        "[baseos]\n"
        "name=Rocky Linux $releasever - BaseOS (provision lab)\n"
        f"baseurl={base_url}/rocky/$releasever/BaseOS/$basearch/os/\n"
        "gpgcheck=1\n"
        "enabled=1\n"
        "countme=0\n"
        "metadata_expire=6h\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9\n"
    )
