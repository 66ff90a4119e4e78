"""Terminal safety: characters from inputs and hosts that could steer a terminal, escaped.

Every string the console prints passes through `escape_control`: a task name or a file
line holding ESC[2J, a carriage return or a right-to-left override is shown as the text
`\\x1b[2J`, `\\r`, `\\u202e` instead of clearing the screen, overwriting the line or
reordering what follows. Pure functions, no I/O.
"""

from __future__ import annotations

import re

# The characters shown escaped: C0 controls, DEL, C1 controls (U+0085 included), the
# Unicode line and paragraph separators, and the bidirectional marks, embeddings,
# overrides and isolates (U+061C, U+200E/F, U+202A-202E, U+2066-2069).
_OTHERS = r"\x7f\x80-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(rf"[\x00-\x1f{_OTHERS}]")
_UNSAFE_KEEP_TAB_RE = re.compile(rf"[\x00-\x08\x0a-\x1f{_OTHERS}]")
_NOT_JSON_ESCAPED_RE = re.compile(f"[{_OTHERS}]")  # json.dumps escapes C0 itself


def _escaped(char: str) -> str:
    code = ord(char)
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    if char in named:
        return named[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(text: str, keep_tab: bool = False) -> str:
    """One line of console text: every unsafe character as a visible escape
    (`\\x1b`, `\\r`, `\\n`, `\\u202e`). `keep_tab` leaves tabs alone (multi-line blocks:
    diffs, command output); names and other one-line fields escape them too."""
    pattern = _UNSAFE_KEEP_TAB_RE if keep_tab else _UNSAFE_RE
    return pattern.sub(lambda m: _escaped(m.group()), text)


def block_lines(text: str) -> list[str]:
    """A multi-line block (an error message, command output) as console lines: split at
    `\\n` and `\\r\\n` only; every other line break stays in its line, to be escaped."""
    return re.split(r"\r?\n", text)


def json_terminal_safe(document: str) -> str:
    """A JSON text that `json.dumps(..., ensure_ascii=False)` wrote, with the unsafe
    characters it leaves raw (DEL, C1, U+2028/9, bidi) written as `\\uXXXX` escapes.
    They can only occur inside JSON strings, where the escape means the same character,
    so the document parses to the same value."""
    return _NOT_JSON_ESCAPED_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
