"""Every message of `provision bundle create | verify | list` that names a path the user
gave shows it escaped: a line break of any kind, a control character, an ANSI escape, an
invisible or bidirectional mark, or a leading '-' cannot reach the terminal raw or pass for
an option. Table-driven by class; each case runs through every subcommand."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.bundle.format import shown_path
from provision.cli import main

from .helpers import small_bundle

LINE_BREAKS = ["\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e"]
CONTROLS = ["\x01", "\x07", "\x08", "\t", "\x1f", "\x7f", "\x9b"]
ANSI = ["\x1b[2J", "\x1b[31m", "\x1b]0;title\x07"]
INVISIBLE = ["\u202e", "\u2066", "\u200e", "\u200b", "\ufeff", "\xa0"]
UNSAFE = LINE_BREAKS + CONTROLS + ANSI + INVISIBLE
PLAIN = ["b.tar", "dir/b.tar", "/abs/dir/b.tar", "a b.tar", "it's.tar", 'q"uote.tar', "ü.tar"]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_paths_are_shown_as_they_are(text: str) -> None:
    assert shown_path(text) == text
    assert shown_path(Path(text)) == str(Path(text))


@pytest.mark.parametrize("char", UNSAFE)
@pytest.mark.parametrize("where", ["a{}b.tar", "{}b.tar", "b.tar{}", "/dir{}/b.tar"])
def test_unsafe_characters_are_escaped(char: str, where: str) -> None:
    text = where.format(char)
    shown = shown_path(text)
    assert shown == repr(text)
    assert char not in shown or char == " "
    assert "\x1b" not in shown and "\n" not in shown
    assert shown_path(shown) == shown  # idempotent: a shown path stays as it is


@pytest.mark.parametrize("text", ["-rf.tar", "--help", "-", " b.tar", "b.tar ", ""])
def test_leading_dash_spaces_and_empty_are_quoted(text: str) -> None:
    assert shown_path(text) == repr(text)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_escaped(char_or_text: str, path: str, *outputs: str) -> None:
    """No unsafe character of the case in any line (the lines end in \\n: split there), and
    the path shown as repr shows it."""
    for output in outputs:
        for line in output.split("\n"):
            for char in char_or_text:
                if char.isprintable():
                    continue
                assert char not in line, (repr(char), output)
    assert repr(path) in "".join(outputs), outputs


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_bundle(tmp_path_factory.mktemp("shown"))


def _copy_to(good: Path, directory: Path, name: str) -> str | None:
    """The good bundle copied under `name` in `directory` (None: the file system refuses)."""
    target = os.path.join(str(directory), name)
    try:
        shutil.copyfile(good, target)
    except (OSError, ValueError):
        return None
    return target


@pytest.mark.parametrize("char", UNSAFE)
def test_verify_and_list_of_a_missing_file(tmp_path: Path, char: str) -> None:
    path = str(tmp_path / f"a{char}b.tar")
    for command in (["verify"], ["list"], ["list", "--format", "json"]):
        code, out, err = run("bundle", *command, path)
        assert code == 1
        assert len(err.splitlines()) == 1, err  # one line: no raw line break in it
        assert_escaped(char, path, out, err)


@pytest.mark.parametrize("char", UNSAFE)
def test_verify_ok_and_list_of_a_good_bundle(good: Path, tmp_path: Path, char: str) -> None:
    path = _copy_to(good, tmp_path, f"a{char}b.tar")
    if path is None:
        pytest.skip("this file system refuses the name")
    code, out, err = run("bundle", "verify", path)
    assert code == 0, err
    assert out.startswith(f"bundle {repr(path)}: OK, ")
    assert_escaped(char, path, out, err)
    code, out, err = run("bundle", "list", path)
    assert code == 0
    assert out.splitlines()[0] == f"bundle   {repr(path)}"
    assert_escaped(char, path, out, err)
    code, out, err = run("bundle", "verify", path, "--expect-id", "0" * 64)
    assert code == 1
    assert_escaped(char, path, out, err)


@pytest.mark.parametrize("char", UNSAFE)
def test_verify_of_a_damaged_bundle_names_it_escaped_on_every_line(
    good: Path, tmp_path: Path, char: str
) -> None:
    path = _copy_to(good, tmp_path, f"a{char}b.tar")
    if path is None:
        pytest.skip("this file system refuses the name")
    data = bytearray(Path(path).read_bytes())
    data[-2000] ^= 1  # the image's bytes
    data[-4000] ^= 1
    Path(path).write_bytes(bytes(data))
    code, out, err = run("bundle", "verify", path)
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines and all(line.startswith(f"bundle {repr(path)}: member ") for line in lines), err
    assert_escaped(char, path, err)


@pytest.mark.parametrize("name", ["-rf.tar", "--help.tar", "-"])
def test_a_leading_dash_is_quoted(good: Path, tmp_path: Path, name: str) -> None:
    os.chdir(tmp_path)
    try:
        shutil.copyfile(good, name)
        code, out, err = run("bundle", "verify", "--", name)
        assert code == 0, err
        assert out.startswith(f"bundle {name!r}: OK")
        code, out, _ = run("bundle", "list", "--", name)
        assert out.splitlines()[0] == f"bundle   {name!r}"
        os.unlink(name)
        code, out, err = run("bundle", "verify", "--", name)
        assert code == 1 and err.startswith(f"bundle {name!r}: cannot be read")
    finally:
        os.chdir(Path(__file__).parent)


def _inventory(tmp_path: Path) -> str:
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    ref:\n      ansible_connection: local\n")
    return str(inventory)


@pytest.mark.parametrize("char", UNSAFE)
def test_create_output_folder_and_image_tar(tmp_path: Path, char: str) -> None:
    inventory = _inventory(tmp_path)
    output = str(tmp_path / f"no{char}dir" / "b.tar")
    code, out, err = run(
        "bundle", "create", inventory, "--reference", "ref", "--release", "el9", "-o", output
    )
    assert code == 2
    assert "its folder does not exist" in err
    assert len(err.splitlines()) == 1, err
    assert_escaped(char, output, out, err)
    image = str(tmp_path / f"image{char}.tar")
    code, out, err = run(
        "bundle", "create", inventory, "--reference", "ref", "--image-tar", image,
        "-o", str(tmp_path / "b.tar"),
    )  # fmt: skip
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert_escaped(char, image, out, err)
