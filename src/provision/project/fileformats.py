"""Formats of the files that `template`, `copy`, `line` and `repo` write, and what a value
rendered into each may hold.

A line-oriented file (INI, a dnf repo, a systemd unit, sysctl.d, plain lines) must keep
its lines: a value from a variable that carries a line break of any kind could add a key
or a whole section (`gpgcheck=0`, `[evil]`, `ExecStartPre=`). So every value rendered into
such a file is checked where it lands:

- anywhere: no line break (\\n \\r \\v \\f U+0085 U+2028 U+2029) and no other control
  character (a tab is allowed);
- at the start of a line, where a key goes: a key (letters, digits, `_.-`; sysctl also `/*`);
- inside a `[section]` header: no `[` or `]` (a repo id: letters, digits, `_.:-`);
- in a systemd value: `%` `\\` `"` escaped (`%%` `\\\\` `\\"`) so the value means itself and a
  quoted `Environment="K={{ v }}"` stays one assignment; in word-split settings
  (`Environment=`, `Exec*=`) a value outside double quotes may not hold whitespace.

The template engine marks each rendered value (private-use characters around it, with the
template line), and `resolve_marks` checks and escapes every marked value by its place in
the rendered line, then drops the marks. Pure: no Jinja here.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

FORMATS = ("raw", "lines", "ini", "repo", "systemd", "sysctl", "json")
LINE_FORMATS = ("lines", "ini", "repo", "systemd", "sysctl")

LINE_BREAKS = {
    "\n": "a line feed (\\n)",
    "\r": "a carriage return (\\r)",
    "\v": "a vertical tab (\\v)",
    "\f": "a form feed (\\f)",
    "\x85": "a next-line character (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}

MARK_START, MARK_MID, MARK_END = "\ue000", "\ue001", "\ue002"
_MARK = re.compile("\ue000([0-9]*)\ue001([^\ue000-\ue002]*)\ue002")
_RESERVED = re.compile("[\ue000-\ue002]")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")

INI_KEY = re.compile(r"[A-Za-z0-9_.-]*")
SYSCTL_KEY = re.compile(r"[A-Za-z0-9_.*/-]*")
REPO_ID = re.compile(r"[A-Za-z0-9_.:-]*")
_KEY_TEXT = {
    "ini": "letters, digits, `_`, `.` and `-`",
    "systemd": "letters, digits, `_`, `.` and `-`",
    "repo": "letters, digits, `_`, `.` and `-`",
    "sysctl": "letters, digits, `_`, `.`, `-`, `/` and `*`",
}
# systemd settings whose value is split into words (and unescaped): outside double quotes
# a space would start another assignment or argument.
_WORD_SPLIT = re.compile(r"(Exec[A-Za-z]*|Environment|PassEnvironment|UnsetEnvironment)\Z")


class ValueRefused(Exception):
    """A rendered value does not fit the file's format; `line` is the template line."""

    def __init__(
        self, message: str, line: int | None = None, ordinal: tuple[int, int] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.ordinal = ordinal  # (rank, count) of its mark among its template line's marks


def a_format(fmt: str) -> str:
    """`an ini`, `a systemd`: the format name with its article."""
    return ("an " if fmt[0] in "aeiou" else "a ") + fmt


def describe_char(char: str) -> str:
    if char in LINE_BREAKS:
        return LINE_BREAKS[char]
    if char == "\t":
        return "a tab"
    return f"a control character (U+{ord(char):04X})"


def line_problem(value: str) -> str | None:
    """Why `value` cannot stand in one line of a file (None: it can)."""
    found = _CONTROL.search(value)
    if found:
        what = describe_char(found.group())
        return f"contains {what} at character {found.start() + 1}"
    if _RESERVED.search(value):
        return "contains a reserved character (U+E000..U+E002)"
    return None


_SINGLE_EXPRESSION = re.compile(r"\A[ \t]*\{\{((?!\{\{|\}\}).)*\}\}[ \t]*\Z", re.DOTALL)


def is_single_expression(source: str) -> bool:
    """`{{ expr }}` alone: the value is the whole text (it keeps its native type)."""
    return bool(_SINGLE_EXPRESSION.match(source))


_SYSTEMD_DIRS = (
    "/etc/systemd/",
    "/run/systemd/",
    "/usr/lib/systemd/",
    "/lib/systemd/",
    "/usr/local/lib/systemd/",
)
# files under /etc that hold opaque multi-line blobs (keys, certificates): left raw
_OPAQUE_SUFFIXES = (".pem", ".crt", ".cer", ".key", ".asc", ".gpg", ".pub", ".p12", ".der")


def infer_format(dest: str) -> str:
    """The format a destination path implies. Any other file under /etc (or a sysctl,
    systemd or repo location) is `lines`: a line break in a value there is almost always
    an injection; `format: raw` opts out. Elsewhere `raw` when nothing is known about it."""
    path = posixpath.normpath(dest)
    if path.startswith("/"):
        path = "/" + path.lstrip("/")  # normpath keeps a leading `//`
    name = posixpath.basename(path)
    parent = posixpath.basename(posixpath.dirname(path))
    if name.endswith(".repo") or path in ("/etc/dnf/dnf.conf", "/etc/yum.conf"):
        return "repo" if name.endswith(".repo") else "ini"
    if path.startswith(_SYSTEMD_DIRS):
        unit = re.search(
            r"\.(service|socket|timer|mount|automount|swap|path|target|slice|scope|"
            r"network|netdev|link)\Z",
            name,
        )
        if unit or (name.endswith(".conf") and (parent.endswith(".d") or parent == "systemd")):
            return "systemd"
    if path == "/etc/sysctl.conf" or any(
        fnmatch.fnmatch(path, pattern)
        for pattern in ("/etc/sysctl.d/*.conf", "/usr/lib/sysctl.d/*.conf", "/run/sysctl.d/*.conf")
    ):
        return "sysctl"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".ini"):
        return "ini"
    if path.startswith(("/etc/", *_SYSTEMD_DIRS)) and not name.lower().endswith(_OPAQUE_SUFFIXES):
        return "lines"
    return "raw"


def format_of(explicit: str | None, dest: str) -> str:
    return explicit if explicit is not None else infer_format(dest)


def mark(value: str, line: int | None) -> str:
    """A rendered value wrapped in marks that carry its template line."""
    if _RESERVED.search(value):
        raise ValueRefused("contains a reserved character (U+E000..U+E002)", line)
    return f"{MARK_START}{line or ''}{MARK_MID}{value}{MARK_END}"


@dataclass(frozen=True)
class Place:
    """Where in a line a value lands."""

    kind: str  # comment, section, key, value
    key: str = ""
    quoted: bool = False


def place_of(prefix: str, fmt: str) -> Place:
    """The place of a value whose line reads `prefix` before it."""
    text = prefix.lstrip(" \t")
    if fmt == "lines":
        return Place("value")
    if text.startswith(("#", ";")):
        return Place("comment")
    if text.startswith("["):
        return Place("section")
    if "=" not in text:
        return Place("key")
    key, _, value = text.partition("=")
    return Place("value", key.strip(), _inside_double_quotes(value))


def _inside_double_quotes(text: str) -> bool:
    inside = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
    return inside


def systemd_escape(value: str, key: str, quoted: bool) -> str:
    """A value escaped for a systemd setting: it means itself, and stays one word if quoted."""
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if key.startswith("Exec"):
        value = value.replace("$", "$$")
    if _WORD_SPLIT.match(key) and not quoted:
        value = value.replace("'", "\\'")
    return value


def check_placed(value: str, fmt: str, place: Place) -> str:
    """The value as written at `place`, escaped if the format wants; ValueRefused if it
    cannot be written there."""
    problem = line_problem(value)
    if problem:
        raise ValueRefused(f"{problem}; a value in {a_format(fmt)} file must stay on its line")
    if place.kind == "section":
        pattern = REPO_ID if fmt == "repo" else None
        if pattern is not None and not pattern.fullmatch(value):
            raise ValueRefused(
                "is not a repo id (letters, digits, `_`, `.`, `:` and `-`) but sits in a "
                "[section] header"
            )
        if "[" in value or "]" in value:
            raise ValueRefused("contains `[` or `]` but sits in a [section] header")
        return value
    if place.kind == "key":
        pattern = SYSCTL_KEY if fmt == "sysctl" else INI_KEY
        if not pattern.fullmatch(value):
            raise ValueRefused(
                f"sits where a key goes (at the start of a line) but is not a key: "
                f"{_KEY_TEXT[fmt]} only"
            )
        return value
    if fmt == "systemd" and place.kind == "value":
        if _WORD_SPLIT.match(place.key) and not place.quoted and re.search(r"\s", value):
            raise ValueRefused(
                f"contains whitespace and sits outside double quotes in `{place.key}=`, "
                "where a space starts another word"
            )
        return systemd_escape(value, place.key, place.quoted)
    return value


def resolve_marks(text: str, fmt: str) -> str:
    """The rendered text with every marked value checked (and escaped) for its place."""
    out: list[str] = []
    line_prefix = ""
    position = 0
    for found in _MARK.finditer(text):
        chunk = text[position : found.start()]
        out.append(chunk)
        line_prefix = _after_last_break(line_prefix + chunk)
        line = int(found.group(1)) if found.group(1) else None
        value = found.group(2)
        if fmt in LINE_FORMATS:
            try:
                written = check_placed(value, fmt, place_of(line_prefix, fmt))
            except ValueRefused as exc:
                raise ValueRefused(exc.message, line, _ordinal(text, found)) from None
        else:
            written = value
        out.append(written)
        line_prefix += written
        position = found.end()
    out.append(text[position:])
    result = "".join(out)
    if _RESERVED.search(result):
        raise ValueRefused("the rendered text holds a reserved character (U+E000..U+E002)")
    return result


def _ordinal(text: str, found: re.Match[str]) -> tuple[int, int] | None:
    """Which `{{ }}` of its template line a mark came from: its rank among the marks of
    that template line in its output line, when their count matches the expressions."""
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    same = [
        m.start()
        for m in _MARK.finditer(text[start : len(text) if end < 0 else end])
        if m.group(1) == found.group(1)
    ]
    rank = same.index(found.start() - start) if found.start() - start in same else None
    return None if rank is None else (rank, len(same))


def _after_last_break(text: str) -> str:
    last = max(text.rfind(char) for char in ("\n", *LINE_BREAKS))
    return text[last + 1 :] if last >= 0 else text


def expressions_in(source_line: str) -> list[str]:
    """The `{{ … }}` expressions written on one template line, for error messages."""
    return [
        "{{ " + expr.strip() + " }}"
        for expr in re.findall(r"\{\{-?(.*?)-?\}\}", source_line)
        if expr.strip()
    ]


def name_values(source: str, line: int | None, ordinal: tuple[int, int] | None = None) -> str:
    """`{{ x }}` (or `one of {{ a }}, {{ b }}`): the expressions that may give a value."""
    lines = source.split("\n")
    if line is None or not 1 <= line <= len(lines):
        found = expressions_in(source)
    else:
        found = expressions_in(lines[line - 1])
    if ordinal is not None and len(found) == ordinal[1]:
        return f"the value of `{found[ordinal[0]]}`"
    if len(found) == 1:
        return f"the value of `{found[0]}`"
    if found:
        shown = ", ".join(f"`{e}`" for e in found[:4])
        return f"a value of one of {shown}"
    return "a rendered value"


def origin_note(raw: object) -> str:
    """`(from `{{ expr }}`) ` for an argument written with `{{ }}`, else nothing."""
    if not isinstance(raw, str) or "{{" not in raw:
        return ""
    return f"(from {', '.join(f'`{e}`' for e in expressions_in(raw))}) "


def ini_line_problem(line: str, fmt: str) -> str | None:
    """Why a whole line given to the `line` task does not fit an INI-like file."""
    text = line.strip()
    if not text or text.startswith(("#", ";")):
        return None
    if text.startswith("["):
        return "looks like a [section] header: give the section with `section:`"
    if "=" not in text:
        return None if fmt == "sysctl" else "has no `=`: an INI line is `key=value`"
    key = text.split("=", 1)[0].strip()
    pattern = SYSCTL_KEY if fmt == "sysctl" else INI_KEY
    if not key or not pattern.fullmatch(key.lstrip("-") if fmt == "sysctl" else key):
        return f"has the key {key!r}, which is not a key ({_KEY_TEXT[fmt]} only)"
    return None
