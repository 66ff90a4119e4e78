"""Ansible module calls (short names and FQCNs) as this tool's task types.

`ansible_types(registry, task)` is the one entry point compile.py calls: it returns the
task-type registry with an adapter class added for every key of the task that is an
Ansible module (`ansible.builtin.dnf`, `lineinfile`, `ansible.posix.sysctl`...). An
adapter is a subclass of the target task type whose `parse`/`coerce` take Ansible's
argument names, aliases and values; the plan, facts and checks are the target's own.

A short name that is also a native task type (`command`, `copy`, `service`...) stays
native when its arguments are valid native arguments; only when they are not and they
are valid Ansible arguments is it read as the Ansible module. A name with a collection
(`x.y.z`) that is not supported is an input error naming it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

from provision.ansible.modules import commands, docker, files, packages, repos, system
from provision.ansible.modules.spec import (
    Call,
    Module,
    lines_of,
    templated,
    translate_names,
    translate_values,
)
from provision.errors import InputError, Location
from provision.project.yamlfile import where_of
from provision.tasks.base import TaskType

COLLECTIONS = (
    "ansible.builtin",
    "ansible.legacy",
    "ansible.posix",
    "community.general",
    "community.docker",
)
MODULES: dict[str, Module] = {
    m.name: m
    for family in (packages, files, system, repos, commands, docker)
    for m in family.MODULES
}
# Modules other helpers' code provides (task keywords, facts): named here so that their
# FQCN finds their short name, never translated by this package.
ELSEWHERE = (
    "debug",
    "set_fact",
    "stat",
    "package_facts",
    "service_facts",
    "meta",
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "include_vars",
)
# Common Ansible modules with no counterpart: what to write instead.
INSTEAD = {
    "apt": "this tool provisions RHEL-family hosts: use ansible.builtin.dnf",
    "pip": "install the distribution's python3-* package with ansible.builtin.dnf, or a"
    " command with `creates:`",
    "unarchive": "ansible.builtin.get_url (checksum-verified), then ansible.builtin.command"
    " with `creates:` to unpack it",
    "cron": "a systemd timer: ansible.builtin.copy the .timer/.service units, then"
    " ansible.builtin.systemd_service with enabled: true",
    "git": "ansible.builtin.command with `creates:` (clone once)",
    "reboot": "reboot outside the run; provision never reboots a host",
    "wait_for": "ansible.builtin.assert on a command's result",
    "uri": "ansible.builtin.get_url to a file, or a read-only command",
    "raw": "ansible.builtin.command (provision needs only a POSIX shell, no Python)",
    "script": "ansible.builtin.copy the script, then ansible.builtin.command with `creates:`",
    "async_status": "provision has no async tasks: run the task synchronously",
    "selinux": "ansible.builtin.lineinfile on /etc/selinux/config, and assert the live mode",
    "seboolean": "ansible.builtin.command `setsebool -P` with an `unless:` read of getsebool",
    "authorized_key": "ansible.builtin.lineinfile on ~USER/.ssh/authorized_keys (create: true,"
    " mode: '0600', owner: USER)",
    "hostname": "ansible.builtin.copy /etc/hostname, and a command with `unless:`",
    "modprobe": "the native task type `kernel_module`",
    "synchronize": "ansible.builtin.copy per file, or get_url",
    "fetch": "provision does not copy files back to the controller",
}


def canonical(key: str) -> str | None:
    """The short module name of `key` (`ansible.builtin.dnf` → `dnf`, `dnf` → `dnf`)
    when it names an Ansible module this tool knows (here or elsewhere); else None."""
    collection, _, short = key.rpartition(".")
    if collection and collection not in COLLECTIONS:
        return None
    if short in MODULES:
        module = MODULES[short]
        if collection in ("", "ansible.legacy") or collection == module.collection:
            return short
        if collection == "ansible.builtin" and module.collection == "ansible.builtin":
            return short
        return None
    if short in ELSEWHERE and collection in ("", "ansible.builtin", "ansible.legacy"):
        return short
    return None


def module_of(key: str) -> Module | None:
    """The Ansible module `key` names, when this package translates it."""
    short = canonical(key)
    return MODULES.get(short) if short else None


def ansible_types(
    registry: Mapping[str, type[TaskType]], task: Mapping[Any, Any]
) -> Mapping[str, type[TaskType]]:
    """The registry, plus an adapter for each key of `task` that names an Ansible module
    (a native type of that name stays, unless only the Ansible reading fits)."""
    added: dict[str, type[TaskType]] = {}
    for key in task:
        if not isinstance(key, str):
            continue
        short = canonical(key)
        if short is None:
            if key.count(".") >= 2 and key not in registry:
                raise unsupported(key, where_of(task, key))
            continue
        if short in ELSEWHERE:
            if key != short and short in registry:
                added[key] = registry[short]
            continue
        if key in registry and not _only_ansible_fits(registry[key], key, task, registry):
            continue
        module = MODULES[short]
        target = module.target
        if module.route is not None:
            target = module.route(task[key], Call(module, key, where_of(task, key)))
        added[key] = adapter(key, short, target)
    if not added:
        return registry
    return {**registry, **added}


def _only_ansible_fits(
    native: type[TaskType], key: str, task: Mapping[Any, Any], registry: Mapping[str, Any]
) -> bool:
    """Whether a short name that is also a native type must be read as Ansible's module:
    its arguments are not valid native ones (names, and literal values' kinds and
    choices), and are valid Ansible ones. A task valid by names and kinds stays native,
    with the native type's own checks (`command` without a guard is refused)."""
    where = where_of(task, key)
    try:
        args = native.parse(task[key], where)
        if not templated(args):
            native.coerce(dict(args), where)
        return False
    except (InputError, KeyError, TypeError, ValueError, OSError):
        pass
    try:
        module = MODULES[key]
        target = module.route(task[key], Call(module, key, where)) if module.route else ""
        adapter(key, key, target or module.target).parse(task[key], where)
    except InputError:
        return False
    return True


def unsupported(key: str, where: Location) -> InputError:
    short = key.rpartition(".")[2]
    instead = INSTEAD.get(short)
    if instead:
        hint = f"instead: {instead}"
    else:
        hint = (
            "supported modules: "
            + ", ".join(sorted(MODULES))
            + "; anything else: ansible.builtin.command with `creates:`/`removes:`"
        )
    return InputError(f"Ansible module `{key}` is not supported by provision", where, hint)


@cache
def adapter(key: str, short: str, target_name: str) -> type[TaskType]:
    """A subclass of the task type `target_name` that reads Ansible module `short`'s
    arguments (`key`: the module's name as the task wrote it)."""
    from provision.tasks.base import task_types

    module = MODULES[short]
    target = task_types()[target_name]

    class Adapter(target):  # type: ignore[valid-type, misc]
        ansible = module

        @classmethod
        def parse(cls, raw: Any, location: Location) -> dict[str, Any]:
            lines = getattr(raw, "key_lines", None) or {}
            ours, _ = translate_names(Call(module, key, location), raw, lines)
            public = {k: v for k, v in ours.items() if not k.startswith("_")}
            target.parse(public, location)  # names only: the translation gave target names
            return ours

        @classmethod
        def coerce(
            cls,
            rendered: dict[str, Any],
            location: Location,
            arg_lines: Mapping[str, int] | None = None,
            hidden: Collection[str] = (),
        ) -> dict[str, Any]:
            call = Call(module, key, location)
            ours = translate_values(call, rendered, hidden)
            given = arg_lines or {}
            lines = lines_of(module, given)
            return super().coerce(ours, location, lines, hidden)

        @classmethod
        def accepted(cls) -> str:
            return module.names()

    Adapter.__name__ = Adapter.__qualname__ = f"Ansible_{module.name}"
    Adapter.type_name = key  # set after creation: an adapter is never registered
    return Adapter
