"""`provision_vars_files`: variable files named by an inventory, for values that must not live
in it (generated per machine, like the lab's throwaway signing key's fingerprint).

`all: vars: provision_vars_files: [.lab/vars.yml]` reads each file (a path relative to the
inventory's folder, which it must stay inside) as if it were group_vars/all.yml. A listed file
that does not exist is skipped: a value it would set keeps its default, so a role that pins
something fails safe (the lab without `lab up` refuses the key instead of trusting it).
Ansible ignores the variable: the inventory stays Ansible's format.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from provision.errors import InputError, Location
from provision.project.yamlfile import YDict, load_yaml, type_name, where_of

VARIABLE = "provision_vars_files"


def load_vars_files(inventory: Any) -> None:
    """Merge the listed files into the `all` group's variables (Inventory from inventory.py)."""
    group = inventory.groups["all"]
    listed = group.vars.get(VARIABLE)
    if listed is None:
        return
    where = group.var_origins.get(VARIABLE) or Location(str(inventory.path))
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(p, str) and p for p in listed):
        raise InputError(
            f"{VARIABLE} must be a file name or a list of them, found {type_name(listed)}", where
        )
    folder = inventory.path.parent.resolve()
    for name in listed:
        path = _inside(folder, name, where)
        if not path.exists():
            continue
        if not path.is_file():
            raise InputError(f"{VARIABLE}: {name} is not a regular file", where)
        data = load_yaml(path, "variables file")
        if data is None:
            continue
        if not isinstance(data, dict):
            raise InputError(
                f"variables file must be a mapping of variables, found {type_name(data)}",
                where_of(data, fallback=str(path)),
            )
        for key in data:
            if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise InputError(
                    f"invalid variable name {key!r} in variables file: letters, digits and '_'",
                    where_of(data, key, str(path)),
                )
        group.vars.update(data)
        if isinstance(data, YDict):
            group.var_origins.update({k: data.where(k) for k in data})


def _inside(folder: Path, name: str, where: Location) -> Path:
    if name.startswith("/") or re.search(r"[\x00-\x1f\x7f]", name):
        raise InputError(
            f"{VARIABLE}: {name!r} must be a path relative to the inventory's folder", where
        )
    path = (folder / name).resolve()
    if path != folder and folder not in path.parents:
        raise InputError(f"{VARIABLE}: {name!r} leaves the inventory's folder", where)
    return path
