"""Inventories derived from the lab's: extra hosts, other users, other variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def derived_inventory(lab_inventory: Path, target: Path, change: Any = None) -> Path:
    """A copy of the lab inventory with absolute key paths; `change(data)` edits it."""
    data = yaml.safe_load(lab_inventory.read_text())
    variables = data["all"]["vars"]
    for key in ("ansible_ssh_private_key_file", "provision_known_hosts"):
        variables[key] = str((lab_inventory.parent / variables[key]).resolve())
    for name in variables.pop("provision_vars_files", []):  # the lab's .lab/vars.yml, inlined
        variables.update(yaml.safe_load((lab_inventory.parent / name).read_text()) or {})
    if change is not None:
        change(data)
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def hosts_of(data: dict) -> dict[str, dict]:
    return data["all"]["children"]["docker_hosts"]["hosts"]
