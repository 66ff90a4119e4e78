"""The console renderer on its own: verbosity, the status column, colour choice, blocks that
never interleave, live progress on a terminal and start/end lines in a log."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

from provision.execution.reports import (
    CHANGED,
    CHECK,
    FAILED,
    OK,
    PENDING,
    SKIPPED,
    UNREACHABLE,
    HostReport,
    TaskReport,
)
from provision.planning.model import Diff
from provision.reporting import console as console_module
from provision.reporting.console import STATUS_WIDTH, Console, colour_wanted
from provision.reporting.live import elapsed, fit, live_wanted
from provision.reporting.mask import Masker

SECRET = "s3cret-value"


class Tty(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def screen(text: str) -> list[str]:
    """What a terminal shows after `text`: handles \\n, \\r, cursor up (ESC[nA) and erase
    to the end of the screen (ESC[J); colour sequences are dropped."""
    rows: list[str] = [""]
    row, col = 0, 0
    pos = 0
    while pos < len(text):
        match = re.match(r"\x1b\[(\d*)([AJm])", text[pos:])
        if match:
            count, code = int(match.group(1) or 1), match.group(2)
            if code == "A":
                row = max(0, row - count)
            elif code == "J":
                rows[row] = rows[row][:col]
                del rows[row + 1 :]
            pos += match.end()
            continue
        char = text[pos]
        pos += 1
        if char == "\n":
            row, col = row + 1, 0
            while len(rows) <= row:
                rows.append("")
        elif char == "\r":
            col = 0
        else:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + char + line[col + 1 :]
            col += 1
    return rows[:-1] if rows and rows[-1] == "" else rows


def make(
    verbosity: int = 0,
    plan: bool = True,
    stream: io.StringIO | None = None,
    colour: bool = False,
    clock: Clock | None = None,
    columns: int = 200,
) -> tuple[Console, io.StringIO]:
    stream = stream if stream is not None else io.StringIO()
    out = Console(
        Masker([SECRET]),
        stream=stream,
        plan=plan,
        colour=colour,
        verbosity=verbosity,
        clock=clock or Clock(),
        columns=lambda: columns,
    )
    out.width = 6
    return out, stream


def task(status: str, name: str = "a task", **kw: object) -> TaskReport:
    return TaskReport(name=name, role="role", type="copy", status=status, **kw)  # type: ignore[arg-type]


EVERY_STATUS = [OK, CHANGED, FAILED, SKIPPED, PENDING, CHECK]


# ---- verbosity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verbosity", "shown"),
    [
        (0, {PENDING, CHECK, CHANGED, FAILED}),
        (1, set(EVERY_STATUS)),
        (2, set(EVERY_STATUS)),
        (3, set(EVERY_STATUS)),
    ],
)
def test_which_statuses_each_verbosity_shows(verbosity: int, shown: set[str]) -> None:
    out, stream = make(verbosity)
    for status in EVERY_STATUS:
        out.listener("task", ("host", task(status, name=f"task-{status}", reason="why")))
    text = stream.getvalue()
    assert {s for s in EVERY_STATUS if f"task-{s}" in text} == shown


@pytest.mark.parametrize("verbosity", [0, 1, 2, 3])
def test_reasons_commands_and_probe_by_verbosity(verbosity: int) -> None:
    out, stream = make(verbosity)
    out.listener("task", ("host", task(OK, name="quiet", reason="already so")))
    out.listener("task", ("host", task(SKIPPED, name="skip", reason="condition false")))
    changing = task(PENDING, name="edit", summary=["edit /etc/x"], commands=["chmod 0644 /etc/x"])
    out.listener("task", ("host", changing))
    out.listener("probe", ("host", 27, 4096, 0.25))
    text = stream.getvalue()
    assert "edit /etc/x" in text  # what changes: at every level
    assert ("(already so)" in text) == (verbosity >= 1)
    assert ("(condition false)" in text) == (verbosity >= 1)
    assert ("$ chmod 0644 /etc/x" in text) == (verbosity >= 2)
    probe = "probe       27 facts in one script of 4096 bytes, 0.25s"
    assert (probe in text) == (verbosity >= 3)


def test_commands_at_vv_are_masked_and_escaped() -> None:
    out, stream = make(2)
    report = task(CHANGED, summary=["x"], commands=[f"echo {SECRET} \x1b[2J"])
    out.listener("task", ("host", report))
    text = stream.getvalue()
    assert SECRET not in text and "$ echo ******** \\x1b[2J" in text and "\x1b" not in text


def test_slow_task_shows_its_time() -> None:
    out, stream = make(0, plan=False)
    out.listener("task", ("host", task(CHANGED, name="slow", duration=42.25)))
    out.listener("task", ("host", task(CHANGED, name="fast", duration=0.5)))
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("slow  (42.2s)") and lines[1].endswith("fast")


# ---- the status column -------------------------------------------------------------------


def test_status_width_fits_every_word() -> None:
    words = ["ok", "changed", "failed", "skipped", "unreachable", "will change", "will check"]
    assert STATUS_WIDTH == max(len(w) for w in words) == 11


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("host", ["h", "a-long-host-name"])
def test_every_status_word_lines_up(colour: bool, host: str) -> None:
    out, stream = make(3, colour=colour)
    out.width = 0  # the play sets it: the longest host name
    out.play("play", [host, "other"])
    for status in EVERY_STATUS:
        report = TaskReport("NAME", None, "copy", status, summary=["SUMMARY"])
        out.listener("task", (host, report))
    out.listener("probe", (host, 3, 100, 0.1))
    out.listener("notice", (host, "NAME", "waiting for another dnf"))
    out.listener("progress", (host, "NAME", "dnf -y install x"))
    out.listener("progress-end", (host, "NAME", "dnf -y install x", 1.0, 0))
    for status in (UNREACHABLE, FAILED):
        out.host_error(HostReport(host, status=status, error="NAME first\nSUMMARY second"))
    text = re.sub(r"\x1b\[\d+m", "", stream.getvalue())
    lines = text.splitlines()[1:]
    heads = [line for line in lines if line.startswith(host)]
    assert len(heads) == len(EVERY_STATUS) + 6
    columns = {line.index("NAME") if "NAME" in line else line.index("3 facts") for line in heads}
    expected = max(len(host), len("other")) + 2 + STATUS_WIDTH + 1
    assert columns == {expected}
    under = [line for line in lines if "SUMMARY" in line and not line.startswith(host)]
    assert under and {line.index("SUMMARY") for line in under} == {expected}


def test_recap_columns_line_up_across_hosts() -> None:
    out, stream = make(0, plan=False)
    reports = [
        HostReport("a", [task(OK)] * 12 + [task(CHANGED)] * 3),
        HostReport("bb", [task(OK)], status=UNREACHABLE),
        HostReport("ccc", [task(SKIPPED)] * 10, status=FAILED),
    ]
    out.recap(reports, "apply", 1)
    rows = [line for line in stream.getvalue().splitlines() if "ok=" in line]
    assert len(rows) == 3
    for key in ("changed=", "failed=", "skipped=", "unreachable="):
        assert len({row.index(key) for row in rows}) == 1, (key, rows)


# ---- colour ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tty", "flag", "env", "wanted"),
    [
        (True, None, {}, True),
        (False, None, {}, False),
        (True, None, {"NO_COLOR": "1"}, False),
        (True, None, {"NO_COLOR": "0"}, False),  # any non-empty value
        (True, None, {"NO_COLOR": ""}, True),  # empty: not set
        (True, None, {"TERM": "dumb"}, False),
        (False, None, {"FORCE_COLOR": "1"}, True),
        (False, None, {"FORCE_COLOR": "0"}, False),
        (False, None, {"CLICOLOR_FORCE": "1"}, True),
        (False, None, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        (False, True, {"NO_COLOR": "1"}, True),  # the command line wins
        (True, False, {"FORCE_COLOR": "1"}, False),
        (True, False, {}, False),
        (False, True, {}, True),
    ],
)
def test_colour_choice(tty: bool, flag: bool | None, env: dict[str, str], wanted: bool) -> None:
    stream = Tty() if tty else io.StringIO()
    assert colour_wanted(stream, flag, env) is wanted


def test_live_needs_a_terminal_that_moves_its_cursor() -> None:
    assert live_wanted(Tty(), {}) and live_wanted(Tty(), {"NO_COLOR": "1"})
    assert not live_wanted(io.StringIO(), {}) and not live_wanted(Tty(), {"TERM": "dumb"})
    assert not live_wanted(object(), {})


# ---- blocks never interleave -------------------------------------------------------------


class SlowStream(io.StringIO):
    """Writes in two halves with a pause between: without the console's lock, another
    thread's text would land between them."""

    def write(self, text: str) -> int:
        half = len(text) // 2
        super().write(text[:half])
        time.sleep(0.001)
        super().write(text[half:])
        return len(text)


def test_two_hosts_writing_at_once_never_interleave_inside_a_block() -> None:
    out, stream = make(0, plan=False, stream=SlowStream())
    out.width = 5

    def host(name: str) -> None:
        for index in range(30):
            summary = [f"{name}-{index}-line{n}" for n in range(4)]
            out.listener("task", (name, task(CHANGED, name=f"{name}-{index}", summary=summary)))

    threads = [threading.Thread(target=host, args=(n,)) for n in ("alpha", "beta_")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 * 30 * 5
    for start in range(0, len(lines), 5):
        block = lines[start : start + 5]
        name, index = block[0].split()[-1].split("-")
        assert block[0].startswith(name)
        assert [b.strip() for b in block[1:]] == [f"{name}-{index}-line{n}" for n in range(4)]


# ---- long steps: live on a terminal, two lines in a log -----------------------------------


def test_log_gets_one_line_at_start_and_one_at_the_end_with_the_time() -> None:
    out, stream = make(0, plan=False)
    out.listener("progress", ("host", "packages", "dnf -y install docker-ce"))
    for n in range(50):
        out.listener("output", ("host", "packages", f"Installing: pkg{n}"))
    out.listener("notice", ("host", "packages", "waiting for another dnf (pid 7)"))
    out.listener("progress-end", ("host", "packages", "dnf -y install docker-ce", 42.04, 0))
    out.listener("progress", ("host", "restart", "systemctl restart docker"))
    out.listener("progress-end", ("host", "restart", "systemctl restart docker", 1.5, 1))
    out.listener("progress", ("host", "cut", "dnf -y update"))
    out.listener("progress-end", ("host", "cut", "dnf -y update", 3.0, None))
    assert stream.getvalue().splitlines() == [
        "host    started     packages: dnf -y install docker-ce",
        "host    note        packages: waiting for another dnf (pid 7)",
        "host    finished    packages: 42.0s",
        "host    started     restart: systemctl restart docker",
        "host    finished    restart: exit code 1 after 1.5s",
        "host    started     cut: dnf -y update",
        "host    finished    cut: stopped after 3.0s",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_terminal_shows_one_live_line_per_running_host_redrawn_in_place() -> None:
    clock = Clock()
    out, stream = make(0, plan=False, stream=Tty(), clock=clock)
    out.play("p", ["rocky1", "rocky2"])
    out.listener("progress", ("rocky1", "packages", "dnf -y install docker-ce"))
    clock.now += 1
    out.listener("progress", ("rocky2", "restart", "systemctl restart docker"))
    clock.now += 64
    out.listener("output", ("rocky1", "packages", "Installing : docker-ce 1/4"))
    assert screen(stream.getvalue()) == [
        "PLAY p (2 hosts: rocky1, rocky2)",
        "rocky1  running     packages  1:05  Installing : docker-ce 1/4",
        "rocky2  running     restart  1:04",
    ]
    # A task's block goes above the live lines, which are drawn again below it.
    out.listener("task", ("rocky2", task(CHANGED, name="restart", summary=["restart docker"])))
    clock.now += 1
    out.listener("progress-end", ("rocky2", "restart", "systemctl restart docker", 65.0, 0))
    clock.now += 1
    out.listener("output", ("rocky1", "packages", "progress 10%\rprogress 50%\r"))
    assert screen(stream.getvalue()) == [
        "PLAY p (2 hosts: rocky1, rocky2)",
        "rocky2  changed     role : restart",
        "                    restart docker",
        "rocky1  running     packages  1:07  progress 50%",
    ]
    out.listener("progress-end", ("rocky1", "packages", "dnf -y install docker-ce", 67.0, 0))
    out.listener("task", ("rocky1", task(CHANGED, name="packages", summary=["docker-ce"])))
    out.recap([HostReport("rocky1"), HostReport("rocky2")], "apply", 0)
    shown = screen(stream.getvalue())
    assert not [line for line in shown if "running" in line]
    assert shown[3:5] == ["rocky1  changed     role : packages", "                    docker-ce"]
    assert "started" not in stream.getvalue() and "finished" not in stream.getvalue()


def test_live_line_is_masked_escaped_and_cut_to_the_terminal_width() -> None:
    clock = Clock()
    out, stream = make(0, plan=False, stream=Tty(), clock=clock, columns=80)
    out.listener("progress", ("host", f"task {SECRET}", "dnf"))
    line = f"token {SECRET} \x1b[2J\u202e" + "x" * 200
    clock.now += 0.5
    out.listener("output", ("host", "t", line))
    live = screen(stream.getvalue())
    assert len(live) == 1 and len(live[0]) == 79
    assert SECRET not in stream.getvalue()
    assert "task ********  0s  token ******** \\x1b[2J\\u202e" in live[0]
    raw = re.sub(r"\x1b\[(\d*)[AJ]", "", stream.getvalue()).replace("\r", "")
    assert "\x1b" not in raw and "\u202e" not in raw


def test_live_output_redraws_at_most_ten_times_a_second() -> None:
    clock = Clock()
    out, stream = make(0, plan=False, stream=Tty(), clock=clock)
    out.listener("progress", ("host", "t", "dnf"))
    before = stream.getvalue().count("running")
    for n in range(100):
        out.listener("output", ("host", "t", f"line {n}"))
    assert stream.getvalue().count("running") == before  # same instant: no redraw
    clock.now += 0.2
    out.listener("output", ("host", "t", "line last"))
    assert screen(stream.getvalue())[-1].endswith("line last")


def test_live_clock_ticks_without_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_module, "TICK_SECONDS", 0.01)
    clock = Clock()
    out, stream = make(0, plan=False, stream=Tty(), clock=clock)
    out.listener("progress", ("host", "t", "dnf"))
    clock.now += 7
    deadline = time.monotonic() + 5
    while "7s" not in screen(stream.getvalue())[-1]:
        assert time.monotonic() < deadline, "the live line was not redrawn"
        time.sleep(0.01)
    out.listener("progress-end", ("host", "t", "dnf", 7.0, 0))
    deadline = time.monotonic() + 5
    while out._ticker is not None:
        assert time.monotonic() < deadline, "the ticker did not stop"
        time.sleep(0.01)
    assert screen(stream.getvalue()) == []


def test_output_of_a_host_without_a_live_step_is_ignored() -> None:
    out, stream = make(0, plan=False, stream=Tty())
    out.listener("output", ("host", "t", "stray"))
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("text", "columns", "fitted"),
    [
        ("abcdef", 4, "abcd"),
        ("abc", 10, "abc"),
        ("日本語テキスト", 5, "日本"),  # wide characters take two columns
        ("e\u0301e\u0301e\u0301", 2, "e\u0301e\u0301"),  # combining marks take none
        ("", 3, ""),
    ],
)
def test_fit(text: str, columns: int, fitted: str) -> None:
    assert fit(text, columns) == fitted


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (7.9, "7s"), (65, "1:05"), (3723, "1:02:03"), (-1, "0s")]
)
def test_elapsed(seconds: float, shown: str) -> None:
    assert elapsed(seconds) == shown


def test_a_diff_and_failure_output_under_a_failed_task() -> None:
    out, stream = make(0)
    report = task(
        FAILED,
        summary=["edit /etc/x"],
        diffs=[Diff("/etc/x", "a\n", "b\n")],
        message="`x` failed with exit code 2",
        output=["boom"],
    )
    out.listener("task", ("host", report))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "host    failed      role : a task"
    assert "                    +b" in lines and "                    | boom" in lines
