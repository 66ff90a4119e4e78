"""A small offline bundle for the roles' unit tests: one stand-in RPM and the lab's
Docker key, in the format `provision bundle create` writes (provision.bundle.testing)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from provision.bundle.testing import make_bundle_of_bytes

LAB_KEY = Path(__file__).resolve().parents[1] / "unit" / "facts" / "openpgp" / "lab-docker.asc"


def write_bundle(path: Path, keys: Iterable[Path] = (LAB_KEY,)) -> Path:
    rpms = {"hello-1.0-1.el9.x86_64.rpm": b"rpm bytes\n"}
    return make_bundle_of_bytes(path.parent, rpms, keys=keys, name=path.name)
