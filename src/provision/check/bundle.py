"""`provision check`, air-gapped sites: when `offline_bundle` is set, the bundle file on the
controller is there and verifies (every member's hash, no hostile member, the keys).

A bundle is read and verified once per run and path (a large one takes a while), whatever
the number of hosts that name it; check/offline.py takes the bundle id for its host-side
result from that same reading (`controller_bundle`), it does not read the file again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provision.check.rules import Level, Result

if TYPE_CHECKING:
    from provision.bundle.format import BundleError
    from provision.bundle.verify import Verified

CHECK = "bundle file"  # on the controller; check/offline.py judges the host's copy
THRESHOLD = "present, `provision bundle verify` passes"
_cache: dict[tuple[str, int, int], Verified | BundleError] = {}
_lock = threading.Lock()


def _variable(variables: Mapping[str, Any]) -> Any:
    try:
        return variables["offline_bundle"] if "offline_bundle" in variables else None
    except Exception:  # noqa: BLE001 - a value that needs host facts is judged below
        return ...


def bundle_checks(variables: Mapping[str, Any]) -> list[Result]:
    value = _variable(variables)
    if value is None or value == "":
        return []
    if value is ... or not isinstance(value, str):
        return [
            Result(
                CHECK,
                Level.FAIL,
                "offline_bundle is not a file path",
                THRESHOLD,
                "set offline_bundle to the bundle file on this machine"
                " (a path, read where provision runs)",
            )
        ]
    return [check_bundle_file(Path(value))]


def controller_bundle(path: Path) -> Verified | BundleError:
    """The bundle at `path` verified completely, or why not: read once per path while its
    size and mtime hold (OSError when it cannot even be stat'ed)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key not in _cache:
            _cache[key] = _verify(path)
        return _cache[key]


def check_bundle_file(path: Path) -> Result:
    try:
        verified = controller_bundle(path)
    except OSError as exc:
        return Result(
            CHECK,
            Level.FAIL,
            f"{path}: {exc.strerror or 'cannot be read'}",
            THRESHOLD,
            "build it with `provision bundle create INVENTORY --reference HOST --release el9"
            f" -o {path}` where the repositories are reachable, copy it here, or fix"
            " offline_bundle",
        )
    from provision.bundle.format import BundleError

    if isinstance(verified, BundleError):
        problems = str(verified).splitlines()
        shown = problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        return Result(
            CHECK,
            Level.FAIL,
            shown,
            THRESHOLD,
            f"the bundle is damaged or was changed: copy it again from where it was built"
            f" (compare its id), or rebuild it; `provision bundle verify {path}` lists every"
            " problem",
        )
    manifest = verified.manifest
    packages = sum(f.kind == "rpm" for f in manifest.files)
    releases = ", ".join(f"{r.release}/{r.arch}" for r in manifest.releases) or "no releases"
    return Result(
        CHECK,
        Level.PASS,
        f"{path}: {releases}, {packages} packages, {len(manifest.images)} images,"
        f" created {manifest.created}, id {verified.id[:16]}",
        THRESHOLD,
    )


def _verify(path: Path) -> Verified | BundleError:
    from provision.bundle.format import BundleError
    from provision.bundle.verify import verify_bundle

    try:
        return verify_bundle(path)
    except BundleError as exc:
        return exc
