"""Build step: the wheel carries the Docker-host roles and playbooks.

The repository keeps `roles/` and `playbooks/` at its top level (that is the project's
layout, and the lab, the tests and the docs use them there). Building a wheel copies
them into the package as `provision/shipped/roles` and `provision/shipped/playbooks`,
where `provision.shipped` finds them once installed. An editable install copies
nothing: it reads the checkout's own folders. Metadata lives in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"roles": "provision/shipped/roles", "playbooks": "provision/shipped/playbooks"}
SKIP = shutil.ignore_patterns("__pycache__", "*.py[co]", ".*")


class BuildPyWithShipped(build_py):
    """build_py, then the top-level roles/ and playbooks/ copied into the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in SHIPPED.items():
            origin = ROOT / source
            if not origin.is_dir():
                raise SystemExit(f"cannot ship {source}/: {origin} is missing")
            destination = Path(self.build_lib) / target
            shutil.rmtree(destination, ignore_errors=True)  # no file left from a stale build
            shutil.copytree(origin, destination, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithShipped})
