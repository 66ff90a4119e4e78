"""`repo`: a dnf repository, added from a .repo URL or written from arguments."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, HostState, NoOp, Outcome, dnf
from provision.project.fileformats import REPO_ID, line_problem, origin_note
from provision.tasks.base import Assertion, TaskType, arg
from provision.tasks.filesupport import as_text, plan_absent, plan_file

REPO_DIR = "/etc/yum.repos.d"


def replace_gpgkeys(text: str, gpgkey: str) -> str:
    """Every `gpgkey=` line of a .repo file pointed at `gpgkey`."""
    lines = [
        f"gpgkey={gpgkey}" if line.replace(" ", "").startswith("gpgkey=") else line
        for line in text.splitlines()
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def repo_file_text(repo_id: str, p: Mapping[str, Any]) -> str:
    """The text of a repo file written from arguments (`p`: the repo task's arguments)."""
    lines = [f"[{repo_id}]", f"name={p['description'] or repo_id}"]
    if p["baseurl"]:
        lines.append(f"baseurl={p['baseurl']}")
    lines.append(f"enabled={int(p['enabled'])}")
    lines.append(f"gpgcheck={int(p['gpgcheck'])}")
    if p["gpgkey"]:
        lines.append(f"gpgkey={p['gpgkey']}")
    return "\n".join(lines) + "\n"


class Repo(TaskType):
    """`repo`: a dnf repository

    Either from a `.repo` URL (`url`, optionally `gpgkey`): what `dnf config-manager
    --add-repo URL` does; idempotent: present when `/etc/yum.repos.d/BASENAME` exists.
    Or written from arguments, one section: `id` (required), `description`, `baseurl`,
    `gpgkey`, `gpgcheck`, `enabled`, `file`.

    `id` is a repo id (letters, digits, `_`, `.`, `:`, `-`); `url`, `description`, `baseurl`
    and `gpgkey` must be one line (no line break of any kind, no control character), so a
    value can never add `gpgcheck=0` or a second `[section]`.
    """

    type_name = "repo"

    @dataclass(kw_only=True)
    class Params:
        url: str | None = arg(None, doc="the `.repo` file's URL (http, https or file)")
        id: str | None = arg(None, doc="the repo id, for a repo written from arguments")
        description: str | None = arg(None, doc="its `name=` (default: the id)")
        baseurl: str | None = arg(None, doc="its `baseurl=`; required with `id`")
        gpgkey: str | None = arg(
            None,
            doc="its `gpgkey=`; with `url`: replaces every `gpgkey=` line of the added file"
            " (air-gapped mirrors sign with their own key)",
        )
        gpgcheck: bool = arg(True, doc="its `gpgcheck=`")
        enabled: bool = arg(True, doc="its `enabled=`")
        file: str | None = arg(
            None, doc="the repo file (default: `/etc/yum.repos.d/ID.repo`, or the URL's name)"
        )
        state: str = arg("present", choices=("present", "absent"), doc="whether the file exists")

    params: Params

    def describe(self) -> str:
        return f"repo {self.params.url or self.params.id}"

    def validate(self) -> None:
        for name in ("url", "id", "description", "baseurl", "gpgkey"):
            value = getattr(self.params, name)
            problem = None if value is None else line_problem(value)
            if problem:
                raise self.fail(
                    f"`{name}` {origin_note(self.context.raw_args.get(name))}{problem}; "
                    "a repo file value must be one line",
                    hint="line breaks of every kind (\\n \\r \\v \\f U+0085 U+2028 U+2029) "
                    "and control characters are refused",
                    arg=name,
                )
        if self.params.id is not None and not (
            self.params.id and REPO_ID.fullmatch(self.params.id)
        ):
            raise self.fail(
                f"`id` {origin_note(self.context.raw_args.get('id'))}is not a repo id: "
                "letters, digits, `_`, `.`, `:` and `-` only",
                arg="id",
            )
        if (self.params.url is None) == (self.params.id is None):
            raise self.fail("give either `url` (a .repo file to add) or `id` (a repo to write)")
        if self.params.url is not None:
            parsed = urlparse(self.params.url)
            if parsed.scheme not in ("http", "https", "file") or not parsed.path.endswith(".repo"):
                found = self.params.url
                raise self.fail(
                    f"`url` must be an http(s) or file URL of a .repo file, found {found!r}",
                    arg="url",
                )
            if self.params.baseurl or self.params.description:
                raise self.fail("`baseurl` and `description` go with `id`, not with `url`")
        elif self.params.state == "present" and not self.params.baseurl:
            raise self.fail("a repo written from arguments needs `baseurl`")

    @property
    def path(self) -> str:
        if self.params.file:
            return self.params.file
        if self.params.url:
            return posixpath.join(REPO_DIR, posixpath.basename(urlparse(self.params.url).path))
        return posixpath.join(REPO_DIR, f"{self.params.id}.repo")

    def facts(self) -> list[Fact]:
        return [FileFact(self.path)]

    def plan(self, state: HostState) -> Outcome:
        if self.params.state == "absent":
            return plan_absent(state, self.path)
        if self.params.id:
            return plan_file(
                state, self.path, repo_file_text(self.params.id, vars(self.params)).encode()
            )
        current: FileState = state.get(FileFact(self.path))
        gpgkey = self.params.gpgkey
        if current.exists:
            if not gpgkey or not current.known:
                return NoOp(f"{self.path} exists")
            wanted = replace_gpgkeys(as_text(current.content), gpgkey)
            if wanted == as_text(current.content):
                return NoOp(f"{self.path} exists, gpgkey={gpgkey}")
            return plan_file(
                state, self.path, wanted.encode(), summary=f"set gpgkey in {self.path}"
            )
        commands = [dnf("config-manager", "--add-repo", self.params.url)]
        summary = [f"repo {self.path}: absent → added from {self.params.url}"]
        if gpgkey:
            commands.append(_rewrite_gpgkey(self.path, gpgkey))
            summary.append(f"gpgkey → {gpgkey}")
        state.set(FileFact(self.path), FileState(True, known=False))
        return Change(summary, commands)

    def assertions(self) -> list[Assertion]:
        exists = self.params.state == "present"
        expect: dict[str, object] = {"exists": exists}
        if exists and self.params.gpgkey:
            expect["contains"] = f"gpgkey={self.params.gpgkey}"
        return [Assertion("file", self.path, expect, f"repo file {self.path}")]


def _rewrite_gpgkey(path: str, gpgkey: str) -> Command:
    """Point every gpgkey= line of a just-added repo file at our key (value via environment)."""
    p = shlex.quote(path)
    script = (
        f"GPGKEY={shlex.quote(gpgkey)} awk "
        '\'{ if ($0 ~ /^gpgkey *=/) print "gpgkey=" ENVIRON["GPGKEY"]; else print }\' '
        f"{p} > {p}.provision-tmp && cat {p}.provision-tmp > {p} && rm -f {p}.provision-tmp"
    )
    return Command(script, f"set gpgkey={gpgkey} in {path}")
