"""`repo`: a dnf repository, added from a .repo URL or written from arguments."""

from __future__ import annotations

import posixpath
import shlex
from urllib.parse import urlparse

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, HostState, NoOp, Outcome, dnf
from provision.project.fileformats import REPO_ID, line_problem, origin_note
from provision.tasks.base import Arg, Assertion, TaskType, register
from provision.tasks.filesupport import as_text, plan_absent, plan_file

REPO_DIR = "/etc/yum.repos.d"


def replace_gpgkeys(text: str, gpgkey: str) -> str:
    """Every `gpgkey=` line of a .repo file pointed at `gpgkey`."""
    lines = [
        f"gpgkey={gpgkey}" if line.replace(" ", "").startswith("gpgkey=") else line
        for line in text.splitlines()
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def repo_file_text(repo_id: str, p: dict) -> str:
    lines = [f"[{repo_id}]", f"name={p['description'] or repo_id}"]
    if p["baseurl"]:
        lines.append(f"baseurl={p['baseurl']}")
    lines.append(f"enabled={int(p['enabled'])}")
    lines.append(f"gpgcheck={int(p['gpgcheck'])}")
    if p["gpgkey"]:
        lines.append(f"gpgkey={p['gpgkey']}")
    return "\n".join(lines) + "\n"


@register
class Repo(TaskType):
    type_name = "repo"
    args = (
        Arg("url", "str", None),
        Arg("id", "str", None),
        Arg("description", "str", None),
        Arg("baseurl", "str", None),
        Arg("gpgkey", "str", None),
        Arg("gpgcheck", "bool", True),
        Arg("enabled", "bool", True),
        Arg("file", "str", None),
        Arg("state", "str", "present", ("present", "absent")),
    )

    def describe(self) -> str:
        return f"repo {self.p['url'] or self.p['id']}"

    def validate(self) -> None:
        for arg in ("url", "id", "description", "baseurl", "gpgkey"):
            value = self.p[arg]
            problem = None if value is None else line_problem(value)
            if problem:
                raise self.fail(
                    f"`{arg}` {origin_note(self.context.raw_args.get(arg))}{problem}; "
                    "a repo file value must be one line",
                    hint="line breaks of every kind (\\n \\r \\v \\f U+0085 U+2028 U+2029) "
                    "and control characters are refused",
                    arg=arg,
                )
        if self.p["id"] is not None and not (self.p["id"] and REPO_ID.fullmatch(self.p["id"])):
            raise self.fail(
                f"`id` {origin_note(self.context.raw_args.get('id'))}is not a repo id: "
                "letters, digits, `_`, `.`, `:` and `-` only",
                arg="id",
            )
        if (self.p["url"] is None) == (self.p["id"] is None):
            raise self.fail("give either `url` (a .repo file to add) or `id` (a repo to write)")
        if self.p["url"] is not None:
            parsed = urlparse(self.p["url"])
            if parsed.scheme not in ("http", "https", "file") or not parsed.path.endswith(".repo"):
                found = self.p["url"]
                raise self.fail(
                    f"`url` must be an http(s) or file URL of a .repo file, found {found!r}",
                    arg="url",
                )
            if self.p["baseurl"] or self.p["description"]:
                raise self.fail("`baseurl` and `description` go with `id`, not with `url`")
        elif self.p["state"] == "present" and not self.p["baseurl"]:
            raise self.fail("a repo written from arguments needs `baseurl`")

    @property
    def path(self) -> str:
        if self.p["file"]:
            return self.p["file"]
        if self.p["url"]:
            return posixpath.join(REPO_DIR, posixpath.basename(urlparse(self.p["url"]).path))
        return posixpath.join(REPO_DIR, f"{self.p['id']}.repo")

    def facts(self) -> list[Fact]:
        return [FileFact(self.path)]

    def plan(self, state: HostState) -> Outcome:
        if self.p["state"] == "absent":
            return plan_absent(state, self.path)
        if self.p["id"]:
            return plan_file(state, self.path, repo_file_text(self.p["id"], self.p).encode())
        current: FileState = state.get(FileFact(self.path))
        gpgkey = self.p["gpgkey"]
        if current.exists:
            if not gpgkey or not current.known:
                return NoOp(f"{self.path} exists")
            wanted = replace_gpgkeys(as_text(current.content), gpgkey)
            if wanted == as_text(current.content):
                return NoOp(f"{self.path} exists, gpgkey={gpgkey}")
            return plan_file(
                state, self.path, wanted.encode(), summary=f"set gpgkey in {self.path}"
            )
        commands = [dnf("config-manager", "--add-repo", self.p["url"])]
        summary = [f"repo {self.path}: absent → added from {self.p['url']}"]
        if gpgkey:
            commands.append(_rewrite_gpgkey(self.path, gpgkey))
            summary.append(f"gpgkey → {gpgkey}")
        state.set(FileFact(self.path), FileState(True, known=False))
        return Change(summary, commands)

    def assertions(self) -> list[Assertion]:
        exists = self.p["state"] == "present"
        expect: dict[str, object] = {"exists": exists}
        if exists and self.p["gpgkey"]:
            expect["contains"] = f"gpgkey={self.p['gpgkey']}"
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
