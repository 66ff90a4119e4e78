"""`when:`, arguments and templates over host facts: compile defers them, the planner
decides them per host, the probe reads only the groups named (and counts a second round).

The hosts are fake connections that run each script with bash on this machine; the host
fact groups read per-host files instead of the real ones, so each host has its own OS.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.unit.execution.fakes import FakeConnection

from provision.errors import InputError
from provision.execution import runner
from provision.execution.connection import Result
from provision.execution.reports import PENDING, SKIPPED
from provision.execution.runner import RunOptions, run_all
from provision.facts.host import GROUP_FACTS, HardwareFact, HardwareInfo, OsFact, OsInfo
from provision.planning.planner import bind_facts, fact_groups_needed
from provision.project.compile import compile_run

ROCKY = 'ID="rocky"\nNAME="Rocky Linux"\nVERSION_ID="{v}"\nID_LIKE="rhel centos fedora"\n'
RHEL = 'ID="rhel"\nNAME="Red Hat Enterprise Linux"\nVERSION_ID="{v}"\nID_LIKE="fedora"\n'


def write_project(tmp_path: Path, tasks: str, hosts: tuple[str, ...] = ("h1", "h2")) -> Path:
    inventory = "all:\n  hosts:\n" + "".join(
        f"    {h}: {{ansible_connection: local}}\n" for h in hosts
    )
    (tmp_path / "inv.yml").write_text(inventory)
    role = tmp_path / "roles" / "r"
    (role / "tasks").mkdir(parents=True, exist_ok=True)
    (role / "templates").mkdir(exist_ok=True)
    (role / "tasks" / "main.yml").write_text(tasks)
    (tmp_path / "play.yml").write_text("- hosts: all\n  roles: [r]\n")
    return tmp_path


def compiled(tmp_path: Path, tasks: str, hosts: tuple[str, ...] = ("h1", "h2")):
    write_project(tmp_path, tasks, hosts)
    return compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")


def first_tasks(result) -> list:
    return result.plays[0][1][0].tasks


# ------------------------------------------------------------------ compile


@pytest.mark.parametrize(
    ("when", "groups"),
    [
        ('ansible_distribution == "Rocky"', {"os"}),
        ('ansible_distribution_major_version == "9"', {"os"}),
        ("facts.os.major >= 9", {"os"}),
        ("facts['os']['id'] == 'rocky'", {"os"}),
        ("facts.memory_mb > 2048 and facts.cpus > 1", {"hardware"}),
        ("ansible_memtotal_mb > 2048 and ansible_os_family == 'RedHat'", {"hardware", "os"}),
        ("facts.selinux.mode == 'enforcing'", {"selinux"}),
        ("facts.mounts | selectattr('mount', 'eq', '/') | list", {"mounts"}),
        ("ansible_facts.distribution == 'Rocky'", {"os"}),
        ("ansible_facts['kernel'] is defined", {"uname"}),
        ("[facts.os.major, ansible_kernel]", {"os", "uname"}),
        ("is_rocky", {"os"}),  # through a variable
        ("big_host and is_rocky", {"os", "hardware"}),  # through two
        ("facts.cgroup_version == 2", {"cgroup"}),
        ("facts.time.synced", {"time"}),
        ("facts.firewalld.state == 'active'", {"firewalld"}),
        ("facts.lvm.vgs | length > 0", {"lvm"}),
        ("facts.devices | length > 0", {"devices"}),
        ("facts.last_apply is none", {"last_apply"}),
    ],
)
def test_when_over_facts_is_deferred_with_the_groups_it_names(
    tmp_path: Path, when: str, groups: set[str]
) -> None:
    tasks = f"- copy: {{content: x, dest: /tmp/x}}\n  when: {when!r}\n"
    (tmp_path / "inv.yml").write_text("")
    write_project(tmp_path, tasks)
    (tmp_path / "group_vars").mkdir()
    inventory = (tmp_path / "inv.yml").read_text()
    inventory = inventory.replace(
        "all:\n",
        "all:\n  vars:\n    is_rocky: \"{{ ansible_distribution == 'Rocky' }}\"\n"
        '    big_host: "{{ facts.memory_mb > 4096 }}"\n',
        1,
    )
    (tmp_path / "inv.yml").write_text(inventory)
    result = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    task = first_tasks(result)[0]
    assert task.task is None and task.skip_reason == ""
    assert task.pending is not None and task.pending.task is not None  # args built already
    assert task.pending.groups == groups
    assert fact_groups_needed([task]) == groups


@pytest.mark.parametrize(
    "when",
    ["false and ansible_distribution == 'Rocky'", "off_flag and facts.os.major == 9"],
)
def test_a_when_false_without_facts_is_decided_at_compile_time(tmp_path: Path, when: str) -> None:
    write_project(tmp_path, f"- copy: {{content: x, dest: /tmp/x}}\n  when: {when!r}\n")
    inv = tmp_path / "inv.yml"
    inv.write_text(inv.read_text().replace("all:\n", "all:\n  vars: {off_flag: false}\n", 1))
    task = first_tasks(compile_run(inv, tmp_path / "play.yml"))[0]
    assert task.pending is None and task.skip_reason.startswith("condition false")


def test_a_site_without_facts_defers_nothing(tmp_path: Path) -> None:
    result = compiled(
        tmp_path,
        "- copy: {content: x, dest: /tmp/x}\n  when: flag | default(true)\n"
        "- sysctl: {name: net.ipv4.ip_forward, value: '1'}\n",
    )
    tasks = first_tasks(result)
    assert all(t.pending is None for t in tasks)
    assert fact_groups_needed(tasks) == frozenset()


def test_a_user_variable_shadows_the_fact_name(tmp_path: Path) -> None:
    write_project(
        tmp_path, "- copy: {content: x, dest: /tmp/x}\n  when: ansible_distribution == 'Rocky'\n"
    )
    inv = tmp_path / "inv.yml"
    inv.write_text(
        inv.read_text().replace("all:\n", "all:\n  vars: {ansible_distribution: Rocky}\n", 1)
    )
    task = first_tasks(compile_run(inv, tmp_path / "play.yml"))[0]
    assert task.pending is None and task.task is not None


def test_arguments_and_templates_over_facts_are_built_at_plan_time(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        "- name: motd for {{ ansible_distribution }}\n"
        "  template: {src: motd.j2, dest: /etc/motd}\n"
        "- copy: {content: '{{ facts.kernel }}', dest: /etc/kernel-seen}\n"
        "- assert: {that: 'facts.memory_mb >= 512'}\n",
    )
    (tmp_path / "roles/r/templates/motd.j2").write_text(
        "{{ facts.os.pretty_name }} with {{ ansible_memtotal_mb }} MiB\n"
    )
    tasks = first_tasks(compile_run(tmp_path / "inv.yml", tmp_path / "play.yml"))
    motd, kernel, check = tasks
    assert motd.pending.build is not None and motd.pending.task is None
    assert motd.pending.groups == {"os", "hardware"}  # the template file read statically
    assert motd.name == "motd for {{ ansible_distribution }}"  # rendered once known
    assert kernel.pending.groups == {"uname"}
    assert check.pending.groups == {"hardware"}
    values = {
        "os": OsInfo("rocky", "Rocky Linux", "9.5", 9, ("rhel",), "RedHat", "Rocky Linux 9.5"),
        "hardware": HardwareInfo(2, 4096, 3000, 0, 0),
        "uname": GROUP_FACTS["uname"].parse(0, b"5.14.0-503.el9.x86_64\nx86_64\nh1\n", b""),
    }
    bound = bind_facts(tasks, [], values)
    assert bound.missing == frozenset()
    motd, kernel, check = bound.tasks
    assert motd.name == "motd for Rocky"
    assert motd.task.content == b"Rocky Linux 9.5 with 4096 MiB\n"
    assert kernel.task.content == b"5.14.0-503.el9.x86_64"
    assert check.task is not None


def test_bind_reports_groups_not_probed(tmp_path: Path) -> None:
    tasks = first_tasks(
        compiled(tmp_path, "- copy: {content: x, dest: /tmp/x}\n  when: facts.os.major == 9\n")
    )
    bound = bind_facts(tasks, [], {})
    assert bound.missing == {"os"} and bound.tasks[0].pending is not None


@pytest.mark.parametrize(
    ("os_release", "kept"),
    [
        (ROCKY.format(v="9.5"), True),
        (RHEL.format(v="9.4"), True),
        (ROCKY.format(v="8.10"), False),
        (ROCKY.format(v="10.0"), False),
        ('ID=debian\nVERSION_ID="12"\n', False),
    ],
)
def test_the_condition_is_decided_per_host(tmp_path: Path, os_release: str, kept: bool) -> None:
    tasks = first_tasks(
        compiled(
            tmp_path,
            "- copy: {content: x, dest: /tmp/x}\n"
            '  when: ansible_distribution_major_version == "9"\n',
        )
    )
    values = {"os": OsFact().parse(0, os_release.encode(), b"")}
    task = bind_facts(tasks, [], values).tasks[0]
    assert (task.task is not None) is kept
    if not kept:
        assert task.skip_reason == (
            'condition false on this host: ansible_distribution_major_version == "9"'
        )


def test_a_role_when_over_facts_is_decided_per_host(tmp_path: Path) -> None:
    write_project(
        tmp_path, "- copy: {content: x, dest: /tmp/x}\n- copy: {content: y, dest: /tmp/y}\n"
    )
    (tmp_path / "play.yml").write_text(
        "- hosts: all\n  roles:\n    - role: r\n      when: ansible_os_family == 'RedHat'\n"
    )
    tasks = first_tasks(compile_run(tmp_path / "inv.yml", tmp_path / "play.yml"))
    assert all(t.pending is not None and t.pending.groups == {"os"} for t in tasks)
    debian = {"os": OsFact().parse(0, b"ID=debian\nVERSION_ID=12\n", b"")}
    assert all(t.task is None for t in bind_facts(tasks, [], debian).tasks)
    rocky = {"os": OsFact().parse(0, ROCKY.format(v="9.5").encode(), b"")}
    assert all(t.task is not None for t in bind_facts(tasks, [], rocky).tasks)


@pytest.mark.parametrize(
    ("tasks", "inventory_vars", "message"),
    [
        (
            "- include_tasks: x.yml\n  loop: '{{ facts.devices }}'\n",
            "",
            "`loop` reads host facts (devices)",
        ),
        (
            "- copy: {content: x, dest: /tmp/x}\n",
            "    ansible_user: '{{ ansible_distribution }}'\n",
            "reads host facts (os) where they are not known",
        ),
    ],
)
def test_facts_where_they_cannot_be_known_are_input_errors(
    tmp_path: Path, tasks: str, inventory_vars: str, message: str
) -> None:
    write_project(tmp_path, tasks)
    inv = tmp_path / "inv.yml"
    if inventory_vars:
        inv.write_text(inv.read_text().replace("all:\n", "all:\n  vars:\n" + inventory_vars, 1))
    with pytest.raises(InputError) as caught:
        compile_run(inv, tmp_path / "play.yml")
    assert message in str(caught.value)


# ------------------------------------------------------------------ the probe, end to end


@pytest.fixture
def hosts(tmp_path: Path, monkeypatch):
    """Run on fake connections: each host's scripts run in bash, its os-release and
    meminfo read from its own folder."""
    folders: dict[str, Path] = {}
    connections: dict[str, FakeConnection] = {}

    def responder_for(name: str):
        def respond(script: str, stdin: bytes | None) -> Result:
            proc = subprocess.run(
                ["bash", "-c", script],
                input=stdin,
                capture_output=True,
                env={"HOSTDIR": str(folders[name]), "PATH": "/usr/bin:/bin"},
            )
            return Result(proc.returncode, proc.stdout, proc.stderr)

        return respond

    def connect(config, options):
        connections[config.name] = FakeConnection(responder_for(config.name))
        return connections[config.name]

    monkeypatch.setattr(runner, "connect", connect)
    monkeypatch.setattr(OsFact, "command", lambda self: 'cat "$HOSTDIR/os-release"')
    monkeypatch.setattr(
        HardwareFact,
        "command",
        lambda self: 'echo @@nproc; echo 2; echo @@meminfo; cat "$HOSTDIR/meminfo"',
    )

    def make(name: str, os_release: str, memory_kb: int = 4096000) -> None:
        folder = tmp_path / "hosts" / name
        folder.mkdir(parents=True)
        (folder / "os-release").write_text(os_release)
        (folder / "meminfo").write_text(f"MemTotal: {memory_kb} kB\n")
        folders[name] = folder

    return make, connections


def run_plan(tmp_path: Path, tasks: str, names: tuple[str, ...]):
    result = compiled(tmp_path, tasks, names)
    reports = run_all(result, RunOptions(), lambda event, payload: None)
    return {r.name: r for r in reports}


def test_when_over_facts_plans_per_host_in_one_remote_command(tmp_path: Path, hosts) -> None:
    make, connections = hosts
    make("rocky9", ROCKY.format(v="9.5"))
    make("rocky8", ROCKY.format(v="8.10"))
    target = tmp_path / "out"
    reports = run_plan(
        tmp_path,
        f"- name: on 9 only\n  copy: {{content: x, dest: {target}}}\n"
        '  when: ansible_distribution_major_version == "9"\n',
        ("rocky9", "rocky8"),
    )
    assert reports["rocky9"].tasks[0].status == PENDING
    assert reports["rocky8"].tasks[0].status == SKIPPED
    assert "condition false on this host" in reports["rocky8"].tasks[0].reason
    for name in ("rocky9", "rocky8"):
        assert connections[name].commands_run == 1, name
        probe = connections[name].history[0][0]
        assert "os-release" in probe and "meminfo" not in probe and "findmnt" not in probe


def test_a_run_that_names_no_fact_probes_no_host_fact(tmp_path: Path, hosts) -> None:
    make, connections = hosts
    make("h1", ROCKY.format(v="9.5"))
    run_plan(tmp_path, f"- copy: {{content: x, dest: {tmp_path / 'o'}}}\n", ("h1",))
    assert connections["h1"].commands_run == 1
    script = connections["h1"].history[0][0]
    for group_fact in GROUP_FACTS.values():
        assert group_fact.command() not in script


def test_arguments_over_facts_cost_one_counted_second_round(tmp_path: Path, hosts) -> None:
    make, connections = hosts
    make("big", ROCKY.format(v="9.5"), memory_kb=8192000)
    target = tmp_path / "mem"
    reports = run_plan(
        tmp_path,
        f"- copy: {{content: '{{{{ ansible_memtotal_mb }}}}', dest: {target}}}\n"
        "  when: facts.os.id == 'rocky'\n",
        ("big",),
    )
    assert reports["big"].tasks[0].status == PENDING, reports["big"].error
    assert "+8000" in "\n".join(reports["big"].tasks[0].diffs[0].unified())
    # round 1: the host facts (os, hardware); round 2: the file the built task reads
    assert connections["big"].commands_run == 2
    assert reports["big"].commands_run == 2
