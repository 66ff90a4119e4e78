"""What the air-gap and registry lab modules share (test_airgap.py, test_airgap_chain.py,
test_registry.py): the `provision` runner, the registry plays, the password check on
every output, the proxy/package-server log readers, the offline inventory and a bundle
copy with one byte changed. Plain functions: each module keeps its own fixtures, so no
lab work is added or shared between modules."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.lab.conftest import LabSession
from tests.lab.labinv import derived_inventory

ROOT = Path(__file__).resolve().parents[2]


def provision(*args: str, transcript_var: str = "") -> subprocess.CompletedProcess:
    """`python -m provision ARGS` in the repository; with `transcript_var` naming a set
    environment variable, the command and its output are appended to that file."""
    done = subprocess.run(
        [sys.executable, "-m", "provision", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    transcript = os.environ.get(transcript_var) if transcript_var else None
    if transcript:
        with open(transcript, "a") as handle:
            handle.write(
                f"$ provision {' '.join(args)}\n{done.stdout}{done.stderr}"
                f"[rc {done.returncode}]\n\n"
            )
    return done


def registry_plays(
    password: str,
    registry: str,
    image: str,
    name: str = "the private registry",
    registry_vars: str = "",
) -> str:
    """The playbook's last two plays: rocky1 runs the registry (user alice), rocky1 and
    rocky2 trust it, log in and check `image` from it. `registry_vars`: more lines of the
    registry play's vars (indented four spaces)."""
    return f"""\
- name: {name}
  hosts: rocky1
  become: true
  vars:
    docker_registry_users:
      - {{name: alice, password: "{password}"}}
{registry_vars}  roles: [docker_registry]

- name: Docker hosts trust and use it
  hosts: rocky1,rocky2
  become: true
  vars:
    docker_registry_client_registry: "{registry}"
    docker_registry_client_user: alice
    docker_registry_client_password: "{password}"
    docker_check_registry_image: "{image}"
    docker_check_registry_args: [--version]
  roles: [docker_registry_client, docker_check]
"""


def assert_no_secret(procs: Iterable[subprocess.CompletedProcess], secrets: Iterable[str]) -> None:
    secrets = tuple(secrets)
    for proc in procs:
        for secret in secrets:
            assert secret not in proc.stdout and secret not in proc.stderr, "a password leaked"


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def log_lines(path: Path, offset: int, address: str) -> list[str]:
    """The lines of a lab log written after `offset` that name `address`."""
    if not path.exists():
        return []
    with open(path, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    return [line for line in text.splitlines() if f" {address} " in f" {line} "]


def corrupted_copy(bundle: Path, target: Path, member: Callable[[str], bool]) -> tuple[Path, str]:
    """The bundle with one byte changed inside the first member whose name `member` accepts."""
    data = bytearray(bundle.read_bytes())
    with tarfile.open(bundle) as archive:
        found = next(m for m in archive.getmembers() if member(m.name))
    data[found.offset_data + found.size // 2] ^= 0x01
    target.write_bytes(bytes(data))
    return target, found.name


def offline_inventory(session: LabSession, target: Path, bundle: Path) -> Path:
    """The lab inventory with `offline_bundle` set and no proxy (an air-gapped site)."""

    def change(data: dict) -> None:
        variables = data["all"]["vars"]
        variables["offline_bundle"] = str(bundle)
        for key in ("dnf_proxy", "docker_http_proxy", "docker_https_proxy"):
            variables[key] = ""  # an air-gapped site has no proxy either

    return derived_inventory(session.inventory, target, change)
