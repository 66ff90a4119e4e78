"""The lab's hosts are checked against the lab's own known_hosts only, and `lab up` shows
their key fingerprints exactly as `ssh-keygen -lf` does."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from provision.lab import config, core, inventory
from provision.project.hostconfig import host_config
from provision.project.templating import Variables


def lab_inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventories" / "lab.yml"
    inventory.write_inventory(path, [("rocky1", "10.200.0.11"), ("rocky2", "10.200.0.12")])
    return path


def test_lab_inventory_asks_for_its_own_known_hosts_only(tmp_path: Path) -> None:
    path = lab_inventory(tmp_path)
    variables = yaml.safe_load(path.read_text())["all"]["vars"]
    assert variables["provision_known_hosts_only"] is True
    cfg = host_config("rocky1", Variables(variables), path.parent, False, None)
    assert cfg.known_hosts_only is True
    assert cfg.known_hosts == str(core.lab_paths(path).known_hosts)


def test_committed_lab_inventory_has_the_variable() -> None:
    text = (Path(__file__).resolve().parents[3] / "inventories" / "lab.yml").read_text()
    assert yaml.safe_load(text)["all"]["vars"]["provision_known_hosts_only"] is True


KEYS = [
    ("ed25519", []),
    ("ecdsa", ["-b", "256"]),
    ("ecdsa", ["-b", "384"]),
    ("ecdsa", ["-b", "521"]),
    ("rsa", ["-b", "1024"]),
    ("rsa", ["-b", "3072"]),
]


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
@pytest.mark.parametrize(("kind", "extra"), KEYS, ids=[f"{k}{''.join(e)}" for k, e in KEYS])
@pytest.mark.parametrize("comment", ["root@rocky1", "two words", ""])
def test_fingerprint_is_what_ssh_keygen_prints(
    kind: str, extra: list[str], comment: str, tmp_path: Path
) -> None:
    key = tmp_path / "key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", comment, "-f", str(key)],
        check=True,
    )
    pub = key.with_name("key.pub").read_text()
    expected = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(key.with_name("key.pub"))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert inventory.key_fingerprint(pub) == expected


@pytest.mark.parametrize("pub", ["", "ssh-ed25519", "ssh-ed25519 !!!", "ssh-dss AAAA"])
def test_fingerprint_of_a_broken_line_raises(pub: str) -> None:
    with pytest.raises((IndexError, ValueError, KeyError)):
        inventory.key_fingerprint(pub)


def test_up_lists_each_new_hosts_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pubs = {}
    for name in ("rocky1", "rocky2"):
        key = tmp_path / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{name}", "-f", str(key)],
            check=True,
        )
        pubs[name] = [key.with_name(f"{name}.pub").read_text().strip()]
    monkeypatch.setattr(core, "_host_keys", lambda name: pubs[name])
    paths = core.lab_paths(lab_inventory(tmp_path))
    hosts = [core.lab_host(1), core.lab_host(2)]
    lines = core.host_key_lines(hosts, paths)
    assert lines[0] == f"host keys (recorded in {paths.known_hosts}):"
    assert len(lines) == 3
    for line, host in zip(lines[1:], hosts, strict=True):
        assert line.startswith(f"  {host.name} {config.host_address(host.index)}  256 SHA256:")
        assert line.endswith(f"root@{host.name} (ED25519)")
        assert inventory.key_fingerprint(pubs[host.name][0]) in line
