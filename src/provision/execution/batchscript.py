"""Several commands sent to a host as ONE remote script (cold runs in few round trips).

The script runs the commands in order, each in a subshell with its own stdin (the bytes it
would have been fed, decoded from base64 held in the script's own memory and piped in:
never written to a file) and its stdout and stderr captured to files in a private
directory. After each command it prints one frame on stdout:

    <marker> <index> <exit code> <stdout length> <stderr length>\\n<stdout bytes><stderr bytes>

(length-prefixed: the outputs may hold anything, markers, NULs, binary), and it stops after
the first command that exits non-zero. A command marked `progress` (dnf) also has each line
it prints relayed live on the script's stderr as `<marker>><line>`, between
`<marker>+<index>` and `<marker>-<index> <exit code>`, so live progress works as today.

The private directory (mode 0700, `/tmp/provision-batch.<shell pid>.XXXXXXXX`) holds the
captured outputs only while the script runs: it is removed on every ending the shell sees
(the end, a failure, a hang-up, Ctrl-C, SIGTERM, a broken pipe when the connection is cut,
which also stops the script before its next command). A SIGKILL leaves it: each batch
first removes the directories of this user's earlier batches whose shell is gone.
"""

from __future__ import annotations

import base64
import secrets
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from provision.execution.connection import Result

if TYPE_CHECKING:
    from provision.planning.model import Command

# Output kept per stream of a command whose output nothing reads later (its tail).
OUTPUT_BOUND = 1 << 20


@dataclass(frozen=True)
class Item:
    """One command of a batch: its script (environment prefix included), its stdin, whether
    its output is relayed live, whether its output is kept whole (a registered result)."""

    script: str
    stdin: bytes | None = None
    progress: bool = False
    whole: bool = False


def new_marker() -> str:
    return f"@@provision-batch-{secrets.token_hex(8)}"


def stop_path(marker: str) -> str:
    """The file whose existence stops a batch before its next command (Ctrl-C: the
    controller creates it with another command while the batch runs)."""
    return f"/tmp/{marker}.stop"


TEMP_PREFIX = "/tmp/provision-batch."

# Signals that end the script: the EXIT trap (which removes the private directory) runs on
# each (a shell that dies of an untrapped signal runs no trap). A trapped signal is reset to
# its default in the commands the script starts.
ENDINGS = (("HUP", 129), ("INT", 130), ("PIPE", 141), ("TERM", 143))


def stale_cleanup() -> str:
    """Shell lines removing the private directories of this user's earlier batches whose
    shell (its pid is in the name) no longer runs: a SIGKILLed batch's outputs."""
    return (
        f"for x in {TEMP_PREFIX}*; do "
        '[ -d "$x" ] && [ ! -L "$x" ] && [ -O "$x" ] || continue; '
        f"p=${{x#{TEMP_PREFIX}}}; p=${{p%%.*}}; "
        'case $p in ""|*[!0-9]*) continue ;; esac; '
        '[ -d "/proc/$p" ] || rm -rf -- "$x"; '
        "done"
    )


def feed(stdin: bytes | None) -> str:
    """The start of a pipeline giving a command its stdin: base64 inside the script itself,
    printed by the shell's builtin printf (no process argument, no file) and decoded."""
    if stdin is None:
        return ""
    encoded = base64.b64encode(stdin).decode("ascii")
    return f"printf '%s' '{encoded}' | base64 -d | "


def batch_script(items: list[Item], marker: str, bound: int = OUTPUT_BOUND) -> str:
    m = shlex.quote(marker)
    stop = shlex.quote(stop_path(marker))
    lines = ["umask 077"]
    lines += [f"trap 'exit {code}' {name}" for name, code in ENDINGS]
    lines += [
        stale_cleanup(),
        f'd=$(mktemp -d "{TEMP_PREFIX}$$.XXXXXXXX") || '
        '{ echo "provision: mktemp -d failed" >&2; exit 70; }',
        f"trap 'rm -rf -- \"$d\" {stop}' EXIT",
        'cut_() { if [ "$(wc -c <"$1")" -gt "$2" ]; then '
        'tail -c "$2" "$1" >"$d/t" && mv -f -- "$d/t" "$1"; fi; }',
        "emit_() { "
        f'printf "%s %s %s %s %s\\n" {m} "$1" "$2" "$(wc -c <"$d/o")" "$(wc -c <"$d/e")"; '
        'cat -- "$d/o" "$d/e"; }',
    ]
    for index, item in enumerate(items):
        if index:
            lines.append(f"[ -e {stop} ] && exit 0")
        lines.append(f"# provision-item {index}")
        source = "" if item.stdin is not None else " </dev/null"
        body = f"{feed(item.stdin)}(\n{item.script}\n){source}"
        if item.progress:
            lines += [
                f"printf '%s+%s\\n' {m} {index} >&2",
                'rm -f -- "$d/fo" "$d/fe"; mkfifo "$d/fo" "$d/fe"',
                f'tee "$d/o" <"$d/fo" | sed -u "s/^/{marker}>/" >&2 &',
                f'tee "$d/e" <"$d/fe" | sed -u "s/^/{marker}>/" >&2 &',
                f'{body} >"$d/fo" 2>"$d/fe"',
                "rc=$?",
                "wait",
                f"printf '%s-%s %s\\n' {m} {index} \"$rc\" >&2",
            ]
        else:
            lines += [f'{body} >"$d/o" 2>"$d/e"', "rc=$?"]
        if not item.whole:
            lines.append(f'cut_ "$d/o" {bound}; cut_ "$d/e" {bound}')
        lines += [f'emit_ {index} "$rc"', '[ "$rc" -eq 0 ] || exit 0']
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


class BatchError(Exception):
    """The batch's output could not be read."""


def parse_batch(marker: str, stdout: bytes, partial: bool = False) -> list[Result]:
    """The results of the commands that ran, in order (the last may have failed).
    `partial`: the output of a batch cut short (the connection was lost), whose last frame
    may be incomplete: the complete frames only."""
    results: list[Result] = []
    position = 0
    head = marker.encode() + b" "
    while position < len(stdout):
        end = stdout.find(b"\n", position)
        if partial and (end < 0 or not stdout.startswith(head, position)):
            if head.startswith(stdout[position : position + len(head)]) or end < 0:
                break  # the head of the next frame only
        if end < 0 or not stdout.startswith(head, position):
            raise BatchError("the batch's output is not framed as expected")
        fields = stdout[position + len(head) : end].split(b" ")
        if len(fields) != 4 or not all(f.lstrip(b"-").isdigit() for f in fields):
            raise BatchError("the batch's output is not framed as expected")
        index, rc, out_len, err_len = (int(f) for f in fields)
        if index != len(results):
            raise BatchError(f"the batch's frame {index} came where {len(results)} was due")
        start = end + 1
        out = stdout[start : start + out_len]
        err = stdout[start + out_len : start + out_len + err_len]
        if len(out) != out_len or len(err) != err_len:
            if partial:
                break
            raise BatchError("the batch's output was cut short")
        results.append(Result(rc, out, err))
        position = start + out_len + err_len
    return results


def batch_steps(steps: list, flow: object) -> tuple[int, str]:
    """How many of `steps` (from the first) go to the host as one script, and why the batch
    ends there. A step joins when apply needs no decision before running it: its outcome
    is a Change (or a NoOp, a skip) known at plan time, under the same `become` as the rest.
    A step whose outcome is decided at apply (late `when:`, a registered result it reads, a
    read-only re-read after changes, handlers flushed before it, a plan-time failure) ends
    the batch before it; one whose success is decided on its output (failed_when,
    changed_when) ends the batch after it. (`flow`: the planner's BlockFlow, for the steps
    that do not run because no task of their block failed.)"""
    from provision.planning.model import Change, Deferred, Failed

    count, become = 0, None
    for step in steps:
        compiled, outcome = step.task, step.outcome
        if compiled.flush_handlers:
            return count, "handlers flushed here"
        if flow.skip(compiled):  # type: ignore[attr-defined]
            count += 1
            continue
        if compiled.pending is not None:
            return count, "decided at apply (late condition or registered result)"
        if compiled.task is None:
            count += 1
            continue
        if outcome is None or isinstance(outcome, Deferred):
            return count, "re-read at apply"
        if isinstance(outcome, Failed):
            return count, "fails at plan time"
        if isinstance(outcome, Change):
            if become is not None and compiled.become != become:
                return count, "become differs"
            become = compiled.become
        count += 1
        if compiled.failed_when is not None or compiled.changed_when is not None:
            return count, "failed_when/changed_when judged on its output"
    return count, "end of the play's tasks"


ITEM_LINE = "# provision-item "


def split_batch(script: str) -> tuple[str, list[tuple[str, bytes | None]]] | None:
    """(marker, [(command script, stdin)]) of a batch script; None for any other script.
    For fakes that answer commands one by one (the unit tests' simulated hosts)."""
    if "@@provision-batch-" not in script or ITEM_LINE not in script:
        return None
    marker = script.split("@@provision-batch-", 1)[1][:16]
    chunks = script.split("\n" + ITEM_LINE)[1:]
    commands: list[tuple[str, bytes | None]] = []
    for chunk in chunks:
        body = chunk.split("\n", 1)[1]
        stdin = None
        if body.startswith("printf '%s' '"):
            encoded = body[len("printf '%s' '") :].split("'", 1)[0]
            stdin = base64.b64decode(encoded)
        elif "\nprintf '%s' '" in body.split("(\n", 1)[0]:  # a `progress` command's
            encoded = body.split("\nprintf '%s' '", 1)[1].split("'", 1)[0]
            stdin = base64.b64decode(encoded)
        start = body.index("(\n") + 2
        stop = body.rindex("\n)")
        commands.append((body[start:stop], stdin))
    return f"@@provision-batch-{marker}", commands


def frame(marker: str, index: int, result: Result) -> bytes:
    """One command's frame, as the batch script prints it (for fakes)."""
    head = f"{marker} {index} {result.rc} {len(result.stdout)} {len(result.stderr)}\n"
    return head.encode() + result.stdout + result.stderr


# --- dnf transactions merged ------------------------------------------------------------

DNF_INSTALL = ["dnf", "-y", "install", "--"]


def dnf_installs(command: object) -> list[str] | None:
    """The packages of a plain `dnf -y install -- NAMES` command (as the package task builds
    it, lock wait included, no stdin); None for any other command."""
    from provision.planning.model import dnf

    display, script = getattr(command, "display", ""), getattr(command, "script", "")
    try:
        words = shlex.split(display)
    except ValueError:
        return None
    if words[:4] != DNF_INSTALL or len(words) < 5 or getattr(command, "stdin", None) is not None:
        return None
    if script != dnf(*words[1:]).script:
        return None
    return words[4:]


def merged_dnf(names: list[str]) -> Command:
    """One `dnf -y install` transaction for the packages of several install commands."""
    from provision.planning.model import dnf

    return dnf(*DNF_INSTALL[1:], *dict.fromkeys(names))


def merged_first(index: int, merged: str, alone: str) -> str:
    """The first command of a merged group: the one transaction for all; when it fails,
    this command alone (so each task's failure is its own, as without merging)."""
    return (
        f'if (\n{merged}\n); then : >"$d/dnf-merged-{index}"; else\n'
        "echo 'provision: the merged dnf transaction failed; each task installs its own "
        "packages' >&2\n"
        f"(\n{alone}\n); fi"
    )


def merged_rest(index: int, alone: str) -> str:
    """A later command of a merged group: nothing when the merged transaction (started by
    item `index`) installed its packages, else this command alone."""
    return f'if [ ! -e "$d/dnf-merged-{index}" ]; then (\n{alone}\n); fi'
