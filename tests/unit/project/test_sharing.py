"""Values tasks set, read later in the run (project/sharing.py): by the same host in a
later play, by another host through `hostvars`, by every host from a `run_once` task.

The hosts are fake connections that run each script with bash here (the probe and the
registered read-only commands run for real); each host's read-only command prints the
file named after the host in a folder of the test, so each host has its own answer.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection

from provision.execution import runner
from provision.execution.connection import Result
from provision.execution.reports import CHANGED, FAILED, OK, PENDING, SKIPPED
from provision.execution.runner import RunOptions, run_all
from provision.project import compile as compile_module
from provision.project import sharing
from provision.project.compile import Selection, compile_run

HOSTS = ("h1", "h2", "h3")
READ = (
    "- name: read\n  command: cat {{ dir }}/{{ inventory_hostname }}\n  register: out\n"
    "  changed_when: false\n"
)


@pytest.fixture
def hosts(monkeypatch):
    """Fake connections that run each script with bash here, counting remote commands."""
    connections: dict[str, FakeConnection] = {}

    def respond(script: str, stdin: bytes | None) -> Result:
        proc = subprocess.run(["bash", "-c", script], input=stdin, capture_output=True)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def connect(config, options):
        connections[config.name] = FakeConnection(respond)
        return connections[config.name]

    monkeypatch.setattr(runner, "connect", connect)
    return connections


def project(root: Path, plays: str, answers: dict[str, bytes] | None = None) -> Path:
    data = root / "answers"
    data.mkdir(exist_ok=True)
    for host in HOSTS:
        value = (answers or {}).get(host, f"token-{host}".encode())
        (data / host).write_bytes(value)
    (root / "inv.yml").write_text(
        "all:\n  vars:\n    dir: "
        + str(data)
        + "\n  hosts:\n"
        + "".join(f"    {h}: {{ansible_connection: local}}\n" for h in HOSTS)
        + "  children:\n    db:\n      hosts:\n        h3:\n"
    )
    (root / "site.yml").write_text(plays)
    return root


def run(root: Path, apply: bool = False, limit: str | None = None, forks: int = 10):
    compiled = compile_run(root / "inv.yml", root / "site.yml", {}, Selection(limit=limit))
    options = RunOptions(apply=apply)
    options.forks = forks
    return {r.name: r for r in run_all(compiled, options, lambda e, p: None)}


def shown(report, name: str) -> list[tuple[str, str]]:
    """(status, reason or message) of every task called `name`, in order."""
    return [(t.status, t.reason or t.message) for t in report.tasks if t.name == name]


# ------------------------------------------------------------------ known at plan time


def _play(hosts: str, tasks: str, extra: str = "") -> str:
    body = "".join("    " + line + "\n" for line in tasks.splitlines())
    return f"- hosts: {hosts}\n{extra}  tasks:\n{body}"


CHANGE = (
    "- name: change\n  command: {cmd: 'touch {{ dir }}/../made', creates: '{{ dir }}/../made'}\n"
)
SHOW = '- name: show\n  debug: {{msg: "{}"}}\n'

CASES = {
    "same host, later play: register": (
        _play("all", READ) + _play("all", SHOW.format("{{ out.stdout }}")),
        {h: [(OK, f"token-{h}")] for h in HOSTS},
    ),
    "same host, later play: set_fact over a read": (
        _play("all", READ + "- set_fact: {mine: 'got {{ out.stdout }}'}\n")
        + _play("all", SHOW.format("{{ mine }}")),
        {h: [(OK, f"got token-{h}")] for h in HOSTS},
    ),
    "same host, later play: static set_fact": (
        _play("all", "- set_fact: {colour: blue}\n") + _play("h2", SHOW.format("{{ colour }}")),
        {"h2": [(OK, "blue")]},
    ),
    "same host, two plays later, skipped in between": (
        _play("all", READ)
        + _play("h1", "- debug: {msg: x}\n")
        + _play("all", SHOW.format("{{ out.rc }} {{ out.stdout_lines }}")),
        {h: [(OK, f"0 ['token-{h}']")] for h in HOSTS},
    ),
    "later play overrides the earlier value": (
        _play("all", READ)
        + _play("all", "- set_fact: {out: {stdout: again}}\n" + SHOW.format("{{ out.stdout }}")),
        {h: [(OK, "again")] for h in HOSTS},
    ),
    "hostvars, same play": (
        _play("all", READ + SHOW.format("{{ hostvars['h1'].out.stdout }}")),
        {h: [(OK, "token-h1")] for h in HOSTS},
    ),
    "hostvars by group, set_fact": (
        _play("all", READ + "- set_fact: {token: 'db {{ out.stdout }}'}\n")
        + _play("all", SHOW.format("{{ hostvars[groups['db'][0]].token }}")),
        {h: [(OK, "db token-h3")] for h in HOSTS},
    ),
    "hostvars by group, same play, with its own value": (
        _play(
            "all",
            READ + SHOW.format("{{ out.stdout }} and {{ hostvars[groups.db[0]]['out'].stdout }}"),
        ),
        {h: [(OK, f"token-{h} and token-h3")] for h in HOSTS},
    ),
    "hostvars of a host of an earlier play only": (
        _play("db", READ + "- set_fact: {token: '{{ out.stdout | upper }}'}\n")
        + _play("h1:h2", SHOW.format("{{ hostvars['h3'].token }}")),
        {"h1": [(OK, "TOKEN-H3")], "h2": [(OK, "TOKEN-H3")]},
    ),
    "hostvars of its own host": (
        _play("all", READ + SHOW.format("{{ hostvars[inventory_hostname].out.stdout }}")),
        {h: [(OK, f"token-{h}")] for h in HOSTS},
    ),
    "hostvars: a name set after the reading task is undefined there": (
        _play(
            "all",
            SHOW.format("{{ hostvars['h1'].late | default('not yet') }}")
            + "- set_fact: {late: now}\n"
            + SHOW.format("{{ hostvars['h1'].late }}"),
        ),
        {h: [(OK, "not yet"), (OK, "now")] for h in HOSTS},
    ),
    "hostvars: the value as the other host's walk reaches the task": (
        _play(
            "all",
            "- set_fact: {v: one}\n"
            + SHOW.format("{{ hostvars['h1'].v }}")
            + "- set_fact: {v: two}\n"
            + SHOW.format("{{ hostvars['h1'].v }}"),
        ),
        {h: [(OK, "one"), (OK, "two")] for h in HOSTS},
    ),
    "hostvars: a name never set is undefined (default)": (
        _play("all", READ + SHOW.format("{{ hostvars['h2'].nothing | default('none') }}")),
        {h: [(OK, "none")] for h in HOSTS},
    ),
    "hostvars: is defined": (
        _play(
            "all",
            READ
            + "- name: show\n  debug: {msg: 'yes'}\n  when: hostvars['h2'].out is defined\n"
            + "- name: show\n  debug: {msg: no}\n  when: hostvars['h2'].zzz is defined\n",
        ),
        {h: [(OK, "yes"), (SKIPPED, "")] for h in HOSTS},
    ),
    "hostvars in when: decides per host": (
        _play(
            "all",
            READ
            + "- name: show\n  debug: {msg: same}\n"
            + "  when: hostvars['h2'].out.stdout == out.stdout\n",
        ),
        {"h1": [(SKIPPED, "")], "h2": [(OK, "same")], "h3": [(SKIPPED, "")]},
    ),
    "hostvars: inventory variables as before": (
        _play("all", SHOW.format("{{ hostvars['h2'].ansible_connection }}")),
        {h: [(OK, "local")] for h in HOSTS},
    ),
    "run_once register": (
        _play("all", READ.replace("changed_when", "run_once: true\n  changed_when"))
        + _play("all", SHOW.format("{{ out.stdout }}")),
        {h: [(OK, "token-h1")] for h in HOSTS},
    ),
    "run_once set_fact": (
        _play(
            "all",
            READ
            + "- set_fact: {leader: '{{ inventory_hostname }} {{ out.stdout }}'}\n"
            + "  run_once: true\n"
            + SHOW.format("{{ leader }}"),
        ),
        {h: [(OK, "h1 token-h1")] for h in HOSTS},
    ),
    "run_once: the when of the first host decides": (
        _play(
            "all",
            "- name: once\n  command: cat {{ dir }}/h1\n  register: o\n  changed_when: false\n"
            "  run_once: true\n  when: inventory_hostname == 'h2'\n"
            + SHOW.format("{{ o.skipped | default(false) }}"),
        ),
        {h: [(OK, "True")] for h in HOSTS},
    ),
    "run_once: a failing read fails every host": (
        _play(
            "all",
            "- name: once\n  command: cat /nonexistent/x\n  register: o\n  changed_when: false\n"
            "  run_once: true\n  ignore_errors: true\n" + SHOW.format("{{ o.rc }}"),
        ),
        {h: [(OK, "1")] for h in HOSTS},
    ),
}


@pytest.mark.parametrize(("plays", "expected"), CASES.values(), ids=CASES.keys())
def test_a_value_known_at_plan_time_is_shared(tmp_path, hosts, plays, expected) -> None:
    reports = run(project(tmp_path, plays))
    for host, want in expected.items():
        report = reports[host]
        assert report.status in (OK, CHANGED, PENDING), (host, report.error)
        got = [(s, r if s != SKIPPED else "") for s, r in shown(report, "show")]
        assert got == want, host


def test_a_converged_run_stays_one_command_per_host_and_play(tmp_path, hosts) -> None:
    plays = _play(
        "all", READ.replace("changed_when", "run_once: true\n  changed_when") + READ
    ) + _play("all", SHOW.format("{{ hostvars['h3'].out.stdout }}"))
    reports = run(project(tmp_path, plays))
    for name in HOSTS:
        assert reports[name].status == OK, reports[name].error
        assert hosts[name].connections_opened == 1
        # play 1: its one probe; play 2 reads nothing from the host: no command at all
        assert hosts[name].commands_run == 1, name


def test_apply_gives_the_same_values_as_plan(tmp_path, hosts) -> None:
    plays = _play("all", READ + "- set_fact: {t: '{{ out.stdout }}'}\n  run_once: true\n") + _play(
        "all",
        "- name: write\n  copy:\n    dest: '{{ dir }}/../{{ inventory_hostname }}.txt'\n"
        "    content: \"{{ t }} {{ hostvars['h3'].out.stdout }}\\n\"\n",
    )
    root = project(tmp_path, plays)
    planned = run(root)
    assert all(shown(r, "write") == [(PENDING, "")] for r in planned.values())
    applied = run(root, apply=True)
    assert all(r.status == CHANGED for r in applied.values()), [r.error for r in applied.values()]
    for name in HOSTS:
        assert (tmp_path / f"{name}.txt").read_text() == "token-h1 token-h3\n"
    again = run(root)
    assert all(r.status == OK for r in again.values())


@pytest.mark.parametrize("forks", [1, 2])
def test_a_reader_before_the_host_it_reads_does_not_wait_forever(tmp_path, hosts, forks) -> None:
    """h1 and h2 read h3's value: h3 starts first whatever --forks is."""
    root = project(tmp_path, _play("all", READ + SHOW.format("{{ hostvars['h3'].out.stdout }}")))
    compiled = compile_run(root / "inv.yml", root / "site.yml")
    options = RunOptions()
    options.forks = forks
    done: list[list] = []
    worker = threading.Thread(
        target=lambda: done.append(run_all(compiled, options, lambda e, p: None)), daemon=True
    )
    worker.start()
    worker.join(60)
    options.stop.set()  # a waiting host gives up (so a failing test cannot hang the suite)
    assert done, "the run did not end"
    for report in done[0]:
        assert shown(report, "show") == [(OK, "token-h3")]


# ------------------------------------------------------------------ refused, never guessed

REFUSED = {
    "another host's value known only at apply": (
        _play(
            "all",
            CHANGE + "  register: made\n" + SHOW.format("{{ hostvars['h1'].made.rc }}"),
        ),
        None,
        ("h2", "h3"),
        ["`made` of h1 is known only when apply runs the task that sets it", "site.yml:3"],
    ),
    "run_once over a change": (
        _play(
            "all",
            CHANGE + "  register: made\n  run_once: true\n",
        ),
        None,
        ("h2", "h3"),
        ["`made` of h1 is known only when apply runs", "site.yml:3"],
    ),
    "another batch of the play (serial)": (
        _play("all", READ + SHOW.format("{{ hostvars['h1'].out.stdout }}"), "  serial: 1\n"),
        None,
        ("h2",),  # h2 failing alone, its batch stops the run (h3: not started)
        ["h1 runs in another batch of this play (`serial`)", "site.yml:8"],
    ),
    "run_once under serial": (
        _play(
            "all", READ.replace("changed_when", "run_once: true\n  changed_when"), "  serial: 2\n"
        ),
        None,
        ("h3",),
        ["first host h1 runs in another batch", "site.yml:4"],
    ),
    "a host left out by --limit": (
        _play("all", READ + SHOW.format("{{ hostvars['h3'].out.stdout }}")),
        "h1:h2",
        ("h1", "h2"),
        ["h3 has not run in this run", "--limit"],
    ),
    "two hosts reading each other": (
        _play(
            "h1:h2",
            READ
            + SHOW.format(
                "{{ hostvars['h2' if inventory_hostname == 'h1' else 'h1'].out.stdout }}"
            ),
        ),
        None,
        ("h1", "h2"),
        ["read each other's values in the same play"],
    ),
}


@pytest.mark.parametrize(
    ("plays", "limit", "refused", "words"), REFUSED.values(), ids=REFUSED.keys()
)
def test_a_value_not_known_at_plan_time_is_refused(
    tmp_path, hosts, plays, limit, refused, words
) -> None:
    reports = run(project(tmp_path, plays), limit=limit)
    for host in refused:
        report = reports[host]
        assert report.status == FAILED, host
        text = report.error + " ".join(t.message for t in report.tasks)
        for word in words:
            assert word in text, (host, text)
        assert "Traceback" not in text and "internal error" not in text


def test_nothing_is_refused_on_the_host_that_sets_the_value(tmp_path, hosts) -> None:
    plays = _play(
        "all",
        CHANGE + "  register: made\n  run_once: true\n",
    )
    reports = run(project(tmp_path, plays))
    assert reports["h1"].status == OK and shown(reports["h1"], "change") == [(PENDING, "")]


def test_the_key_prefix_is_compiles() -> None:
    assert sharing.REG == compile_module.REG


def test_a_second_run_of_the_same_compile_starts_from_nothing(tmp_path, hosts) -> None:
    root = project(tmp_path, _play("all", READ) + _play("all", SHOW.format("{{ out.stdout }}")))
    compiled = compile_run(root / "inv.yml", root / "site.yml")
    for _ in range(2):
        reports = run_all(compiled, RunOptions(), lambda e, p: None)
        assert [shown(r, "show") for r in reports] == [[(OK, f"token-{h}")] for h in HOSTS]


# ------------------------------------------------------------------ hostile values, by class

# What another host prints is attacker-controlled: each class of hostile text, read on h1
# and used by every host (h1 its own value, h2 and h3 through hostvars and run_once).
HOSTILE = {
    "single quote": "a'b",
    "double quote": 'a"b',
    "line feed": "a\nb",
    "carriage return": "a\rb",
    "vertical tab": "a\vb",
    "form feed": "a\fb",
    "next line U+0085": "a\x85b",
    "line separator U+2028": "a\u2028b",
    "paragraph separator U+2029": "a\u2029b",
    "escape": "a\x1bb",
    "delete": "a\x7fb",
    "bell": "a\x07b",
    "leading dash": "-rf",
    "long option": "--force",
    "parent dirs": "../../etc/shadow",
    "substitution": "$(touch /tmp/pwned)",
    "backticks": "`id`",
    "semicolon": "a; rm -rf /",
    "jinja": "{{ 7 * 7 }}",
    "huge": "x" * 60000,
}
BREAKS = {"line feed", "carriage return", "vertical tab", "form feed"}
BREAKS |= {"next line U+0085", "line separator U+2028", "paragraph separator U+2029"}
CONTROLS = {"escape", "delete", "bell"}
SINKS = {
    "command": "command: {cmd: 'echo {{ v }}', creates: /nonexistent/x}",
    "lineinfile": "lineinfile: {path: '{{ dir }}/../f', line: '{{ v }}', create: true}",
    "lineinfile, straight from hostvars": (
        "lineinfile: {path: '{{ dir }}/../f', line: \"{{ hostvars['h1'].out.stdout }}\"}"
    ),
    "lineinfile, from run_once": "lineinfile: {path: '{{ dir }}/../f', line: '{{ w }}'}",
    "user": "user: {name: '{{ v }}'}",
    "group": "group: {name: '{{ v }}'}",
    "package": "package: {name: '{{ v }}'}",
    "sysctl": "sysctl: {name: net.ipv4.ip_forward, value: '{{ v }}'}",
    "service": "service: {name: '{{ v }}', state: started}",
}
HOSTILE_PLAY = _play(
    "all",
    READ
    + "- set_fact: {v: \"{{ hostvars['h1'].out.stdout }}\"}\n"
    + "- set_fact: {w: '{{ out.stdout }}'}\n  run_once: true\n"
    + "".join(f"- name: {name}\n  {task}\n  ignore_errors: true\n" for name, task in SINKS.items()),
)


def _outcomes(report) -> dict[str, tuple]:
    """Each sink's (status, reason, message, commands) (the run_once copy says so)."""
    return {t.name: (t.status, t.reason, t.message, t.commands) for t in report.tasks[3:]}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_another_hosts_value_meets_the_guards_of_any_value(tmp_path, hosts, value) -> None:
    """The value h1 reads lands in every sink on every host: the outcome is the one h1 has
    with its own value (the same guards), and each class is refused where it must be."""
    cls = next(k for k, v in HOSTILE.items() if v == value)
    reports = run(project(tmp_path, HOSTILE_PLAY, {"h1": value.encode()}))
    own = _outcomes(reports["h1"])
    assert [status for status, _ in shown(reports["h1"], "read")] == [OK]
    assert set(_outcomes(reports["h1"])) == set(SINKS)
    for host in ("h2", "h3"):
        assert reports[host].status in (OK, PENDING), reports[host].error
        assert _outcomes(reports[host]) == own, host
    for host in HOSTS:
        out = _outcomes(reports[host])
        refused = {name for name, o in out.items() if o[1].startswith("failure ignored")}
        if cls in BREAKS:
            assert {"lineinfile", "lineinfile, straight from hostvars", "sysctl"} <= refused
            assert "lineinfile, from run_once" in refused
        if cls in CONTROLS:
            assert {"lineinfile", "sysctl", "user", "package"} <= refused
        if cls not in ("huge",):
            assert {"user", "group", "package", "service"} <= refused, (cls, out["user"])
        command = out["command"]
        if command[0] == PENDING:  # planned: the value is one quoted word
            assert command[3] == [f"echo {shlex.quote(value)}"]
        else:
            assert command[1].startswith("failure ignored"), command
        for _status, reason, message, _commands in out.values():
            assert "Traceback" not in reason + message and "internal error" not in reason
    assert not Path("/tmp/pwned").exists()


def test_an_answer_over_the_limit_fails_its_host_and_is_refused_to_the_others(
    tmp_path, hosts
) -> None:
    plays = _play("all", READ + SHOW.format("{{ hostvars['h1'].out.stdout | length }}"))
    reports = run(project(tmp_path, plays, {"h1": b"x" * (65 * 1024)}))
    assert "printed more than" in reports["h1"].error
    for host in ("h2", "h3"):
        assert reports[host].status == FAILED
        assert "h1 has no plan that reaches this task" in reports[host].error


def test_a_read_not_found_before_the_run_is_refused_at_plan(tmp_path, hosts) -> None:
    """`when:` reading a host fact first: the hostvars read behind it is not found before
    the run, and is refused at plan with what to write (never left for apply to fail)."""
    plays = _play(
        "all",
        READ
        + "- name: show\n  debug: {msg: x}\n"
        + "  when: ansible_facts.os_family is defined and hostvars['h1'].out.rc == 0\n",
    )
    reports = run(project(tmp_path, plays))
    for host in ("h2", "h3"):
        report = reports[host]
        assert report.status == FAILED, host
        assert "another host's value read where this tool does not find it" in report.error
        assert "hostvars['h1'].out" in report.error and "set_fact" in report.error


def test_a_handler_reads_another_hosts_value(tmp_path, hosts) -> None:
    plays = (
        "- hosts: all\n  tasks:\n"
        + "".join("    " + line + "\n" for line in READ.splitlines())
        + "    - name: change\n"
        + "      copy: {dest: '{{ dir }}/../{{ inventory_hostname }}.c', content: x}\n"
        + "      notify: tell\n"
        + "  handlers:\n    - name: tell\n"
        + "      debug: {msg: \"{{ hostvars['h2'].out.stdout }}\"}\n"
    )
    reports = run(project(tmp_path, plays))
    for host in HOSTS:
        assert shown(reports[host], "tell") == [(OK, "token-h2")], host


def test_what_a_host_read_from_another_is_not_carried_to_its_next_play(tmp_path, hosts) -> None:
    """Play 2 reads h1's value behind a host fact (not found before the run): refused,
    not answered with what play 1 read."""
    plays = _play("all", READ + SHOW.format("{{ hostvars['h1'].out.stdout }}")) + _play(
        "all",
        "- name: again\n  debug: {msg: x}\n"
        "  when: ansible_facts.os_family is defined and hostvars['h1'].out.rc == 0\n",
    )
    reports = run(project(tmp_path, plays))
    for host in ("h2", "h3"):
        assert shown(reports[host], "show") == [(OK, "token-h1")]
        assert "not find it before the run" in reports[host].error


def test_an_earlier_plays_value_known_at_apply_is_decided_at_apply(tmp_path, hosts) -> None:
    """h1 registers a change in play 1; h2 reads it in play 2: `plan` says it is decided at
    apply (never a guess), and apply, which has run play 1 first, reads it."""
    plays = _play("h1", CHANGE + "  register: made\n") + _play(
        "h2",
        "- name: write\n  copy:\n    dest: '{{ dir }}/../h2.txt'\n"
        "    content: \"{{ hostvars['h1'].made.changed }} {{ hostvars['h1'].made.rc }}\"\n",
    )
    root = project(tmp_path, plays)
    planned = run(root)
    ((status, reason),) = shown(planned["h2"], "write")
    assert status == PENDING and planned["h2"].status == OK
    applied = run(root, apply=True)
    assert applied["h2"].status == CHANGED, applied["h2"].error
    assert (tmp_path / "h2.txt").read_text() == "True 0"
