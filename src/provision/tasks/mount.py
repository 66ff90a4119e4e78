"""`mount`: a filesystem mounted at a directory now and at every boot (a line in
/etc/fstab naming it by UUID).

Arguments follow ansible.posix.mount: `path`, `src` (the device), `fstype`, `opts`,
`dump`, `passno`, `state` (mounted: fstab line and mounted now; present: fstab line
only; absent: no fstab line for `path`, unmounted), `fstab`; plus `by_uuid` (default
true: the fstab line names the filesystem as `UUID=...`, read from the device, so it
survives device renames).

Data is never hidden or moved:
- mounting over a directory that is not empty fails, with what to do instead (for
  /var/lib/docker: stop the engine and migrate its data first, see
  roles/docker_storage/README.md);
- an /etc/fstab line that mounts another filesystem at `path` fails the task: provision
  replaces its own line (other options) but never another filesystem's.
An empty directory that is itself a mount of something else (the container lab binds an
empty /var/lib/docker) is mounted over; the summary says so.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.facts.base import Fact
from provision.facts.kinds import FileFact, FileState
from provision.planning.model import Change, Command, Deferred, Failed, HostState, NoOp, Outcome
from provision.tasks.base import Assertion, TaskType, arg
from provision.tasks.filesupport import as_text, plan_file

if TYPE_CHECKING:
    from provision.facts.storage import BlockDevice, MountPoint

#: a mount point as fstab can hold it without escapes: absolute, no whitespace or control
#: characters, no `.`/`..` components
MOUNT_PATH = re.compile(r"/[A-Za-z0-9_.:+@,=/-]*")
OPTIONS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+@,=/-]*")
FSTYPE = re.compile(r"[a-z0-9][a-z0-9._]*")
RELOAD = (
    "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then"
    " systemctl daemon-reload; fi"
)


def fstab_entries(content: str) -> list[tuple[int, list[str]]]:
    """(line index, fields) of every entry (not a comment or blank line)."""
    entries = []
    for index, line in enumerate(content.split("\n")):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            entries.append((index, fields))
    return entries


class Mount(TaskType):
    """`mount`: a filesystem mounted now and at every boot

    Refuses to mount over a directory that is not empty and to replace an fstab line of
    another filesystem; mounting over an empty mount of something else is done and said.
    Argument names follow ansible.posix.mount.
    """

    type_name = "mount"

    @dataclass(kw_only=True)
    class Params:
        path: str = arg(doc="the mount point: an absolute directory other than `/`")
        src: str | None = arg(None, doc="the device; required unless `state: absent`")
        fstype: str | None = arg(None, doc="the filesystem type; required unless `state: absent`")
        opts: str = arg("defaults", doc="mount options, comma-separated")
        dump: int = arg(0, doc="the fstab dump field (0..9)")
        passno: int = arg(0, doc="the fstab fsck pass (0..9)")
        state: str = arg(
            "mounted",
            choices=("mounted", "present", "absent"),
            doc="`mounted`: in fstab and mounted now; `present`: the fstab line only;"
            " `absent`: no fstab line for `path`, unmounted",
        )
        fstab: str = arg("/etc/fstab", doc="the fstab file")
        by_uuid: bool = arg(
            True, doc="the fstab line names the filesystem as `UUID=...` (read from the device)"
        )

    params: Params

    def validate(self) -> None:
        from provision.facts.storage import device_problem

        path = self.params.path = self.params.path.rstrip("/") or "/"
        if (
            not MOUNT_PATH.fullmatch(path)
            or path == "/"
            or any(part in (".", "..", "") for part in path.split("/")[1:])
        ):
            raise self.fail(
                f"`path` must be an absolute directory other than / (letters, digits and"
                f" _ . : + @ , = - /; no spaces, no `..`), found {path!r}",
                arg="path",
            )
        if not self.params.fstab.startswith("/") or re.search(r"[\s\x00-\x1f]", self.params.fstab):
            raise self.fail(f"`fstab` must be an absolute path, found {self.params.fstab!r}")
        if self.params.state == "absent":
            return
        for key in ("src", "fstype"):
            if getattr(self.params, key) is None:
                raise self.fail(f"`{key}` is required unless `state: absent`", arg=key)
        problem = device_problem(self.params.src)
        if problem:
            raise self.fail(f"`src`: {problem}", arg="src")
        if not FSTYPE.fullmatch(self.params.fstype):
            raise self.fail(
                f"`fstype` {self.params.fstype!r} is not a filesystem type", arg="fstype"
            )
        if not OPTIONS.fullmatch(self.params.opts):
            raise self.fail(
                f"`opts` must be comma-separated options (no spaces, not starting with"
                f" `-`), found {self.params.opts!r}",
                arg="opts",
            )
        for key in ("dump", "passno"):
            if not 0 <= getattr(self.params, key) <= 9:
                raise self.fail(f"`{key}` must be 0..9, found {getattr(self.params, key)}", arg=key)

    def describe(self) -> str:
        return f"mount {self.params.path}"

    def facts(self) -> list[Fact]:
        from provision.facts.storage import BlockDeviceFact, FilesystemFact, MountPointFact

        facts: list[Fact] = [FileFact(self.params.fstab), MountPointFact(self.params.path)]
        if self.params.state != "absent":
            facts += [BlockDeviceFact(self.params.src), FilesystemFact(self.params.src)]
        return facts

    def plan(self, state: HostState) -> Outcome:
        from provision.facts.storage import (
            BlockDeviceFact,
            Filesystem,
            FilesystemFact,
            MountPointFact,
        )

        if self.params.state == "absent":
            return self._plan_absent(state)
        path, src, fstype = self.params.path, self.params.src, self.params.fstype
        device: BlockDevice = state.get(BlockDeviceFact(src))
        fs: Filesystem = state.get(FilesystemFact(src))
        point: MountPoint = state.get(MountPointFact(path))
        if not device.exists or fs.fstype != fstype:
            if state.after_changes:
                return Deferred(
                    f"decided at apply: {src} does not hold {fstype} yet",
                    [BlockDeviceFact(src), FilesystemFact(src), MountPointFact(path)],
                )
            if not device.exists:
                return Failed(f"{src} does not exist on this host")
            return Failed(f"{src} holds {fs.fstype or 'no filesystem'}, not {fstype}")
        if self.params.by_uuid and not fs.uuid:
            return Failed(f"the {fstype} filesystem on {src} has no UUID to name it by")
        source = f"UUID={fs.uuid}" if self.params.by_uuid else src
        wanted = (
            f"{source} {path} {fstype} {self.params.opts} {self.params.dump} {self.params.passno}"
        )
        fstab: FileState = state.get(FileFact(self.params.fstab))
        before = as_text(fstab.content) if fstab.exists else ""
        ours = {source, src, f"UUID={fs.uuid}" if fs.uuid else source}
        kept: list[str] = []
        replaced = False
        for index, line in enumerate(before.split("\n")):
            fields = line.split()
            if fields and not fields[0].startswith("#") and len(fields) >= 2 and fields[1] == path:
                if fields[0] not in ours:
                    return Failed(
                        f"{self.params.fstab} line {index + 1} mounts {fields[0]} at {path}:"
                        " provision does not replace another filesystem's mount. Move its"
                        " data if needed, remove that line, then run again"
                    )
                if not replaced:
                    kept.append(wanted)
                    replaced = True
                continue
            kept.append(line)
        if not replaced:
            if kept and kept[-1] == "":
                kept[-1] = wanted
                kept.append("")
            else:
                kept += [wanted, ""]
        after = "\n".join(kept)
        summary: list[str] = []
        commands: list[Command] = []
        diffs = []
        if after != before:
            written = plan_file(
                state, self.params.fstab, after.encode(), summary=f"{self.params.fstab}: {wanted}"
            )
            if not isinstance(written, Change):
                return written
            summary += written.summary
            commands += written.commands + [Command(RELOAD, "systemctl daemon-reload")]
            diffs += written.diffs
        if self.params.state == "mounted":
            mounted = self._plan_mount(state, point, device)
            if isinstance(mounted, Failed):
                return mounted
            if mounted is not None:
                summary += mounted.summary
                commands += mounted.commands
            elif after != before and point.top is not None:
                line = shlex.join(["mount", "-o", f"remount,{self.params.opts}", "--", path])
                summary.append(f"remount {path} with {self.params.opts}")
                commands.append(Command(line, line))
        if not commands:
            now = "mounted, " if self.params.state == "mounted" else ""
            return NoOp(f"{src} ({fstype}) is {now}in {self.params.fstab} at {path}")
        return Change(summary, commands, diffs)

    def _plan_mount(
        self, state: HostState, point: MountPoint, device: BlockDevice
    ) -> Change | Failed | None:
        """Mount now, unless it is already; None when it is."""
        from provision.facts.storage import (
            BlockDevice,
            BlockDeviceFact,
            Mounted,
            MountPoint,
            MountPointFact,
        )

        path, src, fstype = self.params.path, self.params.src, self.params.fstype
        top = point.top
        if top is not None and device.major_minor and top.major_minor == device.major_minor:
            return None
        if point.exists and not point.is_dir:
            return Failed(f"{path} exists and is not a directory")
        if point.entries > 0:
            what = f"the mount of {top.source} at {path}" if top is not None else path
            return Failed(
                f"refusing to mount {src} at {path}: {what} is not empty ({point.entries}"
                f" entries) and mounting over it would hide that data. provision never moves"
                f" or deletes data: stop what uses it (for Docker: `systemctl stop docker"
                f" docker.socket`), mount {src} elsewhere, copy the data over (`cp -a"
                f" {path}/. /mnt/new/`), check it, empty {path}, then run again (see"
                " roles/docker_storage/README.md, Migrating existing data)"
            )
        summary = []
        words = []
        if not point.exists:
            words.append(shlex.join(["mkdir", "-p", "--", path]))
        mount = shlex.join(["mount", "-t", fstype, "-o", self.params.opts, "--", src, path])
        words.append(mount)
        over = f" (over the empty mount of {top.source})" if top is not None else ""
        summary.append(f"mount {src} ({fstype}) at {path}{over}")
        mounts = (
            *point.mounts,
            Mounted(src, fstype, self.params.opts, device.major_minor or "planned"),
        )
        state.set(MountPointFact(path), MountPoint(path, True, True, 0, mounts))
        if not device.major_minor:
            state.set(
                BlockDeviceFact(src),
                BlockDevice(src, True, True, device.size, "planned", device.signatures),
            )
        script = " && ".join(words)
        return Change(summary, [Command(script, script)])

    def _plan_absent(self, state: HostState) -> Outcome:
        from provision.facts.storage import MountPoint, MountPointFact

        path = self.params.path
        fstab: FileState = state.get(FileFact(self.params.fstab))
        point: MountPoint = state.get(MountPointFact(path))
        summary: list[str] = []
        commands: list[Command] = []
        diffs = []
        if point.top is not None:
            line = shlex.join(["umount", "--", path])
            summary.append(f"unmount {point.top.source} from {path}")
            commands.append(Command(line, line))
            state.set(MountPointFact(path), MountPoint(path, True, True, 0, point.mounts[:-1]))
        if fstab.exists:
            before = as_text(fstab.content)
            lines = before.split("\n")
            kept = [
                line
                for line in lines
                if not (
                    line.split()
                    and not line.split()[0].startswith("#")
                    and len(line.split()) >= 2
                    and line.split()[1] == path
                )
            ]
            if kept != lines:
                written = plan_file(
                    state,
                    self.params.fstab,
                    "\n".join(kept).encode(),
                    summary=f"{self.params.fstab}: no line for {path}",
                )
                if not isinstance(written, Change):
                    return written
                summary += written.summary
                commands += written.commands + [Command(RELOAD, "systemctl daemon-reload")]
                diffs += written.diffs
        if not commands:
            return NoOp(f"nothing is mounted at {path} and {self.params.fstab} has no line for it")
        return Change(summary, commands, diffs)

    def assertions(self) -> list[Assertion]:
        path = self.params.path
        script = shlex.join(["findmnt", "-n", "-o", "FSTYPE", "--mountpoint", path])
        if self.params.state == "mounted":
            expect = {"equals": self.params.fstype, "in": None, "matches": None, "rc": None}
            return [Assertion("command", script, expect, f"{self.params.fstype} mounted at {path}")]
        if self.params.state == "absent":
            expect = {"equals": "", "in": None, "matches": None, "rc": None}
            return [Assertion("command", script, expect, f"nothing mounted at {path}")]
        return []
