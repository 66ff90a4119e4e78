"""command, shell → the `shell` task type; assert → `assert`; fail → `fail`."""

from __future__ import annotations

from typing import Any

from provision.ansible.modules.spec import A, Call, Module, templated

# Characters a POSIX shell reads as syntax where Ansible's command module (no shell)
# passes them literally: refused outside quotes, so `sh -c` runs what command would.
_SYNTAX = set("|&;<>()$`*?[]{}~#\\")
_IN_DOUBLE = set("$`\\")


def shell_syntax(text: str) -> str:
    """What in `text` a shell would read differently from Ansible's command module
    (which splits the words like shlex and runs no shell); '' when nothing."""
    quote = ""
    for index, char in enumerate(text):
        if quote == "'":
            if char == "'":
                quote = ""
        elif quote == '"':
            if char == '"':
                quote = ""
            elif char in _IN_DOUBLE:
                return f"{char!r} inside double quotes (at character {index + 1})"
        elif char in "'\"":
            quote = char
        elif char in _SYNTAX:
            return f"{char!r} (at character {index + 1})"
        elif char in "\n\r":
            return f"a line break (at character {index + 1})"
    if quote:
        return "an unclosed quote"
    return ""


def _command(args: dict[str, Any], call: Call) -> dict[str, Any]:
    cmd = args.get("cmd")
    if isinstance(cmd, str) and not templated(cmd):
        problem = shell_syntax(cmd)
        if problem:
            raise call.error(
                f"the command holds shell syntax: {problem}; Ansible's command module runs"
                " no shell and would pass it on literally",
                hint="use ansible.builtin.shell for shell syntax, or `argv:` (a list of"
                " words) for literal arguments",
            )
    return args


def _shell(args: dict[str, Any], call: Call) -> dict[str, Any]:
    executable = args.pop("_executable", None)
    if executable is not None and executable not in ("/bin/sh", "/bin/bash", "/usr/bin/bash"):
        raise call.error(
            f"`executable: {executable}` is not supported: the command runs with /bin/sh"
            " (bash on RHEL)",
            hint="remove `executable`, or write /bin/bash",
        )
    if isinstance(args.get("argv"), list):
        raise call.error("ansible.builtin.shell takes a command string, not `argv`")
    return args


_COMMAND_ARGS = (
    A("cmd", aliases=("_raw_params",)),
    A("creates"),
    A("removes"),
    A("chdir"),
    A("stdin"),
    A("stdin_add_newline"),
    A("strip_empty_ends", to=""),
    A("warn", to=""),
)

COMMAND = Module(
    "command",
    "ansible.builtin",
    "shell",
    (*_COMMAND_ARGS, A("argv"), A("expand_argument_vars", to="")),
    "the `shell` type: changes on every run unless `creates`/`removes` (or the"
    " `changed_when:` keyword) say otherwise; a command string with shell syntax outside"
    " quotes (`| ; & > $ *`...) is refused (Ansible would pass it on literally): use"
    " shell or `argv`; a templated value is one word",
    free_form="cmd",
    prepare=_command,
    finish=_command,
)

SHELL = Module(
    "shell",
    "ansible.builtin",
    "shell",
    (*_COMMAND_ARGS, A("executable", to="")),
    "the `shell` type: changes on every run unless `creates`/`removes` (or `changed_when:`)"
    " say otherwise; a templated value lands as one quoted word, and only where a word can"
    " be",
    free_form="cmd",
    prepare=_shell,
    finish=_shell,
)

ASSERT = Module(
    "assert",
    "ansible.builtin",
    "assert",
    (
        A("that"),
        A("fail_msg", to="msg", aliases=("msg",)),
        A("success_msg", to=""),
        A("quiet", to=""),
    ),
    "`success_msg` and `quiet` only change Ansible's output; they are accepted and have no effect",
)

FAIL = Module("fail", "ansible.builtin", "fail", (A("msg"),), "fails the host when reached")

MODULES = (COMMAND, SHELL, ASSERT, FAIL)
