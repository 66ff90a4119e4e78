"""The lab's Ansible-style YAML inventory and known_hosts (pure text generation + writing)."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import config

KEY_NAME = "id_ed25519"
KNOWN_HOSTS_NAME = "known_hosts"
VARS_NAME = "vars.yml"
SECRET_DIR = ".lab"


def render_inventory(hosts: Sequence[tuple[str, str]]) -> str:
    """inventories/lab.yml for hosts given as (name, address)."""
    lines = [
        "# Written by `provision lab up`: the container lab's hosts (see docs/lab.md).",
        "# The key and known_hosts live in .lab/ next to this file (not in git).",
        "all:",
        "  vars:",
        "    ansible_user: rocky",
        f"    ansible_ssh_private_key_file: {SECRET_DIR}/{KEY_NAME}",
        f"    provision_known_hosts: {SECRET_DIR}/{KNOWN_HOSTS_NAME}",
        "    provision_known_hosts_only: true  # not ~/.ssh/known_hosts: a wipe makes new keys",
        "    # docker_gpg_fingerprint (the lab image's own docker-ce signing key) is written by",
        "    # `provision lab up` into this file, read as if it were group_vars/all.yml:",
        f"    provision_vars_files: [{SECRET_DIR}/{VARS_NAME}]",
        "    ansible_become: true",
        f"    lab_repo_base: {config.REPO_BASE}",
        '    docker_repo_url: "{{ lab_repo_base }}/' + config.DOCKER_PATH + '/docker-ce.repo"',
        '    docker_gpg_key_url: "{{ lab_repo_base }}/' + config.DOCKER_PATH + '/gpg"',
        f"    dnf_proxy: {config.PROXY_URL}",
        f"    docker_http_proxy: {config.PROXY_URL}",
        f"    docker_https_proxy: {config.PROXY_URL}",
        "    docker_no_proxy: localhost,127.0.0.1",
        "    selinux_allowed_modes: [Enforcing, Permissive, Disabled]",
        "    docker_check_image_tarball: /opt/lab/busybox-rootfs.tar",
        "  children:",
        "    docker_hosts:",
        "      hosts:",
    ]
    if not hosts:
        lines[-1] = "      hosts: {}"
    for name, address in hosts:
        lines.append(f"        {name}: {{ansible_host: {address}}}")
    return "\n".join(lines) + "\n"


def render_lab_vars(docker_gpg_fingerprint: str) -> str:
    """.lab/vars.yml: variables only this machine's lab image knows."""
    return (
        "# Written by `provision lab up`: the fingerprint of the lab image's throwaway\n"
        "# docker-ce signing key (made when the image was built), pinned for docker_repo.\n"
        f'docker_gpg_fingerprint: "{docker_gpg_fingerprint}"\n'
    )


def render_known_hosts(entries: Iterable[tuple[str, str, Sequence[str]]]) -> str:
    """known_hosts lines: for each (name, address, public key lines), by address and name."""
    out = []
    for name, address, pubkeys in entries:
        for pub in pubkeys:
            keytype, key = pub.split()[:2]
            out.append(f"{address},{name} {keytype} {key}")
    return "\n".join(out) + ("\n" if out else "")


def key_fingerprint(pub: str) -> str:
    """`ssh-keygen -lf` of one public key line: "256 SHA256:... root@rocky1 (ED25519)"."""
    words = pub.split()
    keytype, blob = words[0], base64.b64decode(words[1], validate=True)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    comment = " ".join(words[2:]) or "no comment"
    return f"{_key_bits(keytype, blob)} SHA256:{digest} {comment} ({_KEY_LABELS[keytype]})"


_KEY_LABELS = {
    "ssh-ed25519": "ED25519",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
    "ssh-rsa": "RSA",
}


def _key_bits(keytype: str, blob: bytes) -> int:
    if keytype == "ssh-ed25519":
        return 256
    if keytype.startswith("ecdsa-sha2-nistp"):
        return int(keytype.removeprefix("ecdsa-sha2-nistp"))
    # ssh-rsa: string "ssh-rsa", mpint e, mpint n
    fields, offset = [], 0
    for _ in range(3):
        size = int.from_bytes(blob[offset : offset + 4], "big")
        fields.append(blob[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return int.from_bytes(fields[2], "big").bit_length()


def secret_dir(inventory: Path) -> Path:
    return inventory.parent / SECRET_DIR


def write_private(path: Path, text: str, mode: int = 0o644) -> None:
    """Write text atomically with mode; the folder is created 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_inventory(inventory: Path, hosts: Sequence[tuple[str, str]]) -> None:
    inventory.parent.mkdir(parents=True, exist_ok=True)
    tmp = inventory.with_name(f".{inventory.name}.tmp")
    tmp.write_text(render_inventory(hosts))
    os.replace(tmp, inventory)
