"""Inventory and known_hosts writing, the proxy's allow-list, prerequisites."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from provision.lab import config, core, inventory
from provision.lab.server import allowed_proxy_target


def test_inventory_matches_the_contract():
    text = inventory.render_inventory([("rocky1", "10.200.0.11"), ("rocky2", "10.200.0.12")])
    data = yaml.safe_load(text)
    v = data["all"]["vars"]
    assert v["ansible_user"] == "rocky"
    assert v["ansible_ssh_private_key_file"] == ".lab/id_ed25519"
    assert v["provision_known_hosts"] == ".lab/known_hosts"
    assert v["ansible_become"] is True
    assert v["lab_repo_base"] == config.REPO_BASE
    assert v["docker_repo_url"] == "{{ lab_repo_base }}/docker-ce/linux/rhel/docker-ce.repo"
    assert v["docker_gpg_key_url"] == "{{ lab_repo_base }}/docker-ce/linux/rhel/gpg"
    assert v["dnf_proxy"] == v["docker_http_proxy"] == v["docker_https_proxy"] == config.PROXY_URL
    assert v["selinux_allowed_modes"] == ["Enforcing", "Permissive", "Disabled"]
    hosts = data["all"]["children"]["docker_hosts"]["hosts"]
    assert hosts == {
        "rocky1": {"ansible_host": "10.200.0.11"},
        "rocky2": {"ansible_host": "10.200.0.12"},
    }


def test_committed_inventory_is_the_default_three_hosts():
    # the lab never writes it (tests/unit/lab/test_lab_tracked.py), so the working copy is it
    path = core.default_inventory()
    if not path.is_file():
        pytest.skip(f"no {path} here (not a checkout)")
    assert path.read_text() == inventory.render_inventory(inventory.default_hosts())
    assert inventory.default_hosts() == [
        ("rocky1", "10.200.0.11"),
        ("rocky2", "10.200.0.12"),
        ("rocky3", "10.200.0.13"),
    ]


def test_known_hosts_lists_every_key_by_address_and_name():
    text = inventory.render_known_hosts(
        [("rocky1", "10.200.0.11", ["ssh-ed25519 AAAA1 root@rocky1", "ssh-rsa BBBB root@rocky1"])]
    )
    assert text.splitlines() == [
        "10.200.0.11,rocky1 ssh-ed25519 AAAA1",
        "10.200.0.11,rocky1 ssh-rsa BBBB",
    ]


def test_private_files_and_folder_modes(tmp_path):
    inv = tmp_path / "inventories" / "lab.yml"
    key = inventory.secret_dir(inv) / "id_ed25519"
    inventory.write_private(key, "secret", 0o600)
    assert stat.S_IMODE(os.stat(key.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    used = inventory.write_inventory(inv, [("rocky1", "10.200.0.11")])
    assert used == inventory.secret_dir(inv) / "inventory.yml"
    assert stat.S_IMODE(os.stat(used).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(used.parent).st_mode) == 0o700
    hosts = yaml.safe_load(used.read_text())["all"]["children"]["docker_hosts"]["hosts"]
    assert hosts == {"rocky1": {"ansible_host": "10.200.0.11"}}


def test_lab_paths_are_discoverable(tmp_path):
    paths = core.lab_paths(tmp_path / "inv" / "lab.yml")
    assert paths.key == tmp_path / "inv" / ".lab" / "id_ed25519"
    assert paths.known_hosts == tmp_path / "inv" / ".lab" / "known_hosts"
    assert paths.proxy_log.name == "proxy.log"
    assert paths.repo_base == config.REPO_BASE and paths.proxy_url == config.PROXY_URL


def test_proxy_serves_only_the_lab_repos():
    base = config.REPO_BASE
    assert allowed_proxy_target(f"{base}/rocky/9/BaseOS/x86_64/os/repodata/repomd.xml") == (
        "/rocky/9/BaseOS/x86_64/os/repodata/repomd.xml"
    )
    assert allowed_proxy_target("http://example.com/") is None
    assert allowed_proxy_target(f"http://{config.BRIDGE_ADDR}:22/") is None
    assert allowed_proxy_target("https://download.docker.com/linux/rhel/gpg") is None
    assert allowed_proxy_target("download.docker.com:443") is None


def test_prerequisites_say_what_is_missing(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(core.shutil, "which", lambda cmd: None if cmd == "mmdebstrap" else "/x")
    problems = core.prerequisite_problems(build=True)
    assert any("not root" in p for p in problems)
    assert any("apt-get install mmdebstrap" in p for p in problems)
    assert not any("mmdebstrap" in p for p in core.prerequisite_problems(build=False))
