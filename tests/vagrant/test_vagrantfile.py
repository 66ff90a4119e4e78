"""The Vagrantfile is valid for Vagrant, and inventories/vagrant.yml matches its hosts.

`vagrant validate --ignore-provider` runs when Vagrant is installed (scripts/test installs
Debian's `vagrant`); without it the test fails when CI is set and is skipped otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from provision.project.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[2]
VAGRANTFILE = ROOT / "Vagrantfile"
INVENTORY = ROOT / "inventories" / "vagrant.yml"

_HOSTS_BLOCK = re.compile(r"^HOSTS = \{\n(?P<body>.*?)^\}", re.M | re.S)
_HOST_LINE = re.compile(r'^\s*"(?P<name>[^"]+)"\s*=>\s*"(?P<address>[^"]+)",?\s*$')
_CONSTANT = re.compile(r'^(?P<name>[A-Z_]+) = (?P<value>"[^"]*"|\d+)', re.M)


def vagrantfile_hosts() -> dict[str, str]:
    """HOSTS of the Vagrantfile: a Ruby hash literal, one `"name" => "address",` a line."""
    match = _HOSTS_BLOCK.search(VAGRANTFILE.read_text())
    assert match, "the Vagrantfile must define `HOSTS = {` ... `}` at the top"
    hosts = {}
    for line in match.group("body").splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        entry = _HOST_LINE.match(line)
        assert entry, f"unexpected line in HOSTS: {line!r}"
        hosts[entry.group("name")] = entry.group("address")
    return hosts


def vagrantfile_constants() -> dict[str, str]:
    return {
        m.group("name"): m.group("value").strip('"')
        for m in _CONSTANT.finditer(VAGRANTFILE.read_text())
    }


def vagrant_env(tmp_path: Path) -> dict[str, str]:
    """Vagrant's state (.vagrant/, ~/.vagrant.d) in a temporary folder, not in the repo."""
    env = dict(os.environ)
    env["VAGRANT_DOTFILE_PATH"] = str(tmp_path / "dotfile")
    env["VAGRANT_HOME"] = str(tmp_path / "home")
    env["VAGRANT_CHECKPOINT_DISABLE"] = "1"  # no version check over the network
    env["VAGRANT_NO_PLUGINS"] = "1"
    env.pop("PROVISION_HOSTS", None)
    return env


def require_vagrant() -> str:
    path = shutil.which("vagrant")
    if path is None:
        why = "vagrant is not installed (Debian: apt-get install vagrant; scripts/test does)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return path


def test_inventory_has_every_vagrant_host_with_its_address():
    hosts = vagrantfile_hosts()
    assert len(hosts) >= 2
    inventory = load_inventory(INVENTORY)
    assert sorted(inventory.match("docker_hosts")) == sorted(hosts)
    for name, address in hosts.items():
        merged, _ = inventory.host_variables(name)
        assert merged["ansible_host"] == address, name


def test_addresses_are_private_and_distinct():
    addresses = list(vagrantfile_hosts().values())
    assert len(set(addresses)) == len(addresses)
    for address in addresses:
        assert ipaddress.ip_address(address).is_private, address


def test_box_and_sizes_are_settings_at_the_top():
    constants = vagrantfile_constants()
    assert constants["BOX_NAME"] == "rockylinux/9"
    assert re.fullmatch(r"9\.\d+-\d{8}\.\d+", constants["BOX_VERSION"])
    assert int(constants["DEFAULT_HOSTS"]) == 2
    text = VAGRANTFILE.read_text()
    for setting in ("CPUS", "MEMORY_MB", "DOCKER_DISK_GB"):
        assert re.search(rf"^{setting} = Integer\(ENV\.fetch\(", text, re.M), setting
    # Hosts come up bare: provision does the work, not a Vagrant provisioner.
    assert ".vm.provision" not in text


def test_key_path_in_inventory_matches_vagrant_layout():
    inventory = load_inventory(INVENTORY)
    merged, _ = inventory.host_variables("rocky1")
    assert merged["ansible_ssh_private_key_file"] == (
        "../.vagrant/machines/{{ inventory_hostname }}/{{ vagrant_provider }}/private_key"
    )
    assert merged["vagrant_provider"] in ("virtualbox", "libvirt")


@pytest.mark.parametrize("count", [None, "1", "3"])
def test_vagrant_validate(tmp_path, count):
    vagrant = require_vagrant()
    env = vagrant_env(tmp_path)
    if count:
        env["PROVISION_HOSTS"] = count
    proc = subprocess.run(
        [vagrant, "validate", "--ignore-provider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "validated successfully" in proc.stdout
    expected = list(vagrantfile_hosts())[: int(count or 2)]
    machines = re.findall(r"==> (\S+): Ignoring provider config", proc.stdout)
    assert machines == expected


def test_vagrant_refuses_too_many_hosts(tmp_path):
    vagrant = require_vagrant()
    env = vagrant_env(tmp_path)
    env["PROVISION_HOSTS"] = str(len(vagrantfile_hosts()) + 1)
    proc = subprocess.run(
        [vagrant, "validate", "--ignore-provider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0
    assert "PROVISION_HOSTS must be 1..3" in proc.stdout + proc.stderr


def test_inventory_sets_the_second_disk_for_docker_storage():
    """The Vagrantfile gives each host a second, blank disk; the inventory hands it to
    docker_storage (libvirt: /dev/vdb, VirtualBox: /dev/sdb)."""
    text = VAGRANTFILE.read_text()
    assert re.search(r'override\.vm\.disk :disk, name: "docker"', text)
    assert re.search(r"lv\.storage :file, size: \"#\{DOCKER_DISK_GB\}G\"", text)
    inventory = load_inventory(INVENTORY)
    merged, _ = inventory.host_variables("rocky1")
    assert "docker_storage_device" in merged
    from jinja2 import Environment

    template = Environment().from_string(merged["docker_storage_device"])
    assert template.render(vagrant_provider="libvirt") == "/dev/vdb"
    assert template.render(vagrant_provider="virtualbox") == "/dev/sdb"
