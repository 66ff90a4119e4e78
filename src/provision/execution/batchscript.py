"""Several commands sent to a host as ONE remote script (cold runs in few round trips).

The script runs the commands in order, each in a subshell with its own stdin (the bytes it
would have been fed, decoded from base64 into a private temporary directory) and its stdout
and stderr captured to files. After each command it prints one frame on stdout:

    <marker> <index> <exit code> <stdout length> <stderr length>\\n<stdout bytes><stderr bytes>

(length-prefixed: the outputs may hold anything, markers, NULs, binary), and it stops after
the first command that exits non-zero. A command marked `progress` (dnf) also has each line
it prints relayed live on the script's stderr as `<marker>><line>`, between
`<marker>+<index>` and `<marker>-<index> <exit code>`, so live progress works as today.
"""

from __future__ import annotations

import base64
import secrets
import shlex
from dataclasses import dataclass

from provision.execution.connection import Result

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


def batch_script(items: list[Item], marker: str, bound: int = OUTPUT_BOUND) -> str:
    m = shlex.quote(marker)
    stop = shlex.quote(stop_path(marker))
    lines = [
        "umask 077",
        'd=$(mktemp -d) || { echo "provision: mktemp -d failed" >&2; exit 70; }',
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
        source = "/dev/null"
        if item.stdin is not None:
            end = f"{marker}-in-{index}"
            encoded = base64.encodebytes(item.stdin).decode("ascii")
            lines.append(f"base64 -d >\"$d/i\" <<'{end}'\n{encoded}{end}")
            source = '"$d/i"'
        body = f"(\n{item.script}\n)"
        if item.progress:
            lines += [
                f"printf '%s+%s\\n' {m} {index} >&2",
                'rm -f -- "$d/fo" "$d/fe"; mkfifo "$d/fo" "$d/fe"',
                f'tee "$d/o" <"$d/fo" | sed -u "s/^/{marker}>/" >&2 &',
                f'tee "$d/e" <"$d/fe" | sed -u "s/^/{marker}>/" >&2 &',
                f'{body} <{source} >"$d/fo" 2>"$d/fe"',
                "rc=$?",
                "wait",
                f"printf '%s-%s %s\\n' {m} {index} \"$rc\" >&2",
            ]
        else:
            lines += [f'{body} <{source} >"$d/o" 2>"$d/e"', "rc=$?"]
        if not item.whole:
            lines.append(f'cut_ "$d/o" {bound}; cut_ "$d/e" {bound}')
        lines += [f'emit_ {index} "$rc"', '[ "$rc" -eq 0 ] || exit 0']
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


class BatchError(Exception):
    """The batch's output could not be read."""


def parse_batch(marker: str, stdout: bytes) -> list[Result]:
    """The results of the commands that ran, in order (the last may have failed)."""
    results: list[Result] = []
    position = 0
    head = marker.encode() + b" "
    while position < len(stdout):
        end = stdout.find(b"\n", position)
        if end < 0 or not stdout.startswith(head, position):
            raise BatchError("the batch's output is not framed as expected")
        fields = stdout[position + len(head) : end].split(b" ")
        if len(fields) != 4:
            raise BatchError("the batch's output is not framed as expected")
        index, rc, out_len, err_len = (int(f) for f in fields)
        if index != len(results):
            raise BatchError(f"the batch's frame {index} came where {len(results)} was due")
        start = end + 1
        out = stdout[start : start + out_len]
        err = stdout[start + out_len : start + out_len + err_len]
        if len(out) != out_len or len(err) != err_len:
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
        if body.startswith("base64 -d"):
            end = body.split("<<'", 1)[1].split("'", 1)[0]
            encoded = body.split("\n", 1)[1].split("\n" + end + "\n", 1)[0] + "\n"
            stdin = base64.decodebytes(encoded.encode("ascii")) if encoded.strip() else b""
        start = body.index("(\n") + 2
        stop = body.rindex("\n) <")
        commands.append((body[start:stop], stdin))
    return f"@@provision-batch-{marker}", commands


def frame(marker: str, index: int, result: Result) -> bytes:
    """One command's frame, as the batch script prints it (for fakes)."""
    head = f"{marker} {index} {result.rc} {len(result.stdout)} {len(result.stderr)}\n"
    return head.encode() + result.stdout + result.stderr
