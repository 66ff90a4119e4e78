"""A HEAD request through the configured proxy, from the host, for each repository."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.facts.base import FactError, tail, text
from provision.facts.host import DISTRIBUTION_OF_ID

MISSING_TOOL = 127
TIMEOUT_SECONDS = 10

# role docker_repo's defaults: which tree of download.docker.com each distribution uses
DEFAULT_TREES = {"RedHat": "rhel", "Rocky": "centos", "AlmaLinux": "centos"}
# a docker_repo_url of this form is pinned by the role to linux/TREE/MAJOR/ARCH/stable
PINNABLE = ("/linux/rhel/docker-ce.repo", "/linux/centos/docker-ce.repo")
_TREE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")

# The enabled repositories of /etc/yum.repos.d: id, kind (baseurl or mirrorlist) and URL,
# with $releasever (the major version, $rel) and $basearch ($arch) filled in as dnf would.
_LIST_REPOS = r"""
for f in /etc/yum.repos.d/*.repo; do [ -r "$f" ] && cat "$f" && echo; done |
awk -v rel="$rel" -v arch="$arch" '
function flush() { if (id != "" && en !~ /^(0|false|no|False|No)$/ && url != "") {
  gsub(/\$releasever/, rel, url); gsub(/\$basearch/, arch, url); print id "\t" kind "\t" url } }
/^[ \t]*\[/ { flush(); id=$0; gsub(/^[ \t]*\[|\][ \t]*$/, "", id); url=""; kind=""; en="1"; next }
/^[ \t]*baseurl[ \t]*=/ {
  sub(/^[^=]*=[ \t]*/, ""); split($0, a, /[ ,]+/); url=a[1]; kind="baseurl"; next }
/^[ \t]*mirrorlist[ \t]*=/ {
  if (kind != "baseurl") { sub(/^[^=]*=[ \t]*/, ""); url=$0; kind="mirrorlist" }; next }
/^[ \t]*enabled[ \t]*=/ { sub(/^[^=]*=[ \t]*/, ""); en=$0; next }
END { flush() }'
"""


_NOT_ASKED = {
    "var": "not asked: the URL uses a dnf variable other than $releasever and $basearch",
    "scheme": "not asked: not an http:// or https:// URL",
}


@dataclass(frozen=True)
class Reach:
    repo: str  # repository id, or `docker-ce (docker_repo_url)`
    url: str  # what was asked for
    code: int  # HTTP status (0: no answer)
    curl_rc: int  # curl's exit code (0: an answer came)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.curl_rc == 0 and 200 <= self.code < 400


@dataclass(frozen=True)
class ReachFact:
    """HEAD each enabled repository (its repomd.xml, or its mirrorlist) and the docker-ce
    .repo URL, through `proxy` (none: directly). Reads nothing else, writes nothing."""

    proxy: str
    docker_repo_url: str
    # (ansible_distribution, tree) pairs, as the variable docker_repo_trees
    docker_trees: tuple[tuple[str, str], ...] = tuple(DEFAULT_TREES.items())
    pin_major: bool = True
    slow: bool = True
    os_release: str = "/etc/os-release"

    def _docker_line(self) -> str:
        """HEAD what dnf will fetch: with the role's pinned baseurl, that tree's
        repomd.xml for this host's distribution, major version and architecture;
        otherwise the .repo file itself."""
        url = shlex.quote(self.docker_repo_url)
        whole = f"check 'docker-ce (docker_repo_url)' file {url}"
        if not (self.pin_major and self.docker_repo_url.endswith(PINNABLE)):
            return whole
        base = self.docker_repo_url[: self.docker_repo_url.rfind("/linux/")]
        arms = [
            f"{shlex.quote(os_id)}) tree={shlex.quote(tree)};;"
            for distribution, tree in self.docker_trees
            if _TREE.match(tree)
            for os_id, name in DISTRIBUTION_OF_ID.items()
            if name == distribution
        ]
        return (
            f"base={shlex.quote(base)}; tree=''\n"
            f'case "$id" in {" ".join(arms)} *) ;; esac\n'
            'if [ -n "$tree" ] && [ -n "$rel" ]; then check \'docker-ce (pinned baseurl)\' baseurl'
            ' "$base/linux/$tree/$rel/$arch/stable/repodata/repomd.xml"; '
            f"else {whole}; fi"
        )

    def command(self) -> str:
        via = f"-x {shlex.quote(self.proxy)}" if self.proxy else "--noproxy '*'"
        head = f"curl -sS -o /dev/null -I --max-time {TIMEOUT_SECONDS} -w '%{{http_code}}' {via}"
        lines = [
            "command -v curl >/dev/null || exit 127",
            f"osr={shlex.quote(self.os_release)}",
            """rel=$(. "$osr" 2>/dev/null; printf '%s' "${VERSION_ID%%.*}")""",
            """id=$(. "$osr" 2>/dev/null; printf '%s' "$ID")""",
            "arch=$(uname -m)",
            "list() {" + _LIST_REPOS + "}",
            'check() { case "$3" in *\'$\'*) printf \'%s\\t%s\\t000\\tvar\\n\' "$1" "$3";'
            " return;; http://*|https://*) ;; *) printf '%s\\t%s\\t000\\tscheme\\n' \"$1\""
            ' "$3"; return;; esac; code=$(' + head + ' "$3" 2>"$e"); rc=$?;'
            ' printf \'%s\\t%s\\t%s\\t%s\\t%s\\n\' "$1" "$3" "${code:-000}" "$rc"'
            " \"$(head -c 200 \"$e\" | tr '\\t\\n' '  ')\"; }",
            "e=$(mktemp) || exit 3; trap 'rm -f \"$e\"' EXIT",
            "list | while IFS='\t' read -r id kind url; do "
            'if [ "$kind" = baseurl ]; then check "$id" "$kind" "${url%/}/repodata/repomd.xml"; '
            'else check "$id" "$kind" "$url"; fi; done',
        ]
        if self.docker_repo_url:
            lines.append(self._docker_line())
        return "\n".join(lines)

    def parse(self, rc: int, stdout: bytes, stderr: bytes) -> tuple[Reach, ...] | None:
        if rc == MISSING_TOOL:
            return None  # no curl on the host
        if rc != 0:
            raise FactError(f"listing the repositories failed (exit {rc}): {tail(stderr)}")
        found = []
        for line in text(stdout).splitlines():
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) == 4 and fields[3] in _NOT_ASKED:
                found.append(Reach(fields[0], fields[1], 0, -1, _NOT_ASKED[fields[3]]))
                continue
            if len(fields) != 5 or not fields[2].isdigit() or not fields[3].isdigit():
                raise FactError(f"unexpected repository check line: {line!r}")
            found.append(
                Reach(fields[0], fields[1], int(fields[2]), int(fields[3]), fields[4].strip())
            )
        return tuple(found)

    def describe(self) -> str:
        return "repositories reachable"


def docker_trees(variables: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """docker_repo_trees from the host's variables (the role's default when unset)."""
    trees = variables.get("docker_repo_trees", DEFAULT_TREES)
    if not isinstance(trees, Mapping):
        return tuple(DEFAULT_TREES.items())
    return tuple((str(k), str(v)) for k, v in trees.items())
