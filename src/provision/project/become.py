"""`become_method` and `become_user` beyond commands: which methods a play, block or task
may name, and which task types write files as their `become_user`.

The connection becomes root one way per host (its one SSH session): `sudo`, or `su` with
root's password (`HostConfig.become_method`, from `ansible_become_method` or ansible.cfg).
A play, block or task may name the host's own method; naming another one is an input
error that says where to set it. `become_user` is then reached from root with runuser.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from provision.errors import InputError, Location
from provision.project.hostconfig import HostConfig

METHODS = ("sudo", "su")

#: task types whose commands write files: with `become` and a `become_user`, they run as
#: that user (runuser), so the user's own permissions decide, and a new file is theirs
WRITES_AS_USER = ("copy", "template", "file", "line", "blockinfile", "replace")


def check_method(method: Any, config: HostConfig, where: Location) -> None:
    """A play's, block's or task's `become_method`: the host's own method, else an error."""
    if method is None:
        return
    text = str(method)
    if text not in METHODS:
        raise InputError(
            f"`become_method: {text}` is not supported: provision becomes root with sudo or su",
            where,
            hint="write `become_method: sudo` or `become_method: su`, or remove it",
        )
    if text != config.become_method:
        raise InputError(
            f"`become_method: {text}` differs from the host's method"
            f" ({config.become_method}): provision becomes root one way per host, over its"
            " one SSH session",
            where,
            hint=f"set ansible_become_method: {text} for the host (inventory or group_vars),"
            f" or become_method = {text} under [privilege_escalation] in ansible.cfg"
            + ("; su needs root's password in ansible_become_password" if text == "su" else ""),
        )


def writes_as_user(type_name: str) -> bool:
    return type_name in WRITES_AS_USER


def writer_of(scope: Any) -> str:
    """Who a task's commands run as: its scope's `become_user` when it becomes, else root
    (the connection's user without become is not known at plan time: root's defaults)."""
    become = scope.become if scope.become is not None else scope.config.become
    return scope.user if become else "root"


def play_become(play: Any, variables: Any, config: HostConfig) -> HostConfig:
    """A play's `become_method` (checked against the host's) and `become_user` (the
    default of its tasks, over the host's `ansible_become_user`)."""
    from provision.project.connvalues import ConnValueError, check_user
    from provision.project.templating import render_value
    from provision.project.yamlfile import where_of

    raw = play.become_keys
    if raw is None:
        return config
    file = play.location.file
    check_method(raw.get("become_method"), config, where_of(raw, "become_method", file))
    user = raw.get("become_user")
    if user is None:
        return config
    where = where_of(raw, "become_user", file)
    user = render_value(user, variables, where, "become_user")
    try:
        return replace(config, become_user=check_user(str(user)))
    except ConnValueError as exc:
        raise InputError(f"`become_user` {exc.message}", where) from None
