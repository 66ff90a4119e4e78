"""`package`: dnf packages present, absent or latest; `name: "*"` updates the system."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import PackagesFact, Update, UpdatesFact
from provision.planning.model import Change, HostState, NoOp, Outcome, dnf
from provision.tasks.base import Assertion, TaskType, arg, verifies

_REPO_PATTERN = re.compile(r"[A-Za-z0-9_.:*?\[\]-]+")  # a repo id, or a dnf glob of them
_PIN = re.compile(r"^(?P<name>.+?)-(?P<version>(?:\d+:)?\d+\.[\w.+~^]*(?:-[\w.+~^]+)?)$")
SHOWN_UPDATES = 8


def split_pin(spec: str) -> tuple[str, str | None]:
    """`docker-ce-3:27.3.1` → (`docker-ce`, `3:27.3.1`); a plain name has no version."""
    match = _PIN.match(spec)
    if not match:
        return spec, None
    return match.group("name"), match.group("version")


def version_matches(installed_evr: str, wanted: str) -> bool:
    """Does an installed `E:V-R.ARCH` satisfy a pin like `27.3.1`, `3:27.3.1` or `27.3.1-1.el9`?"""
    if installed_evr == wanted:
        return True
    evr = installed_evr.rsplit(".", 1)[0]
    _, _, version_release = evr.partition(":")
    return any(form == wanted or form.startswith(wanted + "-") for form in (evr, version_release))


class Package(TaskType):
    """`package`: dnf packages

    `NAME-VERSION` pins a version (`docker-ce-3:27.3.1`, `docker-ce-27.3.1`: the version
    starts with a digit and has a dot, so `java-17-openjdk` stays a name).

    `state: absent` removes only packages installed **under that name** (a package that
    merely *provides* the name, like containerd.io providing runc, is never removed).
    `name: "*"` with `state: latest` updates the whole system (changed only if updates
    were pending).
    """

    type_name = "package"

    @dataclass(kw_only=True)
    class Params:
        name: list[str] = arg(doc="a name or a list of names, each optionally `NAME-VERSION`")
        state: str = arg(
            "present", choices=("present", "absent", "latest"), doc="installed, removed, updated"
        )
        security: bool = arg(False, doc='with `name: "*"`, `state: latest`: security updates only')
        enablerepo: list[str] = arg(
            [],
            doc="repository ids (or globs) enabled for this install only (dnf `--enablerepo`);"
            " a list or a comma-separated string. Not with `state: latest`",
        )
        disablerepo: list[str] = arg(
            [],
            doc="repository ids (or globs) disabled for this install only (dnf"
            " `--disablerepo`). Not with `state: latest`",
        )

    params: Params

    def describe(self) -> str:
        names = self.params.name
        verb = {"present": "install", "absent": "remove", "latest": "update"}[self.params.state]
        return f"{verb} {', '.join(names)}" if names != ["*"] else "update all packages"

    def validate(self) -> None:
        names = self.params.name
        if not names:
            raise self.fail("`name` is an empty list")
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9_.+*:~^-]+", name) or name.startswith("-"):
                raise self.fail(f"invalid package name {name!r}")
        if "*" in names and (names != ["*"] or self.params.state != "latest"):
            raise self.fail('`name: "*"` goes alone, with `state: latest`')
        if self.params.security and names != ["*"]:
            raise self.fail('`security: true` goes with `name: "*"`')
        if self.params.state == "absent" and any(split_pin(n)[1] for n in names):
            raise self.fail("`state: absent` takes plain names, without versions")
        for key in ("enablerepo", "disablerepo"):
            repos = getattr(self.params, key)
            for repo in repos:
                if not _REPO_PATTERN.fullmatch(repo) or repo.startswith("-"):
                    raise self.fail(
                        f"`{key}`: {repo!r} is not a repository id (letters, digits, `_`, `.`,"
                        " `:`, `-`, and the globs `*`, `?`, `[...]`)",
                        arg=key,
                    )
            if repos and self.params.state == "latest":
                raise self.fail(
                    f"`{key}` does not go with `state: latest`: the plan reads pending updates"
                    " from the repositories enabled on the host",
                    hint="enable the repository with ansible.builtin.yum_repository (`enabled:`)",
                    arg=key,
                )

    def facts(self) -> list[Fact]:
        if self.params.name == ["*"]:
            return [UpdatesFact(self.params.security)]
        if self.params.state == "latest":
            return [PackagesFact(), UpdatesFact(False)]
        return [PackagesFact()]

    def plan(self, state: HostState) -> Outcome:
        if self.params.name == ["*"]:
            return self._plan_system_update(state)
        installed: dict[str, tuple[str, ...]] = dict(state.get(PackagesFact()))
        if self.params.state == "absent":
            present = [n for n in self.params.name if n in installed]
            if not present:
                return NoOp("not installed: " + ", ".join(self.params.name))
            for name in present:
                installed.pop(name)
            state.set(PackagesFact(), installed)
            return Change(
                [f"package {n}: installed → absent" for n in present],
                [dnf("-y", "remove", "--", *present)],
            )
        missing = []
        for spec in self.params.name:
            name, version = (spec, None) if spec in installed else split_pin(spec)
            have = installed.get(name, ())
            if not have or (version and not any(version_matches(v, version) for v in have)):
                missing.append((spec, name, version, have))
        outdated: list[Update] = []
        if self.params.state == "latest":
            pending = {u.name: u for u in state.get(UpdatesFact(False))}
            outdated = [pending[n] for n in self.params.name if n in installed and n in pending]
        if not missing and not outdated:
            return NoOp("installed: " + ", ".join(self.params.name))
        summary, commands = [], []
        for _spec, name, version, have in missing:
            before = have[0] if have else "absent"
            summary.append(f"package {name}: {before} → {version or 'present'}")
            installed[name] = (version or "(to be installed)",)
        if missing:
            repos = [f"--enablerepo={r}" for r in self.params.enablerepo]
            repos += [f"--disablerepo={r}" for r in self.params.disablerepo]
            commands.append(dnf("-y", *repos, "install", "--", *[m[0] for m in missing]))
        if outdated:
            summary += [f"package {u.name}: update to {u.version}" for u in outdated]
            commands.append(dnf("-y", "upgrade", "--", *[u.name for u in outdated]))
            state.set(
                UpdatesFact(False),
                tuple(u for u in state.get(UpdatesFact(False)) if u not in outdated),
            )
        state.set(PackagesFact(), installed)
        return Change(summary, commands)

    def _plan_system_update(self, state: HostState) -> Outcome:
        fact = UpdatesFact(self.params.security)
        updates: tuple[Update, ...] = state.get(fact)
        kind = "security updates" if self.params.security else "updates"
        if not updates:
            return NoOp(f"no {kind} pending")
        summary = [f"{len(updates)} {kind} pending"]
        summary += [
            f"package {u.name}: update to {u.version} ({u.repo})" for u in updates[:SHOWN_UPDATES]
        ]
        if len(updates) > SHOWN_UPDATES:
            summary.append(f"... and {len(updates) - SHOWN_UPDATES} more")
        words = ["-y", "upgrade"] + (["--security"] if self.params.security else [])
        state.set(fact, ())
        return Change(summary, [dnf(*words)])

    def assertions(self) -> list[Assertion]:
        if self.params.name == ["*"]:
            return []
        present = self.params.state != "absent"
        return [
            Assertion(
                "package",
                split_pin(n)[0],
                {"installed": present, "version": split_pin(n)[1]},
                f"package {n} {'installed' if present else 'absent'}",
            )
            for n in self.params.name
        ]


@verifies("package")
def check_package(host: Any, name: str, expect: dict) -> str | None:
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
