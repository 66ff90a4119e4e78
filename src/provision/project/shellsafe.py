"""Where a value lands in shell text: a small POSIX sh lexer for the engine's own checks.

A shell string (`command.cmd`, `unless`, `only_if`, `assert.command`) is rendered with
every `{{ value }}` replaced by a placeholder (`MARK_OPEN` + number + `MARK_CLOSE`), so
the text scanned here is exactly the author's text with the values still out of it.
`landings()` tells, for each placeholder, the shell context it sits in. The engine then
accepts a value only where it is (part of) an unquoted word of a command, the one place
where the single-quoted word it puts there is exactly one literal word; anywhere else
(inside quotes the author wrote, a comment, a here-document, backquotes, `${...}`,
arithmetic, after a backslash or a `$`, `[[ ... ]]`, an argument of `eval`/`let`) it
refuses the template. Pure: no I/O, no Jinja.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
MARK = re.compile(MARK_OPEN + r"[0-9a-f]*:(\d+)" + MARK_CLOSE)


def placeholder(number: int, nonce: str = "") -> str:
    """The text that stands for value `number` while a shell string is checked."""
    return f"{MARK_OPEN}{nonce}:{number}{MARK_CLOSE}"


WORD = "word"
# Every context a value may land in, with the words an error uses for it.
CONTEXTS = {
    WORD: "in an unquoted word",
    "single": "inside single quotes '...'",
    "double": 'inside double quotes "..."',
    "ansi": "inside $'...' quotes",
    "backtick": "inside backquotes `...`",
    "param": "inside a parameter expansion ${...}",
    "arith": "inside an arithmetic expression $((...)) or ((...))",
    "comment": "inside a # comment",
    "heredoc": "inside a here-document",
    "heredoc-word": "in a here-document delimiter (<<WORD)",
    "escaped": "right after a backslash",
    "dollar": "right after a $",
    "test": "inside [[ ... ]] (bash evaluates the operands of -eq, -lt ... as code)",
    "eval": "in an argument of eval/let/trap (run as shell code)",
    "name": "in a variable name or assignment (bash evaluates array subscripts and"
    " arithmetic in it as code; use the argv form or pass the value as an argument)",
    "dyncommand": "in a command whose name is not a plain word (it may expand to eval)",
    "broken": "in a placeholder that a Jinja construct took apart",
}
EVAL_WORDS = frozenset({"eval", "let", "trap"})
# Commands that take a variable NAME, where bash evaluates an array subscript as code
# (`unset 'a[$(cmd)]'`): a value may not start such an argument.
NAME_WORDS = frozenset(
    {"declare", "typeset", "local", "export", "readonly", "unset", "read", "integer", "let"}
)
# Commands that run the command named by a later word: look through them to the real one.
PREFIX_WORDS = frozenset(
    {"command", "builtin", "exec", "env", "nohup", "nice", "time", "timeout", "sudo", "doas"}
)
# Options whose next word is a variable name (`printf -v`, `[ -v`, `test -v`).
_NAME_OPTIONS = {"printf": "-v", "[": "-v", "test": "-v"}
DYNAMIC = "\x00dynamic"  # the command name of a word that is not plain literal text
# Reserved words after which the next word is still in command position.
_KEEP_COMMAND_POSITION = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "}"}
)
_OPERATOR_CHARS = ";&|<>()"
_BLANKS = " \t"
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_ASSIGNMENT_START = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[|\+?=)")
_FD = re.compile(r"[0-9]+|\{[A-Za-z_][A-Za-z0-9_]*\}")


@dataclass(frozen=True)
class Landing:
    """One value's placeholder: its number, the shell context around it, its offset."""

    index: int
    context: str
    offset: int


@dataclass
class _Frame:
    """A command list: the top level, or the inside of `$(...)`, `<(...)`, `>(...)`."""

    closer: str | None  # ")" for a substitution, None for the top level
    word: str | None = ""  # the current word's literal text; None once quoted/expanded
    in_word: bool = False
    command_position: bool = True  # the current/next word is a command name
    command: str | None = None  # the current simple command's name, if literal
    parens: int = 0
    case_depth: int = 0
    double_bracket: bool = False
    start: int = 0  # where the current word starts in the text
    prefix: bool = False  # after command/env/sudo...: the real command is still to come
    # a prefix had options: one of them may take the next word as its argument (`sudo -u
    # root eval`), so which word is the real command is not known
    prefix_options: bool = False
    redirect: bool = False  # the next word is a redirection's target
    previous: str | None = None  # the previous argument's literal text
    heredocs: list[tuple[str, bool]] = field(default_factory=list)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.out: list[Landing] = []
        self.pos = 0

    # -- regions that only need their end found (every value inside is refused) --

    def record(self, start: int, end: int, context: str) -> None:
        for match in MARK.finditer(self.text, start, end):
            self.out.append(Landing(int(match.group(1)), context, match.start()))

    def find(self, chars: str, start: int, escapes: bool) -> int:
        """The index of the first of `chars` at or after `start` (backslash-escaped ones
        skipped when `escapes`), or the end of the text."""
        i = start
        while i < self.n:
            c = self.text[i]
            if escapes and c == "\\":
                i += 2
                continue
            if c in chars:
                return i
            i += 1
        return self.n

    def skip_param(self, start: int) -> int:
        """`start` is just after `${`; the index after its matching `}`."""
        depth, i = 1, start
        while i < self.n:
            c = self.text[i]
            if c == "\\":
                i += 2
            elif c == "'":
                i = self.find("'", i + 1, False) + 1
            elif c == '"':
                i = self.find('"', i + 1, True) + 1
            elif c == "`":
                i = self.find("`", i + 1, True) + 1
            elif self.text.startswith("${", i):
                depth += 1
                i += 2
            elif c == "}":
                depth -= 1
                i += 1
                if depth == 0:
                    return i
            else:
                i += 1
        return self.n

    def skip_arith(self, start: int) -> int:
        """`start` is just after `((`; the index after the matching `))`."""
        depth, i = 2, start
        while i < self.n:
            c = self.text[i]
            if c == "\\":
                i += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return self.n

    def region(self, start: int, end: int, context: str) -> int:
        self.record(start, end, context)
        return end

    # -- the command level --

    def end_word(self, frame: _Frame) -> None:
        if not frame.in_word:
            return
        word = frame.word
        frame.in_word = False
        frame.word = ""
        if frame.redirect:
            frame.redirect = False
            return
        if not frame.command_position:
            frame.previous = word
        if word is None:
            if frame.command_position:
                frame.command_position = False
                frame.prefix = False
                frame.command = DYNAMIC
            return
        if word == "esac" and frame.case_depth:
            frame.case_depth -= 1
            frame.command_position = True
            return
        if word == "]]" and frame.double_bracket:
            frame.double_bracket = False
            return
        if not frame.command_position:
            return
        if word in _KEEP_COMMAND_POSITION or _ASSIGNMENT.match(word):
            return
        if word in PREFIX_WORDS:
            frame.prefix = True
            return
        if frame.prefix and (word.startswith("-") or re.fullmatch(r"[0-9.]+[smhd]?", word)):
            frame.prefix_options = frame.prefix_options or word.startswith("-")
            return
        uncertain = frame.prefix_options
        frame.prefix = False
        frame.prefix_options = False
        frame.previous = None
        frame.command_position = False
        if word == "case":
            frame.case_depth += 1
        elif word == "[[":
            frame.double_bracket = True
        else:
            frame.command = DYNAMIC if uncertain else word

    def new_command(self, frame: _Frame) -> None:
        self.end_word(frame)
        frame.command_position = True
        frame.command = None
        frame.prefix = False
        frame.prefix_options = False
        frame.redirect = False

    def add_literal(self, frame: _Frame, chars: str) -> None:
        frame.in_word = True
        if frame.word is not None:
            frame.word += chars

    def add_expansion(self, frame: _Frame) -> None:
        frame.in_word = True
        frame.word = None

    def value_context(self, frame: _Frame, word_start: bool) -> str:
        if frame.double_bracket:
            return "test"
        if frame.command in EVAL_WORDS:
            return "eval"
        if frame.command == DYNAMIC:
            return "dyncommand"
        if frame.redirect:
            return WORD
        if frame.command in NAME_WORDS:
            return "name"
        option = _NAME_OPTIONS.get(frame.command or "")
        if option and word_start and frame.previous == option:
            return "name"
        if frame.command_position and not word_start:
            raw = self.text[frame.start : self.pos]
            if _ASSIGNMENT_START.match(raw):
                return "name"
        return WORD

    def marker(self, i: int, context: str) -> int:
        match = MARK.match(self.text, i)
        if not match:
            self.out.append(Landing(-1, "broken", i))
            return i + 1
        self.out.append(Landing(int(match.group(1)), context, i))
        return match.end()

    def heredoc_word(self, frame: _Frame, i: int, strip_tabs: bool) -> int:
        """Read the delimiter word after `<<`; remember the here-document."""
        while i < self.n and self.text[i] in _BLANKS:
            i += 1
        delimiter = ""
        while i < self.n:
            c = self.text[i]
            if c in _BLANKS or c == "\n" or c in _OPERATOR_CHARS:
                break
            if c == MARK_OPEN:
                i = self.marker(i, "heredoc-word")
            elif c == "\\":
                delimiter += self.text[i + 1 : i + 2]
                i += 2
            elif c in "'\"":
                end = self.find(c, i + 1, c == '"')
                self.record(i, end, "heredoc-word")
                delimiter += self.text[i + 1 : end]
                i = end + 1
            else:
                delimiter += c
                i += 1
        frame.heredocs.append((delimiter, strip_tabs))
        return i

    def heredoc_bodies(self, frame: _Frame, i: int) -> int:
        """`i` is just after the newline that ends a line with `<<`: skip the bodies."""
        for delimiter, strip_tabs in frame.heredocs:
            while i < self.n:
                end = self.text.find("\n", i)
                end = self.n if end < 0 else end
                line = self.text[i:end]
                self.record(i, end, "heredoc")
                i = min(end + 1, self.n)
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
        frame.heredocs.clear()
        return i

    def dollar(self, frame: _Frame, i: int, stack: list) -> int:
        """`i` is at a `$` in a command frame or double quotes."""
        text = self.text
        if text.startswith("$((", i):
            return self.region(i, self.skip_arith(i + 3), "arith")
        if text.startswith("$(", i):
            stack.append(_Frame(")"))
            return i + 2
        if text.startswith("${", i):
            return self.region(i, self.skip_param(i + 2), "param")
        if text.startswith("$[", i):
            return self.region(i, self.find("]", i + 2, True) + 1, "arith")
        if text.startswith(MARK_OPEN, i + 1):
            return self.marker(i + 1, "dollar")
        return i + 1

    def run(self) -> list[Landing]:
        text, n = self.text, self.n
        stack: list = [_Frame(None)]
        i = 0
        while i < n:
            frame = stack[-1]
            c = text[i]
            if isinstance(frame, str):  # inside double quotes
                if c == '"':
                    stack.pop()
                    i += 1
                elif c == "\\":
                    i += 1 if text.startswith(MARK_OPEN, i + 1) else 2
                elif c == "$":
                    i = self.dollar(_Frame(None), i, stack)
                elif c == "`":
                    i = self.region(i, self.find("`", i + 1, True) + 1, "backtick")
                elif c == MARK_OPEN:
                    i = self.marker(i, "double")
                else:
                    i += 1
                continue
            word_start = not frame.in_word
            if word_start:
                frame.start = i
            self.pos = i
            if c == MARK_OPEN:
                i = self.marker(i, self.value_context(frame, word_start))
                self.add_expansion(frame)
            elif c == "\\":
                if text.startswith("\n", i + 1):  # line continuation
                    i += 2
                elif text.startswith(MARK_OPEN, i + 1):
                    i = self.marker(i + 1, "escaped")
                    self.add_expansion(frame)
                else:
                    self.add_literal(frame, text[i + 1 : i + 2])
                    i += 2
            elif c == "'":
                end = self.find("'", i + 1, False)
                self.region(i, end + 1, "single")
                self.add_literal(frame, text[i + 1 : end])  # a value inside is refused
                i = end + 1
            elif c == '"' and not re.search(
                "[$`\\\\" + MARK_OPEN + "]", text[i + 1 : self.find('"', i + 1, True)]
            ):  # plain literal text in double quotes (`"eval"`) is part of the word
                end = self.find('"', i + 1, True)
                self.add_literal(frame, text[i + 1 : end])
                i = end + 1
            elif c == '"':
                stack.append('"')
                self.add_expansion(frame)
                i += 1
            elif c == "`":
                i = self.region(i, self.find("`", i + 1, True) + 1, "backtick")
                self.add_expansion(frame)
            elif c == "$":
                if text.startswith("$'", i):
                    i = self.region(i, self.find("'", i + 2, True) + 1, "ansi")
                elif text.startswith('$"', i):
                    stack.append('"')
                    i += 2
                else:  # $(...) pushes a frame; the word goes on after its )
                    i = self.dollar(frame, i, stack)
                self.add_expansion(frame)
            elif c == "#" and word_start:
                i = self.region(i, self.find("\n", i, False), "comment")
            elif c == "\n":
                self.new_command(frame)
                i += 1
                if frame.heredocs:
                    i = self.heredoc_bodies(frame, i)
            elif c in _BLANKS:
                self.end_word(frame)
                i += 1
            elif c in "<>" and frame.in_word and _FD.fullmatch(frame.word or "\x00"):
                frame.in_word, frame.word = False, ""  # `2>`: a descriptor, not a word
                continue
            elif c == "<" and text.startswith("<<<", i):
                self.end_word(frame)
                frame.redirect = True
                i += 3
            elif c == "<" and text.startswith("<<", i):
                self.end_word(frame)
                strip = text.startswith("<<-", i)
                i = self.heredoc_word(frame, i + (3 if strip else 2), strip)
            elif c in "<>" and text.startswith("(", i + 1):
                self.end_word(frame)
                stack.append(_Frame(")"))
                i += 2
            elif c in "<>":
                self.end_word(frame)
                frame.redirect = True
                i += 2 if text.startswith("&", i + 1) else 1
            elif c == "(":
                if word_start and text.startswith("((", i) and frame.command_position:
                    i = self.region(i, self.skip_arith(i + 2), "arith")
                    continue
                self.new_command(frame)
                frame.parens += 1
                i += 1
            elif c == ")":
                self.end_word(frame)
                i += 1
                if frame.parens:
                    frame.parens -= 1
                elif frame.case_depth:
                    pass  # the end of a case pattern
                elif frame.closer == ")" and len(stack) > 1:
                    stack.pop()
                    continue
                frame.command_position = True
                frame.command = None
            elif c in ";&|":
                self.new_command(frame)
                i += 1
            else:
                self.add_literal(frame, c)
                i += 1
        return self.out


def unfit_for_argument(text: str) -> str:
    """Why `text` cannot be one argument of a command (a NUL, a lone surrogate), or ''."""
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (not encodable as UTF-8)"
    return ""


def landings(text: str) -> list[Landing]:
    """Every placeholder in `text` with the shell context it lands in, in text order."""
    return sorted(_Lexer(text).run(), key=lambda landing: landing.offset)


def describe(context: str) -> str:
    return CONTEXTS.get(context, context)
