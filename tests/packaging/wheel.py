"""Build provision's wheel and install it into a clean virtualenv, as a user would.

How, and why it is reasonably fast (about 20-30 s):
- the wheel is built by `pip wheel --no-deps` from a copy of only what a release holds
  (src/, roles/, playbooks/, pyproject.toml, setup.py, MANIFEST.in, README.md, LICENSE),
  so nothing else in the checkout (a stale build/, .venv, caches) can leak into it. The
  build runs in pip's isolated build environment (setuptools from the package index);
- the virtualenv is made without pip (`python -m venv --without-pip`: no ensurepip), and
  this test run's own pip installs into it (`pip --python VENV/bin/python install`);
- the dependencies come from the machine's configured package indexes; pip's cache
  serves repeated runs. Nothing from this checkout or the test's venv is visible in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ("src", "roles", "playbooks", "pyproject.toml", "setup.py", "MANIFEST.in")
RELEASE_FILES = ("README.md", "LICENSE")
SKIP = shutil.ignore_patterns("__pycache__", "*.py[co]", "*.egg-info", ".*cache*")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def provision(self) -> Path:
        return self.venv / "bin" / "provision"

    def run(self, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
        """`provision ARGS` from the venv, in `cwd`, with no trace of the checkout."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(self.provision), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _checked(argv: list[str], what: str, timeout: float = 600) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def build_wheel(work: Path) -> Path:
    source = work / "source"
    source.mkdir()
    for name in RELEASE:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=SKIP)
        else:
            shutil.copy2(origin, source / name)
    for name in RELEASE_FILES:
        shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    _checked(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        "pip wheel",
    )
    (wheel,) = dist.glob("provision-*.whl")
    return wheel


def install_wheel(wheel: Path, venv: Path) -> Installed:
    _checked([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv")
    _checked(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
        + ["install", "-q", str(wheel)],
        "pip install of the wheel",
    )
    return Installed(wheel, venv)


def built_and_installed(work: Path) -> Installed:
    return install_wheel(build_wheel(work), work / "venv")
