"""`become_method` and `become_user` beyond commands: which methods a play, block or task
may name, which task types write files as their `become_user`, and whom `su` becomes.

The connection becomes another user one way per host (its one SSH session): `sudo`, or
`su` (`HostConfig.become_method`, from `ansible_become_method` or ansible.cfg).
A play, block or task may name the host's own method; naming another one is an input
error that says where to set it.

- sudo: the connection becomes root; a `become_user` is then reached from root with
  runuser (per task).
- su, as Ansible's su: `su USER -c ...` where USER is the host's or the play's
  `become_user` (`ansible_become_user`, ansible.cfg's `become_user`, the play's
  `become_user`; root when none is given), and the become password is USER's own. With
  USER not root, every becoming task of the play runs as USER (a task or block naming
  another `become_user` is an input error: su cannot leave USER without that user's
  password). With USER root (root's password), a task's or block's `become_user` is
  reached from root with runuser, as with sudo.
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


def su_user(config: HostConfig) -> str:
    """Whom the connection's `become` runs as: the `become_user` for su, root for sudo."""
    return config.become_user if config.become_method == "su" else "root"


def check_su_user(changes: dict[str, Any], scope: Any, where: Location) -> None:
    """A play's, block's or task's scope under su to another user than root: when it
    becomes, its `become_user` (its own, else the enclosing block's) must be that user,
    else an input error (the connection holds that user's password only)."""
    config = scope.config
    target = su_user(config)
    user = changes.get("become_user") or scope.become_user
    become = changes.get("become", scope.become)
    if target == "root" or not user or user == target:
        return
    if not (config.become if become is None else become):
        return
    hint = f"remove this become_user (its steps then run as {target}), "
    if user == "root":
        hint += "or make root the host's become_user (su root with root's password)"
    else:
        hint += (
            "or make root the play's and host's become_user (su root with root's password;"
            f" provision reaches {user} from root with runuser)"
        )
    raise InputError(
        f"`become_user: {user}` differs from the user su becomes on host {config.name!r}"
        f" ({target}): with become_method su, provision runs `su {target}` with {target}'s"
        " password (ansible_become_password) over the host's one SSH session, and cannot"
        " become another user from there",
        where,
        hint=hint + ", or use become_method sudo",
    )


def _check_su_password(config: HostConfig, where: Location | None) -> None:
    """su to a user other than the login user needs that user's password."""
    target = su_user(config)
    if config.become_method != "su" or not config.become or config.become_password:
        return
    if config.user in ("root", target):
        return
    raise InputError(
        f"host {config.name!r} becomes {target} with su, which needs {target}'s password:"
        " set ansible_become_password (or ansible_become_pass)",
        where,
        hint="from a vault or the environment (\"{{ lookup('env', 'BECOME_PW') }}\"); it"
        " is fed to su on a pipe, never shown or put in a command line",
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
        config = replace(config, become_user=check_user(str(user)))
    except ConnValueError as exc:
        raise InputError(f"`become_user` {exc.message}", where) from None
    _check_su_password(config, where)
    return config
