"""playbooks/docker-host.yml (roles dnf_proxy .. docker_check) as a pyinfra 3 deploy, with
the container lab's variables. Run: `pyinfra -y --sudo inventory.py deploy.py` (apply),
`pyinfra --sudo --dry inventory.py deploy.py` (dry run). Idempotent: a second run changes
nothing. Read-only checks are operations that read a fact when they execute and yield no
command, so they never count as changes (pyinfra 3 runs an operation's body again at
execution time, with live facts). The pinned docker-ce key fingerprint is inventory data
(`docker_gpg_fingerprint`, which the harness copies from the lab's .lab/vars.yml)."""

from __future__ import annotations

import json
from collections.abc import Generator
from io import StringIO

from pyinfra import host
from pyinfra.api import FactBase, OperationError, operation
from pyinfra.facts.files import FindInFile
from pyinfra.facts.rpm import RpmPackages
from pyinfra.operations import dnf, files, server, systemd
from pyinfra.operations.util import any_changed

LAB = "http://10.200.0.1:8080"
PROXY = "http://10.200.0.1:3128"
DOCKER_REPO_URL = f"{LAB}/docker-ce/linux/rhel/docker-ce.repo"
DOCKER_REPO_FILE = "/etc/yum.repos.d/docker-ce.repo"
DOCKER_GPG_KEY_URL = f"{LAB}/docker-ce/linux/rhel/gpg"
DOCKER_GPG_KEY_FILE = "/etc/pki/rpm-gpg/RPM-GPG-KEY-docker-ce"
#: prints the primary key fingerprints of the OpenPGP keys on stdin, one a line
PRIMARY_FINGERPRINTS = (
    'gpg --homedir "$h" --show-keys --with-colons 2>/dev/null'
    ' | awk -F: \'$1 == "pub" || $1 == "sec" { p = 1; next }'
    ' $1 == "fpr" && p { print $10; p = 0 }\''
)
SELINUX_ALLOWED_MODES = ["Enforcing", "Permissive", "Disabled"]
CONFLICTING = [
    "podman",
    "podman-docker",
    "runc",
    "buildah",
    "docker",
    "docker-client",
    "docker-client-latest",
    "docker-common",
    "docker-latest",
    "docker-latest-logrotate",
    "docker-logrotate",
    "docker-engine",
]
DOCKER_PACKAGES = [
    "docker-ce",
    "docker-ce-cli",
    "containerd.io",
    "docker-buildx-plugin",
    "docker-compose-plugin",
]
STORAGE_DRIVER = "overlay2"
DAEMON = {
    "log-driver": "json-file",
    "log-opts": {"max-file": "3", "max-size": "10m"},
    "storage-driver": STORAGE_DRIVER,
}
DROP_IN = (
    "# Managed by provision (role docker_engine): proxy for the Docker engine.\n"
    "[Service]\n"
    f'Environment="HTTP_PROXY={PROXY}" "HTTPS_PROXY={PROXY}" "NO_PROXY=localhost,127.0.0.1"\n'
)


class UpdatesPending(FactBase):
    """Whether `dnf -q check-update` lists updates (exit 100) or not (exit 0)."""

    def command(self) -> str:
        return "dnf -q check-update >/dev/null 2>&1; echo $?"

    def process(self, output: list[str]) -> bool:
        code = output[-1].strip() if output else ""
        if code not in ("0", "100"):
            raise OperationError(f"dnf check-update failed (exit {code or '?'})")
        return code == "100"


class CommandOutput(FactBase):
    """A read-only command's stdout (stripped); None when its program is missing."""

    def command(self, command: str) -> str:
        program = command.split()[0]
        return f"command -v {program} >/dev/null || {{ echo __missing__; exit 0; }}; {command}"

    def process(self, output: list[str]) -> str | None:
        text = "\n".join(output).strip()
        return None if text == "__missing__" else text


class ImportedKeyFingerprints(FactBase):
    """The full fingerprints of the keys in the rpm database (gpg in a throwaway home)."""

    def command(self) -> str:
        return (
            "h=$(mktemp -d) || exit 1; for n in $(rpm -qa gpg-pubkey); do"
            f" rpm -q --qf '%{{DESCRIPTION}}' \"$n\" | {PRIMARY_FINGERPRINTS}; done;"
            ' rm -rf "$h"'
        )

    def process(self, output: list[str]) -> list[str]:
        return [line.strip().upper() for line in output if line.strip()]


@operation()
def rpm_key(path: str, fingerprint: str) -> Generator[str, None, None]:
    """The key in `path` imported, only when it is exactly one key with `fingerprint`
    (checked on the host when it runs: the file may be downloaded by an earlier operation)."""
    wanted = fingerprint.replace(" ", "").upper()
    if wanted in host.get_fact(ImportedKeyFingerprints):
        host.noop(f"GPG key {wanted} is imported")
        return
    yield (
        f'h=$(mktemp -d) && f=$({{ {PRIMARY_FINGERPRINTS}; }} < {path}); rm -rf "$h";'
        f' if [ "$f" != {wanted} ]; then'
        f" echo 'refusing {path}: its keys are '$f', the pinned fingerprint is {wanted}' >&2;"
        f" exit 1; fi; rpm --import {path}"
    )


@operation()
def system_up_to_date() -> Generator[str, None, None]:
    """`dnf upgrade` only when `dnf -q check-update` lists something (dnf.update always runs)."""
    if host.get_fact(UpdatesPending):
        yield "dnf -y upgrade"
    else:
        host.noop("no updates pending")


@operation()
def check(command: str, allowed: list[str], label: str) -> Generator[str, None, None]:
    """Read-only assertion: the command's output must be one of `allowed` (or, with an
    empty list, anything non-empty). Yields nothing: never a change."""
    found = host.get_fact(CommandOutput, command=command)
    if found is None:
        host.noop(f"{label}: not checked yet ({command.split()[0]} is not installed)")
        return
    if (allowed and found not in allowed) or not found:
        raise OperationError(f"{label}: expected {allowed or 'an answer'}, found {found!r}")
    host.noop(f"{label}: {found}")
    yield from ()


@operation()
def repo_gpgkey(path: str, gpgkey: str) -> Generator[str, None, None]:
    """Every gpgkey= line of a .repo file points at `gpgkey` (sed only if one does not)."""
    lines = host.get_fact(FindInFile, path=path, pattern="^gpgkey=")
    wanted = f"gpgkey={gpgkey}"
    if lines is None or all(line == wanted for line in lines):
        host.noop(f"{path}: gpgkey={gpgkey}")
        return
    yield f"sed -i 's|^gpgkey=.*|{wanted}|' {path}"


# dnf_proxy
files.line(
    name="dnf proxy URL in dnf.conf [main]",
    path="/etc/dnf/dnf.conf",
    line=r"^proxy=.*$",
    replace=f"proxy={PROXY}",
)
files.line(
    name="no stale dnf proxy user name",
    path="/etc/dnf/dnf.conf",
    line=r"^proxy_username=.*$",
    present=False,
)
files.line(
    name="no stale dnf proxy password",
    path="/etc/dnf/dnf.conf",
    line=r"^proxy_password=.*$",
    present=False,
)

# os_update
system_up_to_date(name="system packages up to date")

# security_baseline
check(
    name="firewalld is active",
    command="systemctl is-active firewalld",
    allowed=["active"],
    label="firewalld",
)
check(
    name="SELinux mode is allowed",
    command="getenforce",
    allowed=SELINUX_ALLOWED_MODES,
    label="SELinux",
)

# ip_forward
server.sysctl(
    name="IPv4 forwarding on, live and persisted",
    key="net.ipv4.ip_forward",
    value=1,
    persist=True,
    persist_file="/etc/sysctl.d/99-docker.conf",
)

# container_cleanup: only what is installed under its own name (containerd.io provides runc)
installed = host.get_fact(RpmPackages)
conflicting = [name for name in CONFLICTING if name in installed]
if conflicting:
    dnf.packages(name="conflicting container packages removed", packages=conflicting, present=False)

# docker_repo: the key through the dnf proxy, imported only with the pinned fingerprint
files.download(
    name="Docker's GPG key downloaded",
    src=DOCKER_GPG_KEY_URL,
    dest=DOCKER_GPG_KEY_FILE,
    user="root",
    group="root",
    mode="644",
    proxy=PROXY,
)
rpm_key(
    name="Docker's GPG key imported, its fingerprint checked",
    path=DOCKER_GPG_KEY_FILE,
    fingerprint=host.data.docker_gpg_fingerprint,
)
dnf.packages(name="dnf-plugins-core installed", packages=["dnf-plugins-core"])
dnf.repo(name="Docker CE repository added", src=DOCKER_REPO_URL)
repo_gpgkey(
    name="Docker CE repository uses the checked key",
    path=DOCKER_REPO_FILE,
    gpgkey=f"file://{DOCKER_GPG_KEY_FILE}",
)

# docker_engine
server.group(name="docker group exists", group="docker", system=True)
files.directory(name="/etc/docker exists", path="/etc/docker", mode="755")
daemon_json = files.put(
    name="daemon.json",
    src=StringIO(json.dumps(DAEMON, indent=2, sort_keys=True) + "\n"),
    dest="/etc/docker/daemon.json",
    mode="644",
)
files.directory(
    name="docker.service drop-in directory exists",
    path="/etc/systemd/system/docker.service.d",
    mode="755",
)
drop_in = files.put(
    name="engine proxy drop-in",
    src=StringIO(DROP_IN),
    dest="/etc/systemd/system/docker.service.d/http-proxy.conf",
    mode="644",
)
dnf.packages(name="Docker CE packages", packages=DOCKER_PACKAGES)
systemd.service(
    name="Docker engine enabled and running", service="docker", running=True, enabled=True
)
systemd.service(
    name="restart docker (its configuration changed)",
    service="docker",
    restarted=True,
    daemon_reload=True,
    _if=any_changed(daemon_json, drop_in),
)

# docker_check
check(
    name="Docker engine answers",
    command="docker info --format '{{.ServerVersion}}'",
    allowed=[],
    label="docker info",
)
check(
    name="Docker storage driver is the configured one",
    command="docker info --format '{{.Driver}}'",
    allowed=[STORAGE_DRIVER],
    label="storage driver",
)
