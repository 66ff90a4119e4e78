"""Lab lifecycle: up, down, status, clean, reset; stale-state detection and cleanup."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from provision.facts.openpgp import primary_fingerprints

from . import airgap, config, image, inventory, net, releases, server, spare
from .cgroups import host_cgroups
from .repos import RepoLayout
from .util import (
    LabError,
    cmdline,
    dir_size,
    is_mounted,
    pid_alive,
    read_pid,
    run,
    safe_rmtree,
    tail,
    terminate,
    unmount_under,
)

BOOT_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
SSH_OPTS = ("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR")


class PrerequisiteError(LabError):
    """The machine cannot run the lab; the message says what is missing and how to get it."""


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


#: where progress messages go (the CLI and tests may replace it)
echo: Callable[[str], None] = _stderr


# ------------------------------------------------------------------ names and paths


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str

    @property
    def index(self) -> int:
        return config.host_index(self.name)


def lab_host(index: int) -> LabHost:
    return LabHost(config.host_name(index), config.host_address(index))


def default_inventory() -> Path:
    env = os.environ.get("PROVISION_LAB_INVENTORY")
    if env:
        return Path(env).resolve()
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src/provision/lab").is_dir():
        return checkout / "inventories" / "lab.yml"
    return Path.cwd() / "inventories" / "lab.yml"


@dataclass(frozen=True)
class LabPaths:
    cache: Path
    state: Path
    run: Path
    inventory: Path
    key: Path
    known_hosts: Path
    proxy_log: Path
    repo_log: Path
    repo_base: str
    proxy_url: str


def lab_paths(inventory_path: Path | None = None) -> LabPaths:
    inv = inventory_path or default_inventory()
    secrets = inventory.secret_dir(inv)
    return LabPaths(
        cache=config.CACHE_ROOT,
        state=config.STATE_ROOT,
        run=config.RUN_ROOT,
        inventory=inv,
        key=secrets / inventory.KEY_NAME,
        known_hosts=secrets / inventory.KNOWN_HOSTS_NAME,
        proxy_log=config.STATE_ROOT / "proxy.log",
        repo_log=config.STATE_ROOT / "repo.log",
        repo_base=config.REPO_BASE,
        proxy_url=config.PROXY_URL,
    )


# ------------------------------------------------------------------ prerequisites

RUNTIME_TOOLS = {
    "systemd-nspawn": "systemd-container",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "nsenter": "util-linux",
}
BUILD_TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "rpmbuild": "rpm",
    "rpmsign": "rpm",
    "createrepo_c": "createrepo-c",
    "gpg": "gnupg",
    "apt-get": "apt",
    "dpkg-deb": "dpkg",
    "zstd": "zstd",
}


def prerequisite_problems(build: bool) -> list[str]:
    """What this machine lacks to run the lab (and to build its image when build)."""
    problems = []
    if sys.platform != "linux":
        return ["the lab needs Linux (systemd-nspawn, network namespaces, overlayfs)"]
    if os.geteuid() != 0:
        problems.append("not root: run as root (e.g. `sudo -E provision lab up`)")
    tools = dict(RUNTIME_TOOLS)
    if build:
        tools.update(BUILD_TOOLS)
    missing = {pkg: cmd for cmd, pkg in tools.items() if shutil.which(cmd) is None}
    if missing:
        problems.append(
            f"missing commands: {', '.join(sorted(missing.values()))}; install them with:"
            f" apt-get install {' '.join(sorted(missing))}"
        )
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        filesystems = ""
    if "overlay" not in filesystems:
        problems.append("the kernel has no overlayfs (modprobe overlay)")
    from .cgroups import cgroup_roots

    if not cgroup_roots():
        problems.append("no cgroup hierarchy mounted under /sys/fs/cgroup")
    return problems


def check_prerequisites(build: bool) -> None:
    problems = prerequisite_problems(build)
    if problems:
        raise PrerequisiteError(
            "the container lab cannot run on this machine:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


@contextlib.contextmanager
def lab_lock() -> Iterator[None]:
    """One lab command at a time (the lock dies with its process: never stale)."""
    config.RUN_ROOT.mkdir(parents=True, exist_ok=True)
    with open(config.RUN_ROOT / "lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo("another `provision lab` command is running; waiting for it ...")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


# ------------------------------------------------------------------ processes


def _launcher_pidfile(name: str) -> Path:
    return config.RUN_ROOT / f"{name}.launcher.pid"


def _nspawn_pidfile(name: str) -> Path:
    return config.RUN_ROOT / f"{name}.nspawn.pid"


def _launcher_pid(name: str) -> int | None:
    pid = read_pid(_launcher_pidfile(name), "provision.lab.launcher")
    if pid is not None and name in cmdline(pid):
        return pid
    return None


def _nspawn_pid(name: str) -> int | None:
    pid = read_pid(_nspawn_pidfile(name), "systemd-nspawn")
    if pid is not None and f"--machine={name}" in cmdline(pid):
        return pid
    return None


def is_running(name: str) -> bool:
    return _launcher_pid(name) is not None


def _child_env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{src}:{path}" if path else src}


def _server_pid() -> int | None:
    return read_pid(config.RUN_ROOT / "server.pid", "provision.lab.server")


def _ensure_server(img: image.Image) -> None:
    pid = _server_pid()
    if pid is not None:
        line = cmdline(pid)
        current = str(img.repos) in line and server.SERVES in line
        if current and _port_open(config.BRIDGE_ADDR, config.REPO_PORT):
            return
        terminate(pid, 5)
    config.STATE_ROOT.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "provision.lab.server",
        str(img.repos),
        str(config.STATE_ROOT),
        server.SERVES,
    ]
    pid = spawn_detached(cmd, config.STATE_ROOT / "server.log")
    (config.RUN_ROOT / "server.pid").write_text(f"{pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _port_open(config.BRIDGE_ADDR, config.REPO_PORT) and _port_open(
            config.BRIDGE_ADDR, config.PROXY_PORT
        ):
            return
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    raise LabError(
        "the lab's repo server did not start:\n" + tail(config.STATE_ROOT / "server.log", 15)
    )


def _stop_server() -> bool:
    pid = _server_pid()
    (config.RUN_ROOT / "server.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    terminate(pid, 5)
    return True


def _port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _ssh_banner(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=1) as s:
            s.settimeout(2)
            return s.recv(8).startswith(b"SSH-")
    except OSError:
        return False


# ------------------------------------------------------------------ one host


def _host_dir(name: str) -> Path:
    return config.STATE_ROOT / "hosts" / name


def _known_host_names() -> set[str]:
    """Every host the lab has any trace of (state dir, netns, cgroup, pid file)."""
    names = set(net.lab_netns())
    hosts = config.STATE_ROOT / "hosts"
    if hosts.is_dir():
        names.update(p.name for p in hosts.iterdir() if p.is_dir())
    for cg in host_cgroups(""):
        if cg.is_dir():
            names.update(p.name for p in cg.iterdir() if p.is_dir())
    if config.RUN_ROOT.is_dir():
        names.update(p.name.split(".")[0] for p in config.RUN_ROOT.glob("*.launcher.pid"))
    valid = set()
    for name in names:
        try:
            config.host_index(name)
        except ValueError:
            continue
        valid.add(name)
    return valid


def _cgroup_pids(cg: Path) -> list[int]:
    pids = []
    if not cg.is_dir():
        return pids
    for procs in cg.rglob("cgroup.procs"):
        try:
            pids += [int(x) for x in procs.read_text().split()]
        except (OSError, ValueError):
            pass
    return pids


def _remove_cgroups(name: str) -> bool:
    found = False
    for cg in host_cgroups(name):
        if not cg.is_dir():
            continue
        found = True
        for _ in range(20):
            pids = _cgroup_pids(cg)
            if not pids:
                break
            for pid in pids:  # processes of this lab host, left behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        dirs = sorted((p for p in cg.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for d in [*dirs, cg]:
            with contextlib.suppress(OSError):
                d.rmdir()
    return found


def _cleanup_runtime(name: str) -> list[str]:
    """Remove what a stopped (or killed) host left: processes, mounts, netns, cgroups."""
    left = []
    pid = _nspawn_pid(name)
    if pid is not None:
        terminate(pid, 10)
        left.append("systemd-nspawn process")
    if _remove_cgroups(name):
        left.append("cgroup")
    root = _host_dir(name) / "root"
    if root.exists() and any(True for _ in _mounts_at(root)):
        unmount_under(root)
        left.append("mounts")
    if net.remove_netns(name):
        left.append("network namespace")
    if spare.detach(_host_dir(name)):
        left.append("spare disk (loop device)")
    for pidfile in (_launcher_pidfile(name), _nspawn_pidfile(name)):
        pidfile.unlink(missing_ok=True)
    return left


def _mounts_at(root: Path) -> Iterator[str]:
    from .util import mounts_under

    yield from mounts_under(root)


def _stop_host(name: str) -> None:
    pid = _launcher_pid(name)
    if pid is not None:
        if not terminate(pid, STOP_TIMEOUT):
            echo(f"{name}: did not shut down within {STOP_TIMEOUT:.0f}s; killed")


def _host_keys(name: str) -> list[str]:
    """The host's ssh public keys, generating its host keys on first use."""
    keydir = _host_dir(name) / "hostkeys"
    keydir.mkdir(parents=True, exist_ok=True)
    pubs = []
    for kind, extra in (("ed25519", []), ("ecdsa", ["-b", "256"]), ("rsa", ["-b", "3072"])):
        key = keydir / f"ssh_host_{kind}_key"
        if not key.is_file() or not key.with_suffix(".pub").is_file():
            key.unlink(missing_ok=True)
            run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", f"root@{name}", "-f", key])
        pubs.append(key.with_name(key.name + ".pub").read_text().strip())
    return pubs


def _ensure_client_key(paths: LabPaths) -> str:
    key = paths.key
    if not key.is_file() or not key.with_name(key.name + ".pub").is_file():
        key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key.unlink(missing_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "provision-lab", "-f", key])
    os.chmod(key.parent, 0o700)
    os.chmod(key, 0o600)
    return key.with_name(key.name + ".pub").read_text().strip()


def _passwd_ids(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise LabError(f"user {user} missing from the lab image")


def _put(
    root: Path, path: str, text: str, mode: int = 0o644, owner: tuple[int, int] = (0, 0)
) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    target.write_text(text)
    os.chown(target, *owner)
    os.chmod(target, mode)


def host_release(name: str) -> str:
    """The release a lab host was last booted as (`lab up --os`); rocky9 by default."""
    marker = _host_dir(name) / "os"
    key = marker.read_text().strip() if marker.is_file() else releases.DEFAULT
    return key if key in releases.RELEASES else releases.DEFAULT


def _forget_identity(hd: Path) -> None:
    """Drop the identity files a release wrote into the host's upper layer (before the
    overlay is mounted), so that the image's own show through again."""
    for path in releases.IDENTITY_PATHS:
        entry = hd / "upper" / path.lstrip("/")
        if entry.is_symlink() or entry.exists():
            entry.unlink()


def _write_identity(root: Path, release: str) -> None:
    for path, text in releases.identity_files(release).items():
        target = root / path.lstrip("/")
        if text is None:
            if target.is_symlink() or target.exists():
                target.unlink()
        else:
            _put(root, path, text)


def _prepare_host(
    host: LabHost,
    img: image.Image,
    client_pub: str,
    all_hosts: list[LabHost],
    release: str = releases.DEFAULT,
) -> list[str]:
    """Disk (overlay over the image), identity, keys, network: ready to boot."""
    hd = _host_dir(host.name)
    for sub in ("upper", "work", "root", "docker", "containerd"):
        (hd / sub).mkdir(parents=True, exist_ok=True)
    stamp = hd / "image-key"
    if stamp.is_file() and stamp.read_text().strip() != img.key:
        echo(f"{host.name}: the lab image changed; starting this host from a fresh disk")
        for sub in ("upper", "work", "docker", "containerd"):
            safe_rmtree(hd / sub)
            (hd / sub).mkdir()
    stamp.write_text(img.key + "\n")
    marker = hd / "os"
    if release != releases.DEFAULT or host_release(host.name) != releases.DEFAULT:
        _forget_identity(hd)
    root = hd / "root"
    if not is_mounted(root):
        run(
            [
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                f"lowerdir={img.rootfs},upperdir={hd / 'upper'},workdir={hd / 'work'}",
                root,
            ]
        )
    pubs = _host_keys(host.name)
    keydir = hd / "hostkeys"
    for f in keydir.iterdir():
        _put(root, f"/etc/ssh/{f.name}", f.read_text(), 0o644 if f.suffix == ".pub" else 0o600)
    machine_id = hd / "machine-id"
    if not machine_id.is_file():
        machine_id.write_text(os.urandom(16).hex() + "\n")
    _put(root, "/etc/machine-id", machine_id.read_text(), 0o444)
    _put(root, "/etc/hostname", host.name + "\n")
    _write_identity(root, release)
    if release == releases.DEFAULT:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text(release + "\n")
    hosts_lines = [
        "127.0.0.1   localhost localhost.localdomain",
        "::1         localhost localhost.localdomain",
        f"{config.BRIDGE_ADDR}  lab-gateway",
        *[f"{h.address}  {h.name}" for h in all_hosts],
    ]
    _put(root, "/etc/hosts", "\n".join(hosts_lines) + "\n")
    uid, gid = _passwd_ids(root, "rocky")
    _put(root, "/root/.ssh/authorized_keys", client_pub + "\n", 0o600)
    _put(root, "/home/rocky/.ssh/authorized_keys", client_pub + "\n", 0o600, (uid, gid))
    net.ensure_netns(host.name, host.address)
    spare.attach(hd)
    return pubs


def spawn_detached(cmd: list[str], log: Path) -> int:
    """Start cmd in its own session, not as our child (nothing to reap); returns its pid."""
    proc = subprocess.run(
        ["sh", "-c", 'setsid "$@" </dev/null >>"$PROVISION_LAB_LOG" 2>&1 & echo $!', "sh", *cmd],
        env={**_child_env(), "PROVISION_LAB_LOG": str(log)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout.strip())


def _launch(host: LabHost) -> None:
    hd = _host_dir(host.name)
    config.RUN_ROOT.mkdir(parents=True, exist_ok=True)
    log = hd / "console.log"
    with open(log, "a") as fh:
        fh.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} provision lab up\n")
    cmd = [sys.executable, "-m", "provision.lab.launcher", host.name, str(hd / "root"), str(hd)]
    _launcher_pidfile(host.name).write_text(f"{spawn_detached(cmd, log)}\n")


def ssh_command(host: LabHost, paths: LabPaths, user: str = "rocky") -> list[str]:
    return [
        "ssh",
        "-i",
        str(paths.key),
        "-o",
        f"UserKnownHostsFile={paths.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ConnectTimeout=5",
        *SSH_OPTS,
        f"{user}@{host.address}",
    ]


def _still_running(name: str) -> bool:
    """Second look (a process that is exec'ing can briefly show no command line)."""
    time.sleep(0.5)
    return is_running(name)


def _wait_ready(hosts: list[LabHost], paths: LabPaths, timeout: float = BOOT_TIMEOUT) -> None:
    """Until every host answers ssh with the lab key (or fail with its console log)."""
    deadline = time.monotonic() + timeout
    pending = list(hosts)
    while pending:
        for host in list(pending):
            if not is_running(host.name) and not _still_running(host.name):
                console = _host_dir(host.name) / "console.log"
                raise LabError(
                    f"{host.name} stopped while booting; its console:\n{tail(console, 30)}"
                )
            if _ssh_banner(host.address):
                proc = subprocess.run(
                    [*ssh_command(host, paths), "true"], capture_output=True, text=True
                )
                if proc.returncode == 0:
                    pending.remove(host)
        if pending and time.monotonic() > deadline:
            names = ", ".join(h.name for h in pending)
            raise LabError(f"{names}: no ssh after {timeout:.0f}s (see the console.log files)")
        if pending:
            time.sleep(0.3)


# ------------------------------------------------------------------ the lab


def running_hosts() -> list[LabHost]:
    return [
        LabHost(n, config.host_address(config.host_index(n)))
        for n in sorted(_known_host_names(), key=config.host_index)
        if is_running(n)
    ]


def _clean_stale() -> list[str]:
    """Clean leftovers of hosts whose launcher is gone. Returns what was cleaned."""
    cleaned = []
    for name in sorted(_known_host_names()):
        if is_running(name):
            continue
        left = _cleanup_runtime(name)
        if left:
            cleaned.append(f"{name}: {', '.join(left)}")
    return cleaned


def inventory_of(paths: LabPaths, hosts: Sequence[LabHost]) -> Path:
    """The inventory listing exactly these hosts: paths.inventory (inventories/lab.yml) for
    the default rocky1..rocky3, else .lab/inventory.yml beside the key."""
    return inventory.inventory_for(paths.inventory, [(h.name, h.address) for h in hosts])


def _write_access(paths: LabPaths, hosts: list[LabHost]) -> Path:
    """known_hosts for these hosts, and their inventory (never a tracked file: see
    inventory.write_inventory). Returns the inventory to use."""
    entries = [(h.name, h.address, _host_keys(h.name)) for h in hosts]
    inventory.write_private(paths.known_hosts, inventory.render_known_hosts(entries), 0o644)
    return inventory.write_inventory(paths.inventory, [(h.name, h.address) for h in hosts])


def host_key_lines(hosts: list[LabHost], paths: LabPaths) -> list[str]:
    """The hosts' key fingerprints (as `ssh-keygen -lf` shows them) and where they are
    recorded, to compare with what plain ssh shows."""
    lines = [f"host keys (recorded in {paths.known_hosts}):"]
    for host in hosts:
        for pub in _host_keys(host.name):
            lines.append(f"  {host.name} {host.address}  {inventory.key_fingerprint(pub)}")
    return lines


def _write_trust(paths: LabPaths, img: image.Image) -> None:
    """.lab/vars.yml: the fingerprint of this image's throwaway docker-ce signing key, which
    lab.yml's provision_vars_files reads (the committed lab.yml never changes)."""
    key = img.repos / RepoLayout().docker_gpg
    fingerprints = primary_fingerprints(key.read_bytes())
    write_lab_vars(paths, fingerprints[0])


def write_lab_vars(paths: LabPaths, docker_gpg_fingerprint: str) -> None:
    path = inventory.secret_dir(paths.inventory) / inventory.VARS_NAME
    inventory.write_private(path, inventory.render_lab_vars(docker_gpg_fingerprint), 0o644)


def lab_up(
    hosts: int = config.DEFAULT_HOSTS,
    inventory_path: Path | None = None,
    os_release: dict[str, str] | None = None,
    airgap_hosts: bool | None = None,
) -> list[LabHost]:
    """Boot rocky1..rocky<hosts> (building the image first if needed). Idempotent.

    `os_release` (host name → release key, `releases.parse_os_options`): the release each
    host says it is; None: rocky9 for hosts booted now, running hosts left as they are.

    Writes known_hosts, the key and vars.yml under .lab/ beside the inventory, never the
    inventory itself when it exists (inventories/lab.yml is tracked): hosts other than the
    default ones get .lab/inventory.yml (``inventory_of`` says which to use).

    `airgap_hosts`: True cuts every host up from the lab's package server and proxy
    (airgap.py), False gives them back, None leaves it as it is."""
    if not 1 <= hosts <= config.MAX_HOSTS:
        raise PrerequisiteError(f"--hosts must be between 1 and {config.MAX_HOSTS}")
    check_prerequisites(build=image.current_image() is None)
    paths = lab_paths(inventory_path)
    with lab_lock():
        for line in _clean_stale():
            echo(f"cleaned stale state of {line}")
        img = image.ensure_image()
        _write_trust(paths, img)
        for name in image.prune_cache():
            echo(f"removed an old or partial lab image from the cache: {name}")
        client_pub = _ensure_client_key(paths)
        net.ensure_bridge()
        _ensure_server(img)
        wanted = [lab_host(i) for i in range(1, hosts + 1)]
        already = running_hosts()
        to_start = [h for h in wanted if h not in already]
        chosen = os_release or {}
        for h in wanted:
            if h in already and h.name in chosen and host_release(h.name) != chosen[h.name]:
                raise LabError(
                    f"{h.name} is up as {host_release(h.name)}, not {chosen[h.name]}: run"
                    " `provision lab down` first (a release is chosen when a host boots)"
                )
        everyone = sorted(set(already) | set(wanted), key=lambda h: h.index)
        if not to_start:
            _write_access(paths, everyone)
            _set_airgap(everyone, img, airgap_hosts)
            if airgap_hosts is None:
                echo(f"the lab is already up: {', '.join(h.name for h in already)} (nothing to do)")
            return everyone
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda h: _host_keys(h.name), to_start))
            for host in to_start:
                release = chosen.get(host.name, releases.DEFAULT)
                _prepare_host(host, img, client_pub, everyone, release)
            _write_access(paths, everyone)
            for host in to_start:
                _launch(host)
            echo(f"booting {', '.join(h.name for h in to_start)} ...")
            _wait_ready(to_start, paths)
        except BaseException:
            echo("lab up failed: stopping what it started")
            for host in to_start:
                _stop_host(host.name)
                _cleanup_runtime(host.name)
            if not running_hosts():
                _stop_server()
                net.remove_bridge()
            raise
        echo(
            f"up in {time.monotonic() - started:.1f}s: "
            + ", ".join(f"{h.name} {h.address}" for h in to_start)
        )
        for line in host_key_lines(to_start, paths):
            echo(line)
        _set_airgap(everyone, img, airgap_hosts)
        return everyone


def _set_airgap(hosts: list[LabHost], img: image.Image, wanted: bool | None) -> None:
    if wanted is True:
        airgap.enable([h.address for h in hosts], img.rootfs)
        echo(
            f"air-gapped: {', '.join(h.name for h in hosts)} (no route to {config.REPO_BASE}"
            f" nor {config.PROXY_URL}; docs/airgap.md)"
        )
    elif wanted is False and airgap.disable(img.rootfs):
        echo("air gap removed: the hosts reach the lab's repos and proxy again")


def lab_down(wipe: bool = False, inventory_path: Path | None = None) -> list[str]:
    """Stop every lab host (and forget their disks with wipe). Returns the names stopped."""
    check_prerequisites(build=False)
    paths = lab_paths(inventory_path)
    with lab_lock():
        up = [h.name for h in running_hosts()]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(_stop_host, up))
        stale = []
        for name in sorted(_known_host_names()):
            left = _cleanup_runtime(name)
            if left and name not in up:
                stale.append(f"{name}: {', '.join(left)}")
        server = _stop_server()
        current = image.current_image()
        airgap.disable(current.rootfs if current else None)
        bridge = net.remove_bridge()
        net.ensure_safety_route()
        if up:
            echo(f"stopped {', '.join(up)}")
        for line in stale:
            echo(f"cleaned stale state of {line}")
        if not up and not stale:
            echo("the lab is not up (nothing to stop)" + ("" if server or bridge else ""))
        if wipe:
            safe_rmtree(config.STATE_ROOT / "hosts")
            paths.known_hosts.unlink(missing_ok=True)
            inventory.generated_inventory(paths.inventory).unlink(missing_ok=True)
            echo("wiped the hosts' disks and host keys")
        return up


def lab_clean(inventory_path: Path | None = None) -> None:
    """Down with wipe, then remove the cached image and repos and the lab's logs."""
    lab_down(wipe=True, inventory_path=inventory_path)
    with lab_lock():
        size = dir_size(config.CACHE_ROOT)
        safe_rmtree(config.CACHE_ROOT)
        safe_rmtree(config.STATE_ROOT)
        net.remove_safety_route()
        echo(f"removed the lab cache {config.CACHE_ROOT} ({size // 2**20} MB)")


def lab_reset(name: str, inventory_path: Path | None = None) -> LabHost:
    """Give one running host a fresh disk (same address and host keys) and boot it again."""
    host = lab_host(config.host_index(name))
    paths = lab_paths(inventory_path)
    with lab_lock():
        img = image.current_image()
        if img is None or not is_running(name):
            raise LabError(f"{name} is not up")
        _stop_host(name)
        _cleanup_runtime(name)
        hd = _host_dir(name)
        for sub in ("upper", "work", "docker", "containerd"):
            safe_rmtree(hd / sub)
        spare.forget(hd)
        everyone = sorted(set(running_hosts()) | {host}, key=lambda h: h.index)
        _prepare_host(host, img, _ensure_client_key(paths), everyone, host_release(name))
        _launch(host)
        _wait_ready([host], paths)
        return host


# ------------------------------------------------------------------ status


@dataclass
class HostStatus:
    host: LabHost
    state: str
    ssh: bool = False
    ram_bytes: int = 0
    disk_bytes: int = 0


@dataclass
class LabStatus:
    hosts: list[HostStatus]
    server: bool
    paths: LabPaths
    image_key: str
    image_ready: bool
    #: the inventory of the hosts up: inventories/lab.yml, or .lab/inventory.yml
    inventory: Path
    cache: dict[str, int] = field(default_factory=dict)

    @property
    def up(self) -> list[LabHost]:
        return [h.host for h in self.hosts if h.state == "running"]


def _host_ram(name: str) -> int:
    """Proportional memory (PSS) of every process of the host."""
    total = 0
    for cg in host_cgroups(name)[:1]:
        for pid in _cgroup_pids(cg):
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
            except (OSError, ValueError):
                pass
    return total


def lab_status(inventory_path: Path | None = None) -> LabStatus:
    paths = lab_paths(inventory_path)
    hosts = []
    for name in sorted(_known_host_names(), key=config.host_index):
        host = lab_host(config.host_index(name))
        running = is_running(name)
        stale = not running and (
            net.netns_exists(name) or is_mounted(_host_dir(name) / "root") or _nspawn_pid(name)
        )
        state = "running" if running else ("stale" if stale else "stopped")
        hosts.append(
            HostStatus(
                host,
                state,
                ssh=running and _ssh_banner(host.address),
                ram_bytes=_host_ram(name) if running else 0,
                disk_bytes=dir_size(_host_dir(name) / "upper")
                + dir_size(_host_dir(name) / "docker"),
            )
        )
    cache = {p.name: dir_size(p) for p in image.cached_entries() if p.is_dir()}
    key = image.cache_key()
    return LabStatus(
        hosts=hosts,
        server=_server_pid() is not None,
        paths=paths,
        image_key=key,
        image_ready=image.current_image() is not None,
        inventory=inventory_of(paths, [h.host for h in hosts if h.state == "running"]),
        cache=cache,
    )
