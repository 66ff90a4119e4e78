"""Names that reach a command line: checked before any host is touched.

A name given to a tool (an account for useradd/chown, a unit for systemctl) must never be
read as an option: it may not start with `-`, and holds no whitespace or control
character. The commands also put `--` before such names wherever the tool accepts it.
Each function returns what is wrong with a name, or '' when it is fine.
"""

from __future__ import annotations

import re

# shadow-utils' default rule for new accounts (useradd/groupadd refuse anything else)
_NEW_ACCOUNT = re.compile(r"[a-z_][a-z0-9_.-]*\$?")
# an existing owner for chown: also upper case (LDAP/SSSD names) or a numeric id
_OWNER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\$?")
# systemd unit names: letters, digits and :-_.\ plus @ for template instances
_UNIT = re.compile(r"[A-Za-z0-9:_.\\@-]+")
ACCOUNT_MAX = 32
UNIT_MAX = 255


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 60 else repr(name[:57] + "...")


def _common(name: str, what: str) -> str:
    if not name:
        return f"{what} is empty"
    if name.startswith("-"):
        return f"{what} {_shown(name)} starts with '-' (a tool would read it as an option)"
    if any(c.isspace() or not c.isprintable() for c in name):
        return f"{what} {_shown(name)} holds whitespace or a control character"
    return ""


def account_problem(name: str, what: str = "account name") -> str:
    """A user or group name for useradd/groupadd/usermod (shadow-utils' rule)."""
    return _account_like(
        name,
        what,
        _NEW_ACCOUNT,
        "lower-case letters, digits, '_', '.', '-' (not first), an optional final '$'",
    )


def owner_problem(name: str, what: str = "owner") -> str:
    """An owner or group for chown: an account name or a numeric id."""
    return _account_like(
        name, what, _OWNER, "letters, digits, '_', '.', '-' (not first), or a numeric id; no ':'"
    )


def _account_like(name: str, what: str, pattern: re.Pattern[str], rule: str) -> str:
    problem = _common(name, what)
    if problem:
        return problem
    if len(name) > ACCOUNT_MAX:
        return f"{what} {_shown(name)} is longer than {ACCOUNT_MAX} characters"
    if not pattern.fullmatch(name):
        return f"invalid {what} {_shown(name)}: {rule}"
    return ""


def unit_problem(name: str) -> str:
    """A systemd unit name (`docker`, `docker.service`, `getty@tty1.service`)."""
    problem = _common(name, "unit name")
    if problem:
        return problem
    if len(name) > UNIT_MAX:
        return f"unit name {_shown(name)} is longer than {UNIT_MAX} characters"
    if not _UNIT.fullmatch(name):
        return f"invalid unit name {_shown(name)}: letters, digits and :-_.\\@ only"
    return ""


def login_path_problem(path: str, what: str) -> str:
    """A login shell or home directory for useradd/usermod (a field of /etc/passwd)."""
    problem = _common(path, what)
    if problem:
        return problem
    if not path.startswith("/"):
        return f"{what} {_shown(path)} must be an absolute path"
    if ":" in path:
        return f"{what} {_shown(path)} holds ':' (the field separator of /etc/passwd)"
    return ""
