"""A loop over a registered read-only result (or host facts), expanded per host at plan time.

The hosts are fake connections that run each script with bash on this machine, in the
test's own folder, so the probe, the extra round for the items' facts and apply run for real
and the remote commands are counted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection

from provision.errors import InputError
from provision.execution import runner
from provision.execution.connection import Result
from provision.execution.reports import CHANGED, FAILED, OK, PENDING, SKIPPED
from provision.execution.runner import RunOptions, run_all
from provision.project.compile import compile_run
from provision.project.lateloop import MAX_ITEM_CHARS, as_written, check_items
from provision.project.yamlfile import UnsafeText


def write_project(root: Path, tasks: str) -> None:
    (root / "inv.yml").write_text("all:\n  hosts:\n    h1: {ansible_connection: local}\n")
    role = root / "roles" / "r" / "tasks"
    role.mkdir(parents=True, exist_ok=True)
    (role / "main.yml").write_text(tasks)
    (root / "play.yml").write_text("- hosts: all\n  roles: [r]\n")


@pytest.fixture
def hosts(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeConnection]:
    connections: dict[str, FakeConnection] = {}

    def respond(script: str, stdin: bytes | None) -> Result:
        proc = subprocess.run(["bash", "-c", script], input=stdin, capture_output=True)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def connect(config: object, options: object) -> FakeConnection:
        connections["h1"] = FakeConnection(respond)
        return connections["h1"]

    monkeypatch.setattr(runner, "connect", connect)
    return connections


def run(root: Path, tasks: str, apply: bool = False):  # noqa: ANN201 - a HostReport
    write_project(root, tasks)
    compiled = compile_run(root / "inv.yml", root / "play.yml")
    return run_all(compiled, RunOptions(apply=apply), lambda event, payload: None)[0]


def shown(report) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [(t.name, t.status, t.reason) for t in report.tasks]


def read(command: str, name: str = "out") -> str:
    return (
        f"- name: read\n  shell: |\n    {command}\n  register: {name}\n  changed_when: false\n"
        "  check_mode: false\n"
    )


# ------------------------------------------------------------------ forms, at plan time

FORMS = [
    (
        "loop over lines",
        read("printf 'a\\nb\\n'"),
        "  loop: '{{ out.stdout_lines }}'\n",
        ["a", "b"],
    ),
    ("with_items", read("printf 'a\\nb'"), "  with_items: '{{ out.stdout_lines }}'\n", ["a", "b"]),
    ("with_list", read("printf 'a\\nb'"), "  with_list: '{{ out.stdout_lines }}'\n", ["a", "b"]),
    (
        "a pure filter",
        read("printf 'a1\\nb2\\na3\\n'"),
        "  loop: \"{{ out.stdout_lines | select('match', '^a') | map('upper') | list }}\"\n",
        ["A1", "A3"],
    ),
    (
        "with_dict over json",
        read('echo \'{"x": 1, "y": 2}\''),
        "  with_dict: '{{ out.stdout | from_json }}'\n",
        ["{'key': 'x', 'value': 1}", "{'key': 'y', 'value': 2}"],
    ),
    (
        "split of stdout",
        read("printf 'p,q,r'"),
        "  loop: \"{{ out.stdout.split(',') }}\"\n",
        ["p", "q", "r"],
    ),
    ("empty output", read("true"), "  loop: '{{ out.stdout_lines }}'\n", []),
]


@pytest.mark.parametrize(("case", "reader", "loop", "items"), FORMS, ids=[f[0] for f in FORMS])
def test_loop_forms_expand_at_plan_in_one_command(
    tmp_path: Path, hosts: dict, case: str, reader: str, loop: str, items: list[str]
) -> None:
    text = reader + "- name: show\n  debug: {msg: '{{ item }}'}\n" + loop
    report = run(tmp_path, text)
    assert report.status == OK, report.error
    got = [r for n, s, r in shown(report) if n == "show" and s == OK]
    assert got == items
    if not items:
        assert [s for n, s, _ in shown(report) if n == "show"] == [SKIPPED]
    assert hosts["h1"].commands_run == 1


def test_loop_over_results_of_a_looped_read(tmp_path: Path, hosts: dict) -> None:
    text = (
        "- shell: 'echo {{ item }}-out'\n  loop: [a, b]\n  register: outs\n"
        "  changed_when: false\n"
        "- name: show\n  debug: {msg: '{{ item.item }}={{ item.stdout }}'}\n"
        "  loop: '{{ outs.results }}'\n  loop_control: {label: '{{ item.item }}'}\n"
    )
    report = run(tmp_path, text)
    assert [(n, r) for n, s, r in shown(report) if n.startswith("show")] == [
        ("show (a)", "a=a-out"),
        ("show (b)", "b=b-out"),
    ]
    assert hosts["h1"].commands_run == 1


def test_loop_over_a_stat_result(tmp_path: Path, hosts: dict) -> None:
    text = (
        f"- stat: {{path: {tmp_path}}}\n  register: st\n"
        "- name: show\n  debug: {msg: '{{ item }}'}\n"
        "  loop: '{{ [st.stat.isdir, st.stat.exists] }}'\n"
    )
    assert [r for n, _, r in shown(run(tmp_path, text)) if n == "show"] == ["True", "True"]


def test_loop_control_when_and_register(tmp_path: Path, hosts: dict) -> None:
    text = read("printf 'a\\nb\\nc\\n'") + (
        "- name: item\n  debug: {msg: '{{ i }}:{{ pkg }}'}\n"
        "  loop: '{{ out.stdout_lines }}'\n"
        "  loop_control: {loop_var: pkg, index_var: i, label: '<{{ pkg }}>'}\n"
        "  when: pkg != 'b' and out.rc == 0\n"
        "  register: r\n"
        "- name: after\n"
        "  debug: {msg: \"{{ r.results | map(attribute='pkg') | join(',') }}/"
        "{{ r.results | map(attribute='skipped', default=False) | list }}/{{ r.skipped }}\"}\n"
    )
    report = run(tmp_path, text)
    assert shown(report)[1:] == [
        ("item (<a>)", OK, "0:a"),
        ("item (<b>)", SKIPPED, "condition false on this host: pkg != 'b' and out.rc == 0"),
        ("item (<c>)", OK, "2:c"),
        ("after", OK, "a,b,c/[False, True, False]/False"),
    ]


def test_an_empty_loop_registers_skipped_results(tmp_path: Path, hosts: dict) -> None:
    text = read("true") + (
        "- name: each\n  debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n  register: r\n"
        "- name: after\n  debug: {msg: '{{ r.results | length }}/{{ r.skipped }}'}\n"
    )
    tasks = shown(run(tmp_path, text))
    assert tasks[1][:2] == ("each", SKIPPED) and "no items" in tasks[1][2]
    assert tasks[2] == ("after", OK, "0/True")


def test_items_notify_handlers_and_carry_tags(tmp_path: Path, hosts: dict) -> None:
    root = tmp_path / "d"
    text = read("printf 'x\\ny\\n'") + (
        f"- name: put\n  copy: {{content: '{{{{ item }}}}', dest: '{root}/{{{{ item }}}}'}}\n"
        "  loop: '{{ out.stdout_lines }}'\n  notify: done\n  tags: [files]\n"
    )
    write_project(tmp_path, text)
    handlers = tmp_path / "roles" / "r" / "handlers"
    handlers.mkdir()
    (handlers / "main.yml").write_text(
        f"- name: done\n  copy: {{content: h, dest: {tmp_path}/h}}\n"
    )
    compiled = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    report = run_all(compiled, RunOptions(apply=True), lambda e, p: None)[0]
    assert report.status == CHANGED, report.error
    assert (root / "x").read_text() == "x" and (root / "y").read_text() == "y"
    assert (tmp_path / "h").exists()
    again = run(tmp_path, text, apply=True)
    assert again.status == OK, again.error
    # the converged re-run: the probe, and one round for the files named by the items
    assert hosts["h1"].commands_run == 2


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize(
    ("task", "commands"),
    [
        # the items' facts do not depend on the item: read in the one probe
        ("lineinfile: {path: '@/f', line: '{{ item }}', create: true}", 1),
        ("debug: {msg: '{{ item }}'}", 1),
        # the file each item names: one more round, after the probe
        ("copy: {content: '{{ item }}', dest: '@/d-{{ item }}'}", 2),
    ],
)
def test_a_converged_re_run_counts_its_round_trips(
    tmp_path: Path, hosts: dict, task: str, commands: int
) -> None:
    text = read("printf 'a\\nb\\n'") + "- " + task.replace("@", str(tmp_path)) + "\n"
    text += "  loop: '{{ out.stdout_lines }}'\n"
    first = run(tmp_path, text, apply=True)
    assert first.status in (OK, CHANGED), first.error
    again = run(tmp_path, text, apply=True)
    assert again.status == OK, again.error
    assert hosts["h1"].commands_run == commands
    assert hosts["h1"].connections_opened == 1


def test_a_loop_read_after_a_change_is_expanded_at_apply(tmp_path: Path, hosts: dict) -> None:
    listing = tmp_path / "list"
    text = (
        f'- copy: {{content: "m\\nn\\n", dest: {listing}}}\n'
        + read(f"cat {listing}")
        + "- name: each\n"
        + f"  copy: {{content: '{{{{ item }}}}', dest: '{tmp_path}/o-{{{{ item }}}}'}}\n"
        "  loop: '{{ out.stdout_lines }}'\n"
    )
    plan = run(tmp_path, text)
    each = [t for t in plan.tasks if t.name == "each"]
    assert each[0].status == PENDING and "loop items known at apply" in each[0].summary[0]
    applied = run(tmp_path, text, apply=True)
    assert applied.status == CHANGED, applied.error
    assert (tmp_path / "o-m").read_text() == "m" and (tmp_path / "o-n").read_text() == "n"
    again = run(tmp_path, text)
    assert [t.status for t in again.tasks if t.name.startswith("each")] == [OK, OK]


# ------------------------------------------------------------------ refused at compile time

REFUSED = [
    (
        "a changing task's result",
        "- copy: {content: x, dest: /tmp/never-x}\n  register: w\n"
        "- debug: {msg: x}\n  loop: '{{ w.results }}'\n",
        "`w`, the result of a task that changes the host",
        4,
    ),
    (
        "a command not proved read-only",
        "- command: {cmd: 'touch /tmp/never-y', creates: /tmp/never-y}\n  register: c\n"
        "- debug: {msg: x}\n  loop: '{{ c.stdout_lines }}'\n",
        "changes the host",
        4,
    ),
    (
        "an include",
        read("echo a") + "- include_tasks: other.yml\n  loop: '{{ out.stdout_lines }}'\n",
        "the loop of an include or a handler",
        8,
    ),
    (
        "delegated to localhost",
        read("echo a") + "- command: cat {{ item }}\n  register: x\n  changed_when: false\n"
        "  delegate_to: localhost\n  loop: '{{ out.stdout_lines }}'\n",
        "delegated to localhost",
        11,
    ),
    (
        "a lookup",
        read("echo a") + "- debug: {msg: \"{{ lookup('env', item) }}\"}\n"
        "  loop: '{{ out.stdout_lines }}'\n",
        "a lookup in a task",
        8,
    ),
    (
        "a templated src",
        read("echo a") + "- copy: {src: '{{ item }}', dest: /tmp/never-z}\n"
        "  loop: '{{ out.stdout_lines }}'\n",
        "templated `src`",
        8,
    ),
]


@pytest.mark.parametrize(("case", "tasks", "words", "line"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_at_compile_time_with_file_and_line(
    tmp_path: Path, case: str, tasks: str, words: str, line: int
) -> None:
    write_project(tmp_path, tasks)
    with pytest.raises(InputError) as caught:
        compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    assert words in str(caught.value)
    assert f"main.yml:{line}" in str(caught.value)


# ------------------------------------------------------------------ the host's text as items

ACCEPTED = [
    ("quotes", "a'b\"c"),
    ("command substitution", "$(touch PWN)"),
    ("backticks", "`touch PWN`"),
    ("separator", "x; touch PWN"),
    ("template text", "{{ lookup('pipe', 'touch PWN') }}"),
    ("template arithmetic", "{{ 7 * 6 }}"),
    ("template statement", "{% for x in range(3) %}q{% endfor %}"),
    ("glob", "*"),
    ("spaces", "  two  words "),
    ("tab", "a\tb"),
    ("unicode", "é—✓"),
    ("dots", "a..b"),
]
BREAKS = ["\n", "\r", "\v", "\f", "\x1c", "\x85", "\u2028", "\u2029"]
REFUSED_ITEMS = [
    *[(f"break {b!r}", f"a{b}b", "control character") for b in BREAKS],
    ("escape", "a\x1b[2Jb", "control character"),
    ("bell", "a\x07b", "control character"),
    ("del", "a\x7fb", "control character"),
    ("leading dash", "-rf", "starts with `-`"),
    ("long option", "--no-preserve-root", "starts with `-`"),
    ("parent", "../../etc/passwd", "`..` path component"),
    ("parent inside", "a/../../b", "`..` path component"),
    ("bare parent", "..", "`..` path component"),
    ("huge", "x" * (MAX_ITEM_CHARS + 1), "characters long"),
]


def attack_tasks(root: Path, value: str) -> str:
    source = root / "items.txt"
    source.write_bytes(value.encode("utf-8"))
    return read(f"cat {source}") + (
        "- name: line\n"
        f"  lineinfile: {{path: {root}/lines, line: '{{{{ item }}}}', create: true}}\n"
        "  loop: '{{ [out.stdout] }}'\n"
        f"- name: file\n  copy: {{content: '{{{{ item }}}}', dest: '{root}/out/{{{{ item }}}}'}}\n"
        "  loop: '{{ [out.stdout] }}'\n"
        "- name: word\n  command:\n"
        f"    argv: [sh, -c, 'printf %s \"$1\" > {root}/word', sh, '{{{{ item }}}}']\n"
        f"    creates: {root}/word\n"
        "  loop: '{{ [out.stdout] }}'\n"
        "- name: show\n  debug: {msg: '[{{ item }}]'}\n"
        "  loop: '{{ [out.stdout] }}'\n"
    )


@pytest.mark.parametrize(("case", "value"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_odd_host_text_is_used_as_written(
    tmp_path: Path, hosts: dict, monkeypatch: pytest.MonkeyPatch, case: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    report = run(tmp_path, attack_tasks(tmp_path, value), apply=True)
    assert report.status == CHANGED, report.error
    assert not (tmp_path / "PWN").exists()
    assert (tmp_path / "lines").read_text() == value.rstrip("\r\n") + "\n"
    assert (tmp_path / "out" / value).read_text() == value
    assert (tmp_path / "word").read_text() == value
    assert [t.reason for t in report.tasks if t.name == "show"] == [f"[{value}]"]


@pytest.mark.parametrize(("case", "value", "why"), REFUSED_ITEMS, ids=[r[0] for r in REFUSED_ITEMS])
def test_dangerous_host_text_fails_the_host_before_any_change(
    tmp_path: Path, hosts: dict, case: str, value: str, why: str
) -> None:
    (tmp_path / "out").mkdir()
    report = run(tmp_path, attack_tasks(tmp_path, value), apply=True)
    assert report.status == FAILED
    assert why in report.error and "main.yml:" in report.error
    assert "from the host" in report.error
    assert "\x1b" not in report.error and "\u2028" not in report.error
    assert not (tmp_path / "lines").exists() and not (tmp_path / "word").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_nul_in_the_host_output_is_refused(tmp_path: Path, hosts: dict) -> None:
    text = read("printf 'a\\000b'") + "- debug: {msg: x}\n  loop: '{{ [out.stdout] }}'\n"
    report = run(tmp_path, text)
    assert report.status == FAILED and "control character" in report.error


def test_too_many_items(tmp_path: Path, hosts: dict) -> None:
    text = read("seq 1 10001") + "- debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n"
    report = run(tmp_path, text)
    assert report.status == FAILED and "at most 10000" in report.error


# ------------------------------------------------------------------ the checks themselves


@pytest.mark.parametrize(
    ("items", "ok"),
    [
        (["a", "b c"], True),
        ([{"item": "a", "stdout": "line1\nline2", "rc": 0}], True),  # outputs: whole texts
        ([{"item": "a", "stderr_lines": ["\x1b[31mwarn"], "cmd": ["-x"]}], True),
        ([{"item": "-x", "stdout": ""}], False),  # any other text is checked
        ([{"stdout_lines": ["a", "../b"]}], False),
        ([["a", "b\n"]], False),
        ([{"k\x1b": "v"}], False),  # keys too
        ([1, None, True, 2.5], True),
    ],
)
def test_check_items(items: list, ok: bool) -> None:
    from provision.errors import Location

    if ok:
        checked = check_items(items, "`x`", Location("f.yml", 3))
        assert checked == items
    else:
        with pytest.raises(InputError) as caught:
            check_items(items, "`x`", Location("f.yml", 3))
        assert "f.yml:3" in str(caught.value)


def test_as_written_marks_every_text() -> None:
    value = as_written({"a": ["{{ x }}", {"b": "{% y %}"}], "n": 1})
    assert isinstance(value["a"][0], UnsafeText)
    assert isinstance(value["a"][1]["b"], UnsafeText)
    assert all(isinstance(k, UnsafeText) for k in value)
    assert value["n"] == 1


@pytest.mark.parametrize(("tags", "expanded"), [(["files"], True), (["other"], False)])
def test_tags_select_the_loop_before_it_is_expanded(
    tmp_path: Path, tags: list[str], expanded: bool
) -> None:
    from provision.project.compile import Selection

    text = read("echo a") + "- debug: {msg: x}\n  loop: '{{ out.stdout_lines }}'\n  tags: [files]\n"
    write_project(tmp_path, text)
    result = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml", None, Selection(tags=tags))
    task = result.plays[0][1][0].tasks[-1]
    assert (task.late_loop is not None) == expanded
    assert task.tags == ["files"]
    if not expanded:
        assert task.task is None and "tags" in task.skip_reason


def test_a_set_fact_over_a_read_is_a_loop_list(tmp_path: Path, hosts: dict) -> None:
    text = read("printf 'a.conf\\nb.txt\\nc.conf\\n'") + (
        "- set_fact: {confs: \"{{ out.stdout_lines | select('search', 'conf$') | list }}\"}\n"
        "- name: each\n  debug: {msg: '{{ item }}'}\n  loop: '{{ confs }}'\n"
    )
    report = run(tmp_path, text)
    assert [t.reason for t in report.tasks if t.name == "each"] == ["a.conf", "c.conf"]
    assert hosts["h1"].commands_run == 1


def test_a_set_fact_over_a_changing_result_is_refused(tmp_path: Path) -> None:
    text = (
        "- copy: {content: x, dest: /tmp/never-w}\n  register: w\n"
        "- set_fact: {names: '{{ w.results }}'}\n"
        "- debug: {msg: x}\n  loop: '{{ names }}'\n"
    )
    write_project(tmp_path, text)
    with pytest.raises(InputError) as caught:
        compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    assert "`names`, the result of a task that changes the host" in str(caught.value)


def test_a_loop_over_host_facts(tmp_path: Path, hosts: dict) -> None:
    text = (
        "- name: root\n  debug: {msg: '{{ item }}'}\n"
        "  loop: \"{{ ansible_mounts | map(attribute='mount')"
        " | select('equalto', '/') | list }}\"\n"
    )
    report = run(tmp_path, text)
    assert report.status == OK, report.error
    assert [t.reason for t in report.tasks] == ["/"]
    assert hosts["h1"].commands_run == 1


def test_a_loop_skipped_before_the_run_is_not_expanded(tmp_path: Path, hosts: dict) -> None:
    """--start-at-task / --step skip tasks after compile: a late loop so skipped stays so."""
    from provision.cli_ansible import _skip

    text = read("printf 'a\\nb\\n'") + "- name: each\n  debug: {msg: '{{ item }}'}\n"
    text += "  loop: '{{ out.stdout_lines }}'\n  register: r\n"
    text += "- name: after\n  debug: {msg: '{{ r.skipped }}'}\n"
    write_project(tmp_path, text)
    compiled = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    _skip(compiled.plays[0][1][0].tasks[1], "declined at --step")
    report = run_all(compiled, RunOptions(), lambda e, p: None)[0]
    assert shown(report)[1:] == [
        ("each", SKIPPED, "declined at --step"),
        ("after", OK, "True"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "n {{ item | int + 1 }}",
        "n {{ item.startswith('a') }}",
        "n {{ item.split(',')[0] | upper }}",
        "n {{ item.stat.path | basename }}",
    ],
)
def test_names_and_labels_over_the_item_compile_before_it_is_known(
    tmp_path: Path, hosts: dict, name: str
) -> None:
    text = read("printf '1\\n2\\n'") + f"- name: {name!r}\n  debug: {{msg: x}}\n"
    text += "  loop: '{{ out.stdout_lines }}'\n  loop_control: {label: '{{ item | int * 2 }}'}\n"
    write_project(tmp_path, text)
    compiled = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    assert compiled.plays[0][1][0].tasks[1].late_loop is not None
