"""Each declared task's assertion, checked on a live host through a testinfra Host."""

from __future__ import annotations

import shlex
from typing import Any

from provision.facts.kinds import CommandResult, normalise_sysctl
from provision.facts.openpgp import grouped
from provision.facts.rpm_keys import RpmKeysFact, check_key_file
from provision.facts.sysctl_boot import SysctlBootFact, effective, read_order
from provision.tasks.assert_ import check_result
from provision.tasks.base import Assertion
from provision.tasks.line import edit_lines
from provision.tasks.package import version_matches
from provision.tasks.sysctl import persisted_pattern


def check(host: Any, assertion: Assertion) -> str | None:
    """None when the host matches the declaration, else what differs."""
    checker = CHECKERS[assertion.kind]
    return checker(host, assertion.target, assertion.expect)


def _package(host: Any, name: str, expect: dict) -> str | None:
    package = host.package(name)
    if package.is_installed != expect["installed"]:
        return f"package {name} is {'not ' if expect['installed'] else ''}installed"
    version = expect.get("version")
    if version and expect["installed"]:
        query = "rpm -q --qf '%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n' -- "
        installed = host.run(query + shlex.quote(name)).stdout.split()
        if not any(version_matches(evr, version) for evr in installed):
            return f"package {name} is {', '.join(installed)}, expected {version}"
    return None


def _file(host: Any, path: str, expect: dict) -> str | None:
    file = host.file(path)
    if not expect.get("exists", True):
        return f"{path} exists" if file.exists else None
    if not file.exists:
        return f"{path} does not exist"
    if expect.get("is_directory") and not file.is_directory:
        return f"{path} is not a directory"
    if "mode" in expect and file.mode != expect["mode"]:
        return f"{path} has mode {file.mode:04o}, expected {expect['mode']:04o}"
    for key in ("owner", "group"):
        if key in expect and getattr(file, "user" if key == "owner" else "group") != expect[key]:
            return f"{path} {key} is not {expect[key]}"
    if "content" in expect and file.content_string != expect["content"]:
        return f"{path} content differs from the declared content"
    if "contains" in expect and expect["contains"] not in file.content_string:
        return f"{path} does not contain {expect['contains']!r}"
    return None


def _line(host: Any, path: str, expect: dict) -> str | None:
    file = host.file(path)
    text = file.content_string if file.exists else ""
    wanted = edit_lines(text, expect["line"], expect["regexp"], expect["state"], expect["section"])
    if wanted != text:
        where = f" in [{expect['section']}]" if expect["section"] else ""
        return f"{path}: line {expect['state']}{where} does not hold"
    return None


def _sysctl(host: Any, name: str, expect: dict) -> str | None:
    if expect["state"] == "present":
        live = normalise_sysctl(str(host.run("sysctl -n -- " + shlex.quote(name)).stdout))
        if live != expect["value"]:
            return f"sysctl {name} is {live}, expected {expect['value']}"
        fact = SysctlBootFact()
        result = host.run(fact.command())
        boot = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
        at_boot = effective(read_order(boot), name)
        if at_boot is None or at_boot.value != expect["value"]:
            shown = (
                "unset" if at_boot is None else f"{at_boot.value} ({at_boot.path}:{at_boot.line})"
            )
            return f"sysctl {name} at boot would be {shown}, expected {expect['value']}"
    return _line(
        host,
        expect["file"],
        {
            "line": f"{name} = {expect['value']}" if expect["state"] == "present" else None,
            "regexp": persisted_pattern(name),
            "state": expect["state"],
            "section": None,
        },
    )


def _rpm_key(host: Any, fingerprint: str, expect: dict) -> str | None:
    fact = RpmKeysFact(fingerprint, "/dev/null")  # never read: only the listing is used
    result = host.run(fact.listing())
    keys = fact.parse(result.rc, result.stdout_bytes, result.stderr_bytes)
    imported = bool(keys.with_fingerprint(fingerprint))
    if imported != (expect["state"] == "present"):
        return f"GPG key {grouped(fingerprint)} is {'not ' if not imported else ''}imported"
    dest = expect.get("dest")
    if dest and expect["state"] == "present":
        file = host.file(dest)
        if not file.exists:
            return f"{dest} does not exist"
        problem = check_key_file(file.content, fingerprint)
        if problem:
            return f"{dest}: {problem}, expected {grouped(fingerprint)}"
    return None


def _service(host: Any, name: str, expect: dict) -> str | None:
    service = host.service(name)
    if "running" in expect and service.is_running != expect["running"]:
        return f"service {name} is {'not ' if expect['running'] else ''}running"
    if "enabled" in expect and service.is_enabled != expect["enabled"]:
        return f"service {name} is {'not ' if expect['enabled'] else ''}enabled"
    return None


def _user(host: Any, name: str, expect: dict) -> str | None:
    user = host.user(name)
    if user.exists != expect["exists"]:
        return f"user {name} {'does not exist' if expect['exists'] else 'exists'}"
    missing = [g for g in expect.get("groups", []) if user.exists and g not in user.groups]
    return f"user {name} is not in group(s) {', '.join(missing)}" if missing else None


def _group(host: Any, name: str, expect: dict) -> str | None:
    exists = host.group(name).exists
    if exists != expect["exists"]:
        return f"group {name} {'does not exist' if expect['exists'] else 'exists'}"
    return None


def _command(host: Any, command: str, expect: dict) -> str | None:
    result = host.run(command)
    outcome = CommandResult(result.rc, result.stdout.strip(), result.stderr.strip())
    problem = check_result(outcome, expect)
    return f"`{command}`: {problem}, found {outcome.stdout!r}" if problem else None


CHECKERS = {
    "package": _package,
    "file": _file,
    "line": _line,
    "sysctl": _sysctl,
    "rpm_key": _rpm_key,
    "service": _service,
    "user": _user,
    "group": _group,
    "command": _command,
}
