"""copy, template, file, lineinfile, blockinfile, replace, get_url."""

from __future__ import annotations

from typing import Any

from provision.ansible.modules.spec import A, Call, Module, templated

_SELINUX = "provision restores the SELinux context of every file it writes (restorecon)"
_UNSAFE = "provision always writes files atomically"
_VALIDATE = (
    "Ansible's validate runs a command on the new file; provision checks JSON with the"
    " native copy/template `validate: json`, else check the file with ansible.builtin.assert"
)


def _common_refused() -> tuple[A, ...]:
    refused = {
        "attributes": "set file attributes with a command guarded by `unless:` (lsattr)",
        "attr": "set file attributes with a command guarded by `unless:` (lsattr)",
        "selevel": _SELINUX,
        "serole": _SELINUX,
        "setype": _SELINUX,
        "seuser": _SELINUX,
        "unsafe_writes": _UNSAFE,
    }
    return tuple(A(k, refuse=v) for k, v in refused.items())


def _owner_args() -> tuple[A, ...]:
    return (A("mode"), A("owner"), A("group"))


COPY = Module(
    "copy",
    "ansible.builtin",
    "copy",
    (
        A("dest"),
        A("src"),
        A("content"),
        *_owner_args(),
        A("backup"),
        A("force", to="", only=True, refuse=""),
        A("decrypt", to="", only=True),
        A("validate", refuse=_VALIDATE),
        A("remote_src", refuse="a file already on the host: use a command with `creates:`"),
        A(
            "directory_mode",
            refuse="copy files one by one, and make directories with"
            " ansible.builtin.file state: directory",
        ),
        A("follow", refuse="name the link's target in `dest`"),
        A("local_follow", to="", only=True),
        A("checksum", refuse="provision compares the content itself"),
        *_common_refused(),
    ),
    "`src` is a file under the role's `files/` (a directory is refused); `force: false`"
    " is refused (provision keeps the declared content)",
)

TEMPLATE = Module(
    "template",
    "ansible.builtin",
    "template",
    (
        A("src"),
        A("dest"),
        *_owner_args(),
        A("backup"),
        A("force", to="", only=True),
        A("validate", refuse=_VALIDATE),
        A("newline_sequence", to="", only="\n"),
        A("output_encoding", to="", only="utf-8"),
        A("follow", refuse="name the link's target in `dest`"),
        A("trim_blocks", refuse="not supported: write the template's whitespace as wanted"),
        A("lstrip_blocks", refuse="not supported: write the template's whitespace as wanted"),
        *(
            A(k, refuse="not supported: use Jinja's default delimiters")
            for k in (
                "block_start_string",
                "block_end_string",
                "variable_start_string",
                "variable_end_string",
                "comment_start_string",
                "comment_end_string",
            )
        ),
        *_common_refused(),
    ),
    "`src` is under the role's `templates/`",
)


_FILE_STATES = ("file", "directory", "absent", "touch", "link", "hard")


def _file_route(raw: Any, call: Call) -> str:
    """absent → `directory` (which removes a file or a tree, as Ansible does); file,
    directory, touch, link, hard → `file`. The state must be written as it is."""
    state = raw.get("state", "file") if isinstance(raw, dict) else "file"
    if templated(state):
        raise call.error(
            "`state` must be written as it is (it decides the task type), found a template",
            hint=f"one of {', '.join(_FILE_STATES)}",
        )
    if state not in _FILE_STATES:
        raise call.error(f"`state` must be one of {', '.join(_FILE_STATES)}, found {state!r}")
    return "directory" if state == "absent" else "file"


def _file_args(args: dict[str, Any], call: Call) -> dict[str, Any]:
    if args.get("state") == "absent":
        for key in ("mode", "owner", "group", "src"):
            if key in args:
                raise call.error(f"`{key}` goes with state: absent only in Ansible; remove it")
    if args.get("state") in ("directory", "absent") and "src" in args:
        raise call.error("`src` goes with state: link or state: hard")
    follow = args.get("_follow", True)
    if templated(follow):
        raise call.error("`follow` must be written as it is (true or false), found a template")
    if follow in (False, "false", "no", "False") and args.get("recurse") not in (True, "yes"):
        raise call.error(
            "`follow: false` is supported with `recurse: true` only (where links inside the"
            " tree are never followed)",
            hint="remove `follow`: provision sets the file a symbolic link at `path` names",
        )
    if follow not in (True, False, "true", "false", "yes", "no", "True", "False"):
        raise call.error(f"`follow` must be true or false, found {follow!r}")
    return args


FILE = Module(
    "file",
    "ansible.builtin",
    "file",
    (
        A("path", aliases=("dest", "name")),
        A("state"),
        A("src"),
        *_owner_args(),
        A("recurse"),
        A("force", refuse="remove what is in the way with state: absent first"),
        A("follow", to=""),
        A("access_time", refuse="not supported"),
        A("access_time_format", refuse="not supported"),
        A("modification_time", refuse="not supported"),
        A("modification_time_format", refuse="not supported"),
        *_common_refused(),
    ),
    "`state: absent` is the native `directory` type (removes a file or a tree); the other"
    " states are the native `file` type: a new directory is 0755 root:root unless given,"
    " an existing one gets only what is given; `touch` creates a missing file and leaves"
    " an existing one (Ansible updates its times on every run); `hard` never replaces"
    " another file (`force` is refused); `mode` octal or symbolic (a clause without"
    " u/g/o/a is refused: Ansible applies the host's umask); `recurse: true` reads the"
    " tree in the probe (at most 10,000 entries) and never follows a symbolic link inside"
    " it, whatever `follow` says (Ansible's default `follow: true` would set the targets"
    " too): a link gets owner/group (`chown -h`), no mode",
    route=_file_route,
    prepare=_file_args,
)

_LINE_PATH = A("path", aliases=("dest", "destfile", "name"))


def _lineinfile(args: dict[str, Any], call: Call) -> dict[str, Any]:
    if "insertafter" in args and "insertbefore" in args:
        raise call.error("give `insertafter` or `insertbefore`, not both")
    return args


LINEINFILE = Module(
    "lineinfile",
    "ansible.builtin",
    "line",
    (
        _LINE_PATH,
        A("regexp", aliases=("regex",)),
        A("line", aliases=("value",)),
        A("state"),
        A("insertafter"),
        A("insertbefore"),
        A("create"),
        A("backup"),
        *_owner_args(),
        A(
            "firstmatch",
            to="",
            only=False,
            refuse="the last match is replaced, as Ansible's default",
        ),
        A("backrefs"),
        A("search_string", refuse="write a `regexp` (escape it: `{{ text | regex_escape }}`)"),
        A("validate", refuse=_VALIDATE),
        *_common_refused(),
    ),
    "the `line` type with Ansible's `create: false` default; `insertafter`/`insertbefore`"
    " take a regexp, `EOF` or `BOF`; `backrefs` takes `\\1`..`\\99`, `\\g<name>` and"
    " `\\\\` only; a line is checked for the file's format (an INI-like file gets a"
    " key=value line)",
    fixed={"create": False},
    prepare=_lineinfile,
)

BLOCKINFILE = Module(
    "blockinfile",
    "ansible.builtin",
    "blockinfile",
    (
        _LINE_PATH,
        A("block", aliases=("content",)),
        A("marker"),
        A("marker_begin"),
        A("marker_end"),
        A("state"),
        A("insertafter"),
        A("insertbefore"),
        A("create"),
        A("backup"),
        *_owner_args(),
        A("append_newline", refuse="not supported"),
        A("prepend_newline", refuse="not supported"),
        A("validate", refuse=_VALIDATE),
        *_common_refused(),
    ),
    "a native type with Ansible's arguments and defaults",
    prepare=_lineinfile,
)

REPLACE = Module(
    "replace",
    "ansible.builtin",
    "replace",
    (
        A("path", aliases=("dest", "destfile", "name")),
        A("regexp"),
        A("replace"),
        A("after"),
        A("before"),
        A("backup"),
        *_owner_args(),
        A("encoding", to="", only="utf-8"),
        A("validate", refuse=_VALIDATE),
        *_common_refused(),
    ),
    "a native type: Python `re` with MULTILINE over the whole file, as Ansible",
)

GET_URL = Module(
    "get_url",
    "ansible.builtin",
    "get_url",
    (
        A("url"),
        A("dest"),
        A("checksum"),
        *_owner_args(),
        A("use_proxy"),
        A("timeout"),
        A("backup"),
        A(
            "force",
            to="",
            only=False,
            refuse="a download on every run is never converged: pin"
            " `checksum:` and the file is fetched again when it differs",
        ),
        A("validate_certs", to="", only=True),
        A(
            "url_username",
            refuse="not supported: put the file where it can be read, or"
            " template a credentials file",
        ),
        A("url_password", refuse="not supported"),
        A("headers", refuse="not supported"),
        A("client_cert", refuse="not supported"),
        A("client_key", refuse="not supported"),
        A("force_basic_auth", refuse="not supported"),
        A("http_agent", refuse="not supported"),
        A("tmp_dest", refuse="not needed: the file is written beside `dest`, then renamed"),
        A("decompress", refuse="not supported"),
        A("unredirected_headers", refuse="not supported"),
        A("use_gssapi", refuse="not supported"),
        A("use_netrc", refuse="not supported"),
        A("ciphers", refuse="not supported"),
        *_common_refused(),
    ),
    "a native type: fetched on the host with curl; an existing `dest` is kept unless"
    " `checksum` says it differs; `checksum: ALG:https://.../SHA256SUMS` takes the digest"
    " listed for the URL's file name (the list is fetched on the host by the probe);"
    " `dest` must be a file path (not a directory)",
)

MODULES = (COPY, TEMPLATE, FILE, LINEINFILE, BLOCKINFILE, REPLACE, GET_URL)
