"""Terminal safety: what `escape_control` shows for each dangerous character, as a table."""

from __future__ import annotations

import json

import pytest

from provision.reporting.terminal import block_lines, escape_control, json_terminal_safe

# (input, shown on one line, shown in a multi-line block with tabs kept)
CASES = [
    ("plain text", "plain text", "plain text"),
    ("clear \x1b[2J screen", "clear \\x1b[2J screen", "clear \\x1b[2J screen"),
    ("title \x1b]0;owned\x07", "title \\x1b]0;owned\\x07", "title \\x1b]0;owned\\x07"),
    ("over\rwrite", "over\\rwrite", "over\\rwrite"),
    ("line\nbreak", "line\\nbreak", "line\\nbreak"),
    ("tab\there", "tab\\there", "tab\there"),
    ("nul\x00", "nul\\x00", "nul\\x00"),
    ("bell\x07", "bell\\x07", "bell\\x07"),
    ("back\x08space", "back\\x08space", "back\\x08space"),
    ("vt\x0bff\x0c", "vt\\x0bff\\x0c", "vt\\x0bff\\x0c"),
    ("fs\x1cgs\x1drs\x1e", "fs\\x1cgs\\x1drs\\x1e", "fs\\x1cgs\\x1drs\\x1e"),
    ("del\x7f", "del\\x7f", "del\\x7f"),
    ("nel\x85", "nel\\x85", "nel\\x85"),
    ("csi\x9b2J", "csi\\x9b2J", "csi\\x9b2J"),
    ("c1 \x80 \x9f", "c1 \\x80 \\x9f", "c1 \\x80 \\x9f"),
    ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029", "ls\\u2028ps\\u2029"),
    ("rlo\u202etxt.exe", "rlo\\u202etxt.exe", "rlo\\u202etxt.exe"),
    (
        "lre\u202a rle\u202b pdf\u202c lro\u202d",
        "lre\\u202a rle\\u202b pdf\\u202c lro\\u202d",
        None,
    ),
    ("isolates\u2066\u2067\u2068\u2069", "isolates\\u2066\\u2067\\u2068\\u2069", None),
    ("marks\u200e\u200f\u061c", "marks\\u200e\\u200f\\u061c", None),
    ("unicode stays: é ü 中文 ✓", "unicode stays: é ü 中文 ✓", "unicode stays: é ü 中文 ✓"),
    ("backslash \\x1b stays", "backslash \\x1b stays", "backslash \\x1b stays"),
    ("zero width joiner\u200d stays", "zero width joiner\u200d stays", None),
]


@pytest.mark.parametrize(("text", "one_line", "block"), CASES, ids=[repr(c[0]) for c in CASES])
def test_escape_control(text: str, one_line: str, block: str | None) -> None:
    assert escape_control(text) == one_line
    assert escape_control(text, keep_tab=True) == (one_line if block is None else block)


def test_no_unsafe_character_survives() -> None:
    every = "".join(chr(c) for c in range(0x2100))
    shown = escape_control(every)
    unsafe = [c for c in shown if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F]
    unsafe += [c for c in shown if c in "\u2028\u2029\u061c\u200e\u200f"]
    unsafe += [c for c in shown if 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069]
    assert unsafe == []


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("one", ["one"]),
        ("a\nb", ["a", "b"]),
        ("a\r\nb\r\n", ["a", "b", ""]),
        ("a\rb", ["a\rb"]),  # a lone CR stays, to be shown escaped
        ("a\x85b\u2028c", ["a\x85b\u2028c"]),
        ("", [""]),
    ],
)
def test_block_lines(text: str, lines: list[str]) -> None:
    assert block_lines(text) == lines


@pytest.mark.parametrize(
    "value",
    ["\x1b[2J", "\r\n\t", "\x7f\x85\x9b", "\u2028\u2029", "\u202e\u2066", "é 中 ✓", 'q"\\'],
)
def test_json_stays_json_and_is_terminal_safe(value: str) -> None:
    document = json_terminal_safe(json.dumps({"k": [value]}, indent=2, ensure_ascii=False))
    assert json.loads(document) == {"k": [value]}
    assert [c for c in document if c != "\n" and escape_control(c) != c] == []
