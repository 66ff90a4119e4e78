"""The Docker-host roles and playbooks that ship with provision.

The repository keeps them at its top level (`roles/`, `playbooks/`). The wheel carries a
copy as package data, `provision/shipped/roles` and `provision/shipped/playbooks`
(setup.py's build step makes it). An installed provision finds them there; a source
checkout (an editable install) finds the repository's own folders.

A project's roles come first: `find_role` looks in the project's `roles/` folders, then
here (see spec/playbook.py).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
# src/provision/shipped -> the checkout's top level, when this runs from a source tree
CHECKOUT = HERE.parents[2]


def _shipped(kind: str) -> Path | None:
    packaged = HERE / kind
    if packaged.is_dir():
        return packaged
    checkout = CHECKOUT / kind
    if (CHECKOUT / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return None


def roles_dir() -> Path | None:
    """The folder of the shipped roles (`roles/NAME/...`), or None if this install has none."""
    return _shipped("roles")


def playbooks_dir() -> Path | None:
    """The folder of the shipped playbooks (`site.yml`, `docker-host.yml`)."""
    return _shipped("playbooks")
