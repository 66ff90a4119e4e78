"""Ansible's magic variables: `hostvars`, `groups`, `group_names`, `inventory_hostname`,
`inventory_hostname_short`, `play_hosts` / `ansible_play_hosts(_all)`,
`ansible_managed`, `playbook_dir`, `role_path` (the last set per role by compile).

The inventory-wide ones (`groups`, `hostvars`, the play's hosts) are built once per
inventory and play and shared by every host: read-only mappings that `render_value`
does not walk, so a 50,000-host inventory costs one pass, not one per host. `hostvars[h]`
is host h's inventory variables (group_vars, host_vars), rendered on first use; other
hosts' facts are not in it (each host is probed on its own). What h's tasks register or
set with `set_fact` is laid over it per reading host by project/sharing.py (HostsView,
given by compile's RunVars). Another host's connection
password read through `hostvars` becomes a secret of the run, as this host's own is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from provision.project.jinjafilters import ANSIBLE_MANAGED
from provision.project.templating import PASSWORD_VARIABLES, Variables


class OtherHostVariables(Variables):
    """`hostvars[h]`: its connection passwords, and the variables a play or role declares
    under `secrets:`, are secrets once read."""

    secret_names: set[str] = set()  # HostVarsOfAll sets its own (shared) set

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if name in PASSWORD_VARIABLES or name in self.secret_names:
            from provision.reporting.mask import add_run_secret

            add_run_secret(value)
        return value


class ReadOnly(Mapping):
    """A mapping the templates read but never change (and render_value leaves as is)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ReadOnly({len(self._data)} entries)"


class HostVarsOfAll(Mapping):
    """`hostvars`: every host's inventory variables, each host's built when first read."""

    def __init__(self, inventory: Any) -> None:
        self._inventory = inventory
        self._cache: dict[str, Any] = {}
        self.secret_names: set[str] = set()  # of every play compiled so far

    def __getitem__(self, host: str) -> Any:
        if host not in self._cache:
            if host not in self._inventory.hosts:
                raise KeyError(host)
            raw, origins = self._inventory.host_variables(host)
            raw = {**raw, **_host_magic(host), "groups": groups_of_inventory(self._inventory)}
            raw["hostvars"] = self
            other = OtherHostVariables(raw, origins)
            other.secret_names = self.secret_names
            self._cache[host] = other
        return self._cache[host]

    def __contains__(self, host: object) -> bool:
        return host in self._inventory.hosts

    def __iter__(self) -> Iterator[str]:
        return iter(self._inventory.hosts)

    def __len__(self) -> int:
        return len(self._inventory.hosts)

    def __repr__(self) -> str:
        return f"hostvars({len(self)} hosts)"


_CACHE: dict[int, tuple[Any, dict[str, Any]]] = {}


def _cached(inventory: Any) -> dict[str, Any]:
    entry = _CACHE.get(id(inventory))
    if entry is None or entry[0] is not inventory:
        if len(_CACHE) > 8:
            _CACHE.clear()
        entry = (inventory, {})
        _CACHE[id(inventory)] = entry
    return entry[1]


def groups_of_inventory(inventory: Any) -> ReadOnly:
    cache = _cached(inventory)
    if "groups" not in cache:
        members: dict[str, list[str]] = {name: [] for name in inventory.groups}
        for host in inventory.hosts:
            for group in inventory.groups_of(host):
                members.setdefault(group, []).append(host)
        members["all"] = list(inventory.hosts)
        cache["groups"] = ReadOnly(members)
    return cache["groups"]


def _host_magic(host: str) -> dict[str, Any]:
    return {"inventory_hostname": host, "inventory_hostname_short": host.split(".")[0]}


def magic_variables(inventory: Any, play: Any, host: str) -> dict[str, Any]:
    """The magic variables of `host` in `play` (playbook_dir and inventory_dir are set by
    compile itself)."""
    cache = _cached(inventory)
    if "hostvars" not in cache:
        cache["hostvars"] = HostVarsOfAll(inventory)
    cache["hostvars"].secret_names.update(
        [
            *getattr(play, "secrets", ()),
            *(n for r in getattr(play, "roles", ()) for n in getattr(r, "secrets", ())),
        ]
    )
    key = ("play", play.hosts)
    if key not in cache:
        cache[key] = tuple(inventory.match(play.hosts, play.location))  # not walked per host
    play_hosts = cache[key]
    return {
        **_host_magic(host),
        "groups": groups_of_inventory(inventory),
        "hostvars": cache["hostvars"],
        "play_hosts": play_hosts,
        "ansible_play_hosts": play_hosts,
        "ansible_play_hosts_all": play_hosts,
        "ansible_play_batch": play_hosts,
        "ansible_managed": ANSIBLE_MANAGED,
    }
