"""The training course (docs/training/) does not rot.

- Every exercise exists in English and in Japanese, with the same shell blocks (comments in
  the blocks may be translated; the commands may not differ).
- On the container lab, every ```sh block of the English exercises runs green, in
  order, from the repository root, with the virtualenv's bin first on PATH. A block whose
  first line is `# not run in tests` is skipped (interactive shells). A block whose first
  line is `# needs device-mapper (docs/lab.md)` runs only when the machine's kernel has
  device-mapper; otherwise it and the blocks after it are not run and the test is skipped
  with the reason tests/lab/test_docker_storage.py gives (never a fake pass). Each block runs as one
  bash script with `set -eo pipefail`; a failure names the exercise, the block and the
  command. PROVISION_COURSE_TRANSCRIPT=DIR keeps each block's output there (to refresh the
  pasted output in the course).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.lab import lab_down, lab_up
from provision.lab.spare import device_mapper_available

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "docs" / "training"
NOT_RUN = "# not run in tests"
NEEDS_DM = "# needs device-mapper (docs/lab.md)"
NO_DM = (
    "the machine's kernel has no device-mapper: the LV, mkfs.xfs and the mount cannot run"
    " here (docs/lab.md)"
)
TESTED = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12")
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
PRELUDE = (
    "set -eo pipefail\n"
    "trap 'echo \"course: this command failed (exit $?): $BASH_COMMAND\" >&2' ERR\n"
)


def exercises(language: str) -> dict[str, Path]:
    """Exercise number -> file, e.g. "01" -> docs/training/en/01-bare-host.md."""
    return {p.name[:2]: p for p in sorted((COURSE / language).glob("[0-9][0-9]-*.md"))}


def sh_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def commands_only(block: str) -> list[str]:
    """The block without comment lines (the `not run` marker kept) and blank lines."""
    lines = []
    for line in block.splitlines():
        stripped = line.strip()
        if stripped in (NOT_RUN, NEEDS_DM) or (stripped and not stripped.startswith("#")):
            lines.append(line.rstrip())
    return lines


def test_every_exercise_in_both_languages_with_the_same_commands():
    english, japanese = exercises("en"), exercises("ja")
    assert list(english) == [f"{n:02d}" for n in range(1, len(english) + 1)], sorted(english)
    assert {k: p.name for k, p in english.items()} == {k: p.name for k, p in japanese.items()}
    for number, en_file in english.items():
        en_blocks = [commands_only(b) for b in sh_blocks(en_file)]
        ja_blocks = [commands_only(b) for b in sh_blocks(japanese[number])]
        assert en_blocks, f"{en_file.name} has no ```sh block"
        assert ja_blocks == en_blocks, f"ja/{en_file.name} differs from en/ in its commands"


def test_every_exercise_has_the_four_parts():
    headings = {
        "en": ("## Goal", "## Commands", "## What you should see", "## Why it matters"),
        "ja": ("## 目標", "## コマンド", "## 期待される出力", "## なぜ大切か"),
    }
    for language, wanted in headings.items():
        for path in exercises(language).values():
            text = path.read_text(encoding="utf-8")
            positions = [text.find(h) for h in wanted]
            assert all(p >= 0 for p in positions), f"{language}/{path.name}: {wanted}"
            assert positions == sorted(positions), f"{language}/{path.name}: order of parts"


def test_index_links_every_exercise():
    index = (COURSE / "README.md").read_text(encoding="utf-8")
    for language in ("en", "ja"):
        for path in exercises(language).values():
            assert f"{language}/{path.name}" in index, path


@pytest.fixture(scope="module")
def course_lab(lab_hosts, tmp_path_factory) -> Iterator[dict[str, str]]:
    """Fresh hosts (other lab tests may have changed them), and the learner's environment."""
    lab_down(wipe=True)
    lab_up(len(lab_hosts.hosts))
    home = tmp_path_factory.mktemp("learner-home")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)  # the learner's own files (~/provision-course) go here
    env.pop("PROVISION_DEBUG", None)
    yield env


@pytest.mark.lab
@pytest.mark.parametrize("number", TESTED)
def test_exercise_commands_run_green_on_the_lab(course_lab, number):
    path = exercises("en")[number]
    transcript = os.environ.get("PROVISION_COURSE_TRANSCRIPT")
    ran = 0
    not_run: list[int] = []
    for index, block in enumerate(sh_blocks(path), start=1):
        if block.lstrip().startswith(NOT_RUN):
            continue
        if not_run or (block.lstrip().startswith(NEEDS_DM) and not device_mapper_available()):
            not_run.append(index)
            continue
        proc = subprocess.run(
            ["bash", "-c", PRELUDE + block],
            cwd=ROOT,
            env=course_lab,
            capture_output=True,
            text=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
        )
        ran += 1
        if transcript:
            out = Path(transcript) / f"{path.stem}-block{index}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(f"$ {block}\n{proc.stdout}{proc.stderr}", encoding="utf-8")
        if proc.returncode != 0:
            failed = [ln for ln in proc.stderr.splitlines() if ln.startswith("course: ")]
            pytest.fail(
                f"exercise {path.name}, block {index}: "
                f"{failed[-1] if failed else f'exit {proc.returncode}'}\n"
                f"--- stdout (end)\n{proc.stdout[-3000:]}\n--- stderr (end)\n{proc.stderr[-3000:]}"
            )
    assert ran, f"{path.name}: no block was run"
    if not_run:
        pytest.skip(f"{path.name}: blocks {not_run} not run: {NO_DM}")


def test_the_device_mapper_marker_is_on_the_storage_block_only():
    """The marker only skips what needs an LV: exercise 9's apply, and nothing else."""
    marked = {
        (number, index)
        for number, path in exercises("en").items()
        for index, block in enumerate(sh_blocks(path), start=1)
        if block.lstrip().startswith(NEEDS_DM)
    }
    assert marked == {("09", 3)}
    block = sh_blocks(exercises("en")["09"])[2]
    assert "docker_storage_device=/dev/vdb" in block and "apply" in block
