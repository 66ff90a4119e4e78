"""`rpm_key`: a GPG key in the rpm database, imported only when its fingerprint is the pinned one.

The key file is read on the host during the probe (only while the pinned key is missing),
its primary keys are fingerprinted on the controller, and the plan fails, before anything is
changed, unless the file holds exactly the pinned key. The bytes that were checked are the
bytes imported: apply sends them on stdin, it never fetches the URL a second time.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from typing import Any

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.facts.openpgp import grouped, normalise_fingerprint, valid_fingerprint
from provision.facts.rpm_keys import InstalledKey, RpmKeys, RpmKeysFact, check_key_file, short_id
from provision.planning.model import (
    Change,
    Command,
    Deferred,
    Failed,
    HostState,
    NoOp,
    Outcome,
)
from provision.tasks.base import Assertion, TaskType, arg, verifies
from provision.tasks.filesupport import plan_file

_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
_PATH = re.compile(r"/[^\s]*")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")


def import_key(data: bytes) -> Command:
    """`rpm --import` of exactly these bytes (sent on stdin into a private temp file)."""
    script = "; ".join(
        [
            "set -e",
            "umask 077",
            "t=$(mktemp)",
            "trap 'rm -f -- \"$t\"' EXIT",
            'cat > "$t"',
            'rpm --import "$t"',
        ]
    )
    return Command(script, f"rpm --import (the verified key, {len(data)} bytes)", data)


class RpmKey(TaskType):
    """`rpm_key`: a GPG key in the rpm database, pinned by fingerprint

    The probe lists the rpm database's keys (`rpm -qa gpg-pubkey`, each key's armored text)
    and fingerprints them on the controller, by their bytes (OpenPGP version 4: SHA-1,
    version 6: SHA-256; armor checksums checked). Only when the pinned key is missing (or
    `dest` is) does the host read `key`. The plan then fails, before anything on the host is
    changed, unless the file holds exactly one primary key with the pinned fingerprint:

    `refusing the GPG key from https://download.docker.com/linux/rhel/gpg: its key has
    fingerprint FB93DD32...; the pinned fingerprint is 060A 61C5 1B55 8A7F 742B 77AA C52F
    EB6B 621E 9F35. Nothing was imported.`

    A file with a second key appended, a secret key, HTML from a proxy's login page, a bad
    armor checksum: each is refused the same way. The bytes checked are the bytes imported
    (sent on stdin to `rpm --import`, never fetched a second time). `provision verify`
    checks the imported key by full fingerprint (a key with the same short ID is not it)
    and `dest`.
    """

    type_name = "rpm_key"

    @dataclass(kw_only=True)
    class Params:
        key: str = arg(
            doc="an `http(s)` URL (fetched on the host with curl, as dnf would) or an absolute"
            " path on the host"
        )
        fingerprint: str = arg(
            doc="the key's full fingerprint: 40 hex digits (64 for a version 6 key); spaces,"
            " colons and case do not matter; a key ID (8 or 16 digits) is refused, it can be"
            " forged"
        )
        state: str = arg(
            "present",
            choices=("present", "absent"),
            doc="`absent` removes every `gpg-pubkey` whose fingerprint is `fingerprint`",
        )
        proxy: str = arg(
            "", doc="proxy URL for the fetch (empty: direct, ignoring proxy environment variables)"
        )
        dest: str | None = arg(
            None,
            doc="a host path where the checked key is kept (point a repo's"
            " `gpgkey=file://...` at it)",
        )

    params: Params

    def describe(self) -> str:
        return f"rpm_key {grouped(self.params.fingerprint)}"

    def validate(self) -> None:
        raw = self.params.fingerprint
        fingerprint = normalise_fingerprint(raw)
        if not valid_fingerprint(fingerprint):
            hint = ""
            if re.fullmatch(r"[0-9A-F]{8}|[0-9A-F]{16}", fingerprint):
                hint = "a key ID can be forged; give the full fingerprint"
            raise self.fail(
                f"`fingerprint` must be a key's full fingerprint (40 hex digits, or 64 for a"
                f" version 6 key), found {raw!r}",
                hint,
            )
        self.params.fingerprint = fingerprint
        key = self.params.key
        if key.startswith("file://"):
            key = self.params.key = key.removeprefix("file://")
        if _BAD_CHARS.search(key) or not (_URL.fullmatch(key) or _PATH.fullmatch(key)):
            raise self.fail(
                f"`key` must be an http(s) URL or an absolute path on the host, found {key!r}"
            )
        proxy = self.params.proxy
        if proxy and (_BAD_CHARS.search(proxy) or not _URL.fullmatch(proxy)):
            raise self.fail(f"`proxy` must be empty or an http(s) URL, found {proxy!r}")
        dest = self.params.dest
        if dest is not None and (_BAD_CHARS.search(dest) or dest.endswith("/")):
            raise self.fail(f"`dest` must be a file path, found {dest!r}")

    def _fact(self) -> RpmKeysFact:
        also = (self.params.dest or "") if self.params.state == "present" else ""
        return RpmKeysFact(self.params.fingerprint, self.params.key, self.params.proxy, also)

    def facts(self) -> list[Fact]:
        facts: list[Fact] = [self._fact()]
        if self.params.dest:
            facts.append(FileFact(self.params.dest))
        return facts

    def _dest_ok(self, state: HostState) -> bool:
        if not self.params.dest:
            return True
        current: FileState = state.get(FileFact(self.params.dest))
        if not current.exists or not current.known or current.content is None:
            return False
        return check_key_file(current.content, self.params.fingerprint) is None

    def plan(self, state: HostState) -> Outcome:
        fingerprint = self.params.fingerprint
        shown = grouped(fingerprint)
        keys: RpmKeys = state.get(self._fact())
        imported = keys.with_fingerprint(fingerprint)
        if self.params.state == "absent":
            return self._plan_absent(state, keys)
        dest_ok = self._dest_ok(state)
        if imported and dest_ok:
            names = ", ".join(k.name for k in imported)
            return NoOp(f"GPG key {shown} is imported ({names})")
        planned = self._planned_key_file(state) if not imported else None
        if planned is not None and not planned.known:
            return Deferred(
                f"import GPG key {shown} from {self.params.key} (the file comes from an"
                " earlier step: read and checked at apply)",
                self.facts(),
            )
        if planned is not None and planned.content is not None:
            keys = replace(keys, fetched=planned.content, fetch_error=None)
        if not imported or keys.fetched is not None:
            if keys.fetched is None and keys.fetch_error is None:
                short = f"gpg-pubkey-{short_id(fingerprint)}"
                names = ", ".join(k.name for k in keys.installed if k.name.startswith(short))
                return Failed(
                    f"an imported key has the short ID of {shown} but not its fingerprint"
                    f" ({names or short}); check it and remove it (`rpm -e NAME`) first"
                )
            if keys.fetched is None:
                return Failed(f"cannot read the GPG key {self.params.key}: {keys.fetch_error}")
            problem = check_key_file(keys.fetched, fingerprint)
            if problem:
                return Failed(
                    f"refusing the GPG key from {self.params.key}: {problem}; the pinned"
                    f" fingerprint is {shown}. Nothing was imported."
                )
            data = keys.fetched
        else:
            data = imported[0].armored.encode()  # the rpm database's own copy, already checked
        summary: list[str] = []
        commands: list[Command] = []
        diffs = []
        if not imported:
            summary.append(f"import GPG key {shown} from {self.params.key} (fingerprint checked)")
            commands.append(import_key(data))
            name = f"gpg-pubkey-{short_id(fingerprint)}"
            armored = data.decode("ascii", errors="replace")
            state.set(
                self._fact(),
                RpmKeys((*keys.installed, InstalledKey(name, (fingerprint,), armored))),
            )
        if not dest_ok:
            written = plan_file(
                state,
                self.params.dest,
                data,
                mode=0o644,
                owner="root",
                group="root",
                summary=f"keep the checked key {shown} in {self.params.dest}",
            )
            if isinstance(written, Failed):
                return written
            if isinstance(written, Change):
                summary += written.summary
                commands += written.commands
                diffs += written.diffs
        return Change(summary, commands, diffs)

    def _planned_key_file(self, state: HostState) -> FileState | None:
        """`key` as an earlier task of this run leaves it (get_url, copy...), when that
        differs from what the probe read: unknown content defers the import to apply."""
        if not self.params.key.startswith("/"):
            return None
        fact = FileFact(self.params.key)
        if not state.has(fact):
            return None
        current: FileState = state.get(fact)
        if not current.exists:
            return None
        if current.known and current.content == state.get(self._fact()).fetched:
            return None
        return current

    def _plan_absent(self, state: HostState, keys: RpmKeys) -> Outcome:
        imported = keys.with_fingerprint(self.params.fingerprint)
        if not imported:
            return NoOp(f"GPG key {grouped(self.params.fingerprint)} is not imported")
        names = [k.name for k in imported]
        script = " && ".join(f"rpm -e --allmatches {shlex.quote(n)}" for n in names)
        others = tuple(k for k in keys.installed if k not in imported)
        state.set(self._fact(), RpmKeys(others))
        return Change(
            [f"remove GPG key {grouped(self.params.fingerprint)} ({', '.join(names)})"],
            [Command(script, f"rpm -e {' '.join(names)}")],
        )

    def assertions(self) -> list[Assertion]:
        expect = {"state": self.params.state, "dest": self.params.dest}
        return [
            Assertion(
                "rpm_key",
                self.params.fingerprint,
                expect,
                f"rpm GPG key {grouped(self.params.fingerprint)}",
            )
        ]


@verifies("rpm_key")
def check_rpm_key(host: Any, fingerprint: str, expect: dict) -> str | None:
    """The key imported (by full fingerprint) or not, and `dest` holding exactly it."""
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
