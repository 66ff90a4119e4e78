"""`provision verify` checks of the tasks that edit a file in place (`replace`,
`blockinfile`) and of `firewalld`: each re-applies the task's own pure edit (or query) to
what the host holds now, and reports a difference."""

from __future__ import annotations

import re
from typing import Any

from provision.tasks.base import verifies


def _owner_problem(host_file: Any, path: str, expect: dict[str, Any]) -> str | None:
    """The mode/owner/group the task declared, when it declared them."""
    if expect.get("mode") is not None and host_file.mode != expect["mode"]:
        return f"{path} has mode {host_file.mode:04o}, expected {expect['mode']:04o}"
    if expect.get("owner") is not None and host_file.user != expect["owner"]:
        return f"{path} owner is not {expect['owner']}"
    if expect.get("group") is not None and host_file.group != expect["group"]:
        return f"{path} group is not {expect['group']}"
    return None


@verifies("replace")
def check_replace(host: Any, path: str, expect: dict[str, Any]) -> str | None:
    """No match of `regexp` is left to replace (between `after` and `before`)."""
    from provision.tasks.replace import replace_text

    file = host.file(path)
    if not file.exists:
        return f"{path} does not exist"
    if not file.is_file:
        return f"{path} is not a regular file"
    text = file.content_string
    try:
        wanted = replace_text(
            text, expect["regexp"], expect["replace"], expect.get("after"), expect.get("before")
        )
    except (re.error, IndexError) as exc:
        return f"{path}: the replacement cannot be computed: {exc}"
    if wanted != text:
        return f"{path}: the regexp still matches text that `replace` would change"
    return _owner_problem(file, path, expect)


@verifies("blockinfile")
def check_blockinfile(host: Any, path: str, expect: dict[str, Any]) -> str | None:
    """The block between the markers is the declared one (or absent, with its markers)."""
    from provision.tasks.blockinfile import edit_block

    file = host.file(path)
    absent = expect["state"] == "absent" or not expect["block"]
    if not file.exists:
        return None if absent else f"{path} does not exist"
    if not file.is_file:
        return f"{path} is not a regular file"
    text = file.content_string
    wanted = edit_block(
        text,
        expect["block"],
        expect["begin"],
        expect["end"],
        expect["state"],
        expect.get("insertafter"),
        expect.get("insertbefore"),
    )
    if wanted != text:
        return f"{path}: the block is {'still there' if absent else 'missing or differs'}"
    return None


@verifies("firewalld")
def check_firewalld(host: Any, what: str, expect: dict[str, Any]) -> str | None:
    """Each declared configuration (running, permanent) answers the query as declared:
    firewall-cmd's --query-* exits 0 for yes, 1 for no, anything else is an error."""
    want = expect["state"] == "enabled"
    for where, command in expect["queries"]:
        result = host.run(command)
        if result.rc not in (0, 1):
            detail = (result.stderr or result.stdout or "").strip() or f"exit code {result.rc}"
            return f"firewall-cmd cannot answer for {what} ({where}): {detail}"
        if (result.rc == 0) != want:
            return f"{what} is {'not ' if want else ''}allowed in the {where} configuration"
    return None
