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
#: the inventory `lab up` writes when the hosts up are not the default ones
GENERATED_NAME = "inventory.yml"
SECRET_DIR = ".lab"


def render_inventory(hosts: Sequence[tuple[str, str]], *, generated: bool = False) -> str:
    """The lab's inventory for hosts given as (name, address).

    Not generated: inventories/lab.yml, the committed file (the default hosts), which the key,
    known_hosts and vars.yml sit beside in .lab/. Generated: .lab/inventory.yml, written by
    `lab up` when the hosts up are not the default ones; it sits beside them.
    """
    where = "" if generated else f"{SECRET_DIR}/"
    if generated:
        header = [
            "# Written by `provision lab up` for the hosts up now, which are not the default",
            f"# {config.DEFAULT_HOSTS} that inventories/lab.yml lists (see docs/lab.md). Each"
            " `lab up` rewrites it.",
            "# The key, known_hosts and vars.yml sit beside it (not in git).",
        ]
    else:
        header = [
            f"# The container lab's {config.DEFAULT_HOSTS} hosts, as `provision lab up` starts"
            " them (see docs/lab.md).",
            "# The lab never writes this file: when the hosts up are other ones (`lab up --hosts"
            " N`),",
            f"# it writes {SECRET_DIR}/{GENERATED_NAME} and says so. The key, known_hosts and"
            f" vars.yml live in {SECRET_DIR}/",
            "# next to this file (not in git).",
        ]
    lines = [
        *header,
        "all:",
        "  vars:",
        "    ansible_user: rocky",
        f"    ansible_ssh_private_key_file: {where}{KEY_NAME}",
        f"    provision_known_hosts: {where}{KNOWN_HOSTS_NAME}",
        "    provision_known_hosts_only: true  # not ~/.ssh/known_hosts: a wipe makes new keys",
        "    # docker_gpg_fingerprint (the lab image's own docker-ce signing key) is written by",
        "    # `provision lab up` into this file, read as if it were group_vars/all.yml:",
        f"    provision_vars_files: [{where}{VARS_NAME}]",
        "    ansible_become: true",
        f"    lab_repo_base: {config.REPO_BASE}",
        '    docker_repo_url: "{{ lab_repo_base }}/' + config.DOCKER_PATH + '/docker-ce.repo"',
        '    docker_gpg_key_url: "{{ lab_repo_base }}/' + config.DOCKER_PATH + '/gpg"',
        f"    dnf_proxy: {config.PROXY_URL}",
        f"    docker_http_proxy: {config.PROXY_URL}",
        f"    docker_https_proxy: {config.PROXY_URL}",
        "    docker_no_proxy: localhost,127.0.0.1",
        "    selinux_allowed_modes: [Enforcing, Permissive, Disabled]",
        f"    docker_check_image_tarball: {config.BUSYBOX_ON_HOST}",
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


def default_hosts() -> list[tuple[str, str]]:
    """(name, address) of the hosts inventories/lab.yml lists: rocky1..rocky3."""
    return [
        (config.host_name(i), config.host_address(i)) for i in range(1, config.DEFAULT_HOSTS + 1)
    ]


def generated_inventory(inventory: Path) -> Path:
    """Where `lab up` writes the inventory of hosts other than the default ones."""
    return secret_dir(inventory) / GENERATED_NAME


def inventory_for(inventory: Path, hosts: Sequence[tuple[str, str]]) -> Path:
    """The inventory that lists exactly these hosts: the committed one for the default
    hosts (and when none is up), else the generated one."""
    if not hosts or list(hosts) == default_hosts():
        return inventory
    return generated_inventory(inventory)


def write_inventory(inventory: Path, hosts: Sequence[tuple[str, str]]) -> Path:
    """Make the inventory of these hosts available; return its path.

    The inventory at `inventory` (inventories/lab.yml, tracked by git in a checkout) is never
    rewritten: it is written only when it does not exist (a project outside the checkout),
    with the default hosts. Other hosts go to .lab/inventory.yml beside the key (git-ignored);
    for the default hosts a leftover .lab/inventory.yml is removed, so it never lists hosts
    that are not up.
    """
    if not inventory.exists():
        inventory.parent.mkdir(parents=True, exist_ok=True)
        _write_new(inventory, render_inventory(default_hosts()))
    target = inventory_for(inventory, hosts)
    generated = generated_inventory(inventory)
    if target == generated:
        write_private(generated, render_inventory(hosts, generated=True), 0o644)
    else:
        generated.unlink(missing_ok=True)
    return target


def _write_new(path: Path, text: str) -> None:
    """Create path with text; never replace a file that exists (O_EXCL), no temporary file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
