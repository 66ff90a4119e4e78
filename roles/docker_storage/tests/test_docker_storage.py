"""Checks Docker's data root is the role's logical volume: xfs (ftype=1) or ext4, mounted
now and in /etc/fstab, and the engine's drop-in requires the mount."""

import json
import shlex
from typing import Any

import pytest
from testinfra.host import Host


def _enabled(role_vars: dict[str, Any]) -> None:
    if not role_vars["docker_storage_device"]:
        pytest.skip("docker_storage_device is empty: the role does nothing")


def _data_root(role_vars: dict[str, Any]) -> str:
    return role_vars["docker_data_root"] or "/var/lib/docker"


def test_logical_volume_mounted_at_data_root(host: Host, role_vars: dict[str, Any]) -> None:
    _enabled(role_vars)
    root = _data_root(role_vars)
    out = host.check_output("findmnt -J -o SOURCE,FSTYPE --mountpoint " + shlex.quote(root))
    mounted = json.loads(out)["filesystems"][-1]
    vg, lv = role_vars["docker_storage_vg"], role_vars["docker_storage_lv"]
    # LVM names /dev/mapper/VG-LV with each `-` in a name doubled
    mapper = f"/dev/mapper/{vg.replace('-', '--')}-{lv.replace('-', '--')}"
    assert mounted["source"] in (mapper, f"/dev/{vg}/{lv}")
    assert mounted["fstype"] == role_vars["docker_storage_fstype"]


def test_xfs_has_ftype_1(host: Host, role_vars: dict[str, Any]) -> None:
    _enabled(role_vars)
    if role_vars["docker_storage_fstype"] != "xfs":
        pytest.skip("not xfs")
    info = host.check_output("xfs_info " + shlex.quote(_data_root(role_vars)))
    assert "ftype=1" in info


def test_in_fstab_by_uuid(host: Host, role_vars: dict[str, Any]) -> None:
    _enabled(role_vars)
    root = _data_root(role_vars)
    device = f"/dev/{role_vars['docker_storage_vg']}/{role_vars['docker_storage_lv']}"
    uuid = host.check_output("blkid -p -s UUID -o value -- " + shlex.quote(device)).strip()
    lines = [line.split() for line in host.file("/etc/fstab").content_string.splitlines()]
    entries = [f for f in lines if len(f) >= 2 and not f[0].startswith("#") and f[1] == root]
    assert entries == [
        [
            f"UUID={uuid}",
            root,
            role_vars["docker_storage_fstype"],
            role_vars["docker_storage_mount_opts"],
            "0",
            "0",
        ]
    ]


def test_engine_requires_the_mount(host: Host, role_vars: dict[str, Any]) -> None:
    _enabled(role_vars)
    drop_in = host.file("/etc/systemd/system/docker.service.d/10-docker-storage.conf")
    assert f"RequiresMountsFor={_data_root(role_vars)}" in drop_in.content_string
