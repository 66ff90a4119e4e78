"""Roles docker_logging, docker_resources, docker_image_backup and their hunks in
docker_engine, compiled from playbooks/operations.yml without a host.

Every value that lands in rsyslog's configuration, a systemd unit or the backup script is
tried with hostile cases: each one must either stop the compile (an input error: a line
break in a line-oriented file) or make an `assert` task refuse it at plan time (then the
host is failed before anything on it changes). A hostile value is never both accepted and
written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from provision.errors import InputError
from provision.project.compile import compile_run

ROOT = Path(__file__).resolve().parents[3]
OPERATIONS = ROOT / "playbooks" / "operations.yml"
FORWARD = "/etc/rsyslog.d/60-provision-forward.conf"
SLICE = "/etc/systemd/system/docker-containers.slice"
SCRIPT = "/usr/local/sbin/provision-image-backup"
TIMER = "/etc/systemd/system/provision-image-backup.timer"
INVENTORY = """\
all:
  children:
    docker_hosts:
      hosts:
        h1:
          ansible_connection: local
"""

LINE_BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x85", "\u2028", "\u2029"]
CONTROL = ["\x00", "\x1b[2J", "\x07", "\x7f", "\x9b"]
HOSTILE_WORDS = [
    '"',
    "'",
    'a" protocol="udp',
    'a) action(type="omfile" file="/etc/passwd")',
    "$(reboot)",
    "`reboot`",
    "a b",
    "a;b",
    "a\tb",
    "-x",
    "../../etc",
    "%n",
    "{{ x }}",
    "\u202eexample.com",
    "ex\u0430mple.com",  # a Cyrillic a
    "x" * 10_000,
    "",
]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ops") / "inventory.yml"
    path.write_text(INVENTORY)
    return path


@pytest.fixture(scope="module")
def only(inventory: Path) -> dict[str, Path]:
    """A playbook per role with that role alone (found among the checkout's roles): the
    many hostile cases compile one role, not the whole chain."""
    playbooks = {}
    for role in ("docker_logging", "docker_resources", "docker_image_backup"):
        path = inventory.parent / "playbooks" / f"{role}.yml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"- hosts: docker_hosts\n  become: true\n  roles: [{role}]\n")
        playbooks[role] = path
    return playbooks


def compiled(inventory: Path, playbook: Path = OPERATIONS, **extra: Any) -> Any:
    return compile_run(inventory, playbook, extra_vars=extra).plays[0][1][0]


def refusals(host_play: Any) -> list[str]:
    """Names of the assert tasks whose `that:` is false (the plan fails the host there)."""
    found = []
    for task in host_play.tasks:
        if task.task is not None and getattr(task.task, "_that_failure", None):
            found.append(task.name)
    return found


def content(host_play: Any, dest: str) -> str | None:
    """The text a template/copy task writes to dest (None: no such task runs)."""
    for task in host_play.tasks:
        params = getattr(task.task, "params", None)
        if params is not None and getattr(params, "dest", None) == dest:
            data = getattr(task.task, "content", None)
            return data.decode() if data is not None else None
    return None


def outcome(inventory: Path, playbook: Path = OPERATIONS, **extra: Any) -> str:
    """'input error', 'refused by ASSERT', or 'ok'."""
    try:
        host_play = compiled(inventory, playbook, **extra)
    except InputError:
        return "input error"
    refused = refusals(host_play)
    return f"refused by {refused[0]}" if refused else "ok"


# ------------------------------------------------------------------ defaults and flow


def test_defaults_compile_with_nothing_refused(inventory: Path) -> None:
    host_play = compiled(inventory)
    assert refusals(host_play) == []
    assert content(host_play, FORWARD) is None  # forwarding off: the file is removed
    daemon = json.loads(content(host_play, "/etc/docker/daemon.json") or "")
    assert daemon["cgroup-parent"] == "docker-containers.slice"
    assert "default-shm-size" not in daemon
    assert daemon["log-driver"] == "json-file"
    assert daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}


def test_logging_declares_the_engines_log_defaults() -> None:
    """docker_logging and docker_engine share docker_log_driver/docker_log_opts: the same
    defaults, so the order of the roles in a play cannot change the engine's driver."""
    engine = yaml.safe_load((ROOT / "roles/docker_engine/defaults/main.yml").read_text())
    logging = yaml.safe_load((ROOT / "roles/docker_logging/defaults/main.yml").read_text())
    for key in ("docker_log_driver", "docker_log_opts"):
        assert logging[key] == engine[key], key


def test_operations_playbook_role_order() -> None:
    plays = yaml.safe_load(OPERATIONS.read_text())
    roles = [r if isinstance(r, str) else r["role"] for r in plays[0]["roles"]]
    position = {name: roles.index(name) for name in roles}
    assert position["docker_logging"] < position["docker_engine"]
    assert position["docker_resources"] < position["docker_engine"]
    assert position["docker_engine"] < position["docker_image_backup"]
    assert roles[0] == "os_support"
    site = (ROOT / "playbooks" / "site.yml").read_text()
    assert "operations" not in site  # site.yml's default behaviour is unchanged


def test_engine_alone_has_no_cgroup_parent(inventory: Path) -> None:
    """Without docker_resources in the play, daemon.json is as before."""
    host_play = compiled(inventory, ROOT / "playbooks" / "docker-host.yml")
    daemon = json.loads(content(host_play, "/etc/docker/daemon.json") or "")
    assert "cgroup-parent" not in daemon and "default-shm-size" not in daemon


def test_engine_shm_size_and_own_cgroup_parent(inventory: Path) -> None:
    host_play = compiled(
        inventory,
        ROOT / "playbooks" / "docker-host.yml",
        docker_default_shm_size="256M",
        docker_cgroup_parent="mine.slice",
    )
    daemon = json.loads(content(host_play, "/etc/docker/daemon.json") or "")
    assert daemon["default-shm-size"] == "256M"
    assert daemon["cgroup-parent"] == "mine.slice"


def test_resources_refuses_another_cgroup_parent(inventory: Path) -> None:
    result = outcome(inventory, docker_cgroup_parent="other.slice")
    assert result == "refused by the engine puts the containers in this slice"


# ------------------------------------------------------------------ log driver


GOOD_DRIVERS = [
    ("json-file", {"max-size": "10m", "max-file": "3", "compress": "true"}),
    ("json-file", {}),
    ("local", {"max-size": "512k", "max-file": "5"}),
    ("journald", {"tag": "web"}),
    ("journald", {}),
    ("syslog", {}),
    ("syslog", {"syslog-address": "tcp://10.0.0.5:514", "syslog-facility": "daemon"}),
    ("syslog", {"syslog-address": "udp://logs.example.internal:514", "tag": "app"}),
    ("syslog", {"syslog-address": "tcp+tls://logs.example.internal:6514"}),
    ("syslog", {"syslog-address": "unixgram:///dev/log", "syslog-format": "rfc5424"}),
    ("syslog", {"syslog-address": "unix:///run/rsyslog/docker.sock"}),
    ("none", {}),
    ("syslog", {"mode": "non-blocking", "max-buffer-size": "4m"}),
    ("journald", {"mode": "blocking"}),
]


@pytest.mark.parametrize(("driver", "opts"), GOOD_DRIVERS)
def test_log_driver_accepted(inventory: Path, driver: str, opts: dict) -> None:
    host_play = compiled(inventory, docker_log_driver=driver, docker_log_opts=opts)
    assert refusals(host_play) == []
    daemon = json.loads(content(host_play, "/etc/docker/daemon.json") or "")
    assert daemon["log-driver"] == driver
    assert daemon.get("log-opts", {}) == opts


def test_go_template_tag_in_a_raw_block(inventory: Path) -> None:
    """Docker's own template syntax in a tag is written inside a Jinja raw block."""
    tag = "{% raw %}{{.Name}}/{{.ID}}{% endraw %}"
    host_play = compiled(inventory, docker_log_driver="journald", docker_log_opts={"tag": tag})
    assert refusals(host_play) == []
    daemon = json.loads(content(host_play, "/etc/docker/daemon.json") or "")
    assert daemon["log-opts"] == {"tag": "{{.Name}}/{{.ID}}"}


BAD_DRIVERS = [
    ("gelf", {}),  # not one this role knows
    ("JSON-FILE", {}),
    ("json-file\n", {}),
    ("journald", {"max-size": "10m"}),  # rotation is json-file/local only
    ("local", {"tag": "x"}),
    ("syslog", {"max-file": "3"}),
    ("json-file", {"max-file": 3}),  # a number: dockerd wants strings
    ("json-file", {"max-size": "10 m"}),
    ("json-file", {"max-size": "10M\n"}),
    ("json-file", {"max-size": "-1"}),
    ("json-file", {"max-file": "0"}),
    ("json-file", {"compress": "yes"}),
    ("json-file", {"mode": "async"}),
    ("local", {"max-buffer-size": "4 MB"}),
    ("none", {"mode": "blocking"}),
    ("json-file", {"unknown-opt": "1"}),
    ("syslog", {"syslog-address": "10.0.0.5:514"}),
    ("syslog", {"syslog-address": "tcp://10.0.0.5"}),
    ("syslog", {"syslog-address": "http://10.0.0.5:514"}),
    ("syslog", {"syslog-address": "tcp://10.0.0.5:514\nx"}),
    ("syslog", {"syslog-address": 'tcp://"a":514'}),
    ("syslog", {"syslog-address": "unix:///dev/log;reboot"}),
    ("syslog", {"syslog-facility": "kernel"}),
    ("syslog", {"syslog-format": "json"}),
    ("journald", {"tag": "a\nb"}),
    ("journald", {"tag": "a\x1bb"}),
    ("journald", {"tag": "x" * 2000}),
    ("json-file", "max-size=10m"),  # not a mapping
]


@pytest.mark.parametrize(("driver", "opts"), BAD_DRIVERS)
def test_log_driver_refused(inventory: Path, only: dict[str, Path], driver: Any, opts: Any) -> None:
    playbook = only["docker_logging"]
    result = outcome(inventory, playbook, docker_log_driver=driver, docker_log_opts=opts)
    assert result != "ok"


# ------------------------------------------------------------------ forwarding


def test_forwarding_file(inventory: Path) -> None:
    host_play = compiled(
        inventory,
        docker_logging_forward_host="logs.example.internal",
        docker_logging_forward_port=6514,
        docker_logging_forward_selector="*.info;mail.none",
    )
    assert refusals(host_play) == []
    text = content(host_play, FORWARD) or ""
    assert text.splitlines()[3] == "*.info;mail.none action("
    for line in (
        'type="omfwd"',
        'target="logs.example.internal"',
        'port="6514"',
        'protocol="tcp"',
        'queue.type="LinkedList"',
        'queue.filename="provision_forward"',
        'queue.saveOnShutdown="on"',
        'action.resumeRetryCount="-1"',
        'queue.maxDiskSpace="1g"',
    ):
        assert f"  {line}\n" in text, line
    assert text.count('"') % 2 == 0


@pytest.mark.parametrize("host", ["10.200.0.1", "logs.example.internal", "fd00::5", "a"])
def test_forward_host_accepted(inventory: Path, host: str) -> None:
    assert outcome(inventory, docker_logging_forward_host=host) == "ok"


FORWARD_VARIABLES = {
    "docker_logging_forward_host": "logs.example.internal",
    "docker_logging_forward_port": "514",
    "docker_logging_forward_selector": "*.*",
    "docker_logging_forward_template": "RSYSLOG_ForwardFormat",
    "docker_logging_forward_queue_size": "10000",
    "docker_logging_forward_queue_max_disk": "1g",
}
HOSTILE = [w for w in HOSTILE_WORDS if w] + [f"a{b}b" for b in LINE_BREAKS]
HOSTILE += [f"ok{c}" for c in CONTROL] + [f"good{b}" for b in LINE_BREAKS]


@pytest.mark.parametrize("variable", sorted(FORWARD_VARIABLES))
@pytest.mark.parametrize("value", HOSTILE, ids=[repr(v)[:30] for v in HOSTILE])
def test_forward_values_hostile(
    inventory: Path, only: dict[str, Path], variable: str, value: str
) -> None:
    extra = {**FORWARD_VARIABLES, variable: value}
    try:
        host_play = compiled(inventory, only["docker_logging"], **extra)
    except InputError as error:
        assert value not in str(error) or len(value) < 3  # the value is not echoed
        return
    assert refusals(host_play), f"{variable}={value!r} was accepted"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("docker_logging_forward_port", 0),
        ("docker_logging_forward_port", 65536),
        ("docker_logging_forward_port", "514 "),
        ("docker_logging_forward_port", -1),
        ("docker_logging_forward_port", "0x1bb"),
        ("docker_logging_forward_selector", "*"),
        ("docker_logging_forward_selector", ".*"),
        ("docker_logging_forward_template", "RSYSLOG_FileFormat"),
        ("docker_logging_forward_queue_max_disk", "1"),
        ("docker_logging_forward_queue_max_disk", "1t"),
        ("docker_logging_forward_queue_size", 0),
        ("docker_logging_forward_host", 5),
        ("docker_logging_forward_host", ["a"]),
        ("docker_logging_forward_host", "-a"),
        ("docker_logging_forward_host", ".a"),
    ],
)
def test_forward_values_out_of_range(
    inventory: Path, only: dict[str, Path], variable: str, value: Any
) -> None:
    extra = {**FORWARD_VARIABLES, variable: value}
    assert outcome(inventory, only["docker_logging"], **extra) != "ok"


def test_forwarding_off_removes_the_file(inventory: Path) -> None:
    host_play = compiled(inventory, docker_logging_forward_host="")
    removal = [t for t in host_play.tasks if t.name == "no forwarding when no server is set"]
    assert removal and removal[0].task is not None
    assert removal[0].task.params.state == "absent"


# ------------------------------------------------------------------ resources


def slice_settings(text: str) -> str:
    """The lines of the [Slice] section."""
    return text.split("[Slice]\n", 1)[1].split("\n[Install]\n", 1)[0]


def test_slice_file(inventory: Path) -> None:
    host_play = compiled(
        inventory,
        docker_resources_memory_max="256M",
        docker_resources_memory_high="200M",
        docker_resources_cpu_quota="150%",
        docker_resources_cpu_weight=20,
        docker_resources_tasks_max="infinity",
        docker_resources_io_weight="",
    )
    assert refusals(host_play) == []
    text = content(host_play, SLICE) or ""
    assert slice_settings(text) == (
        "MemoryMax=256M\nMemoryHigh=200M\nCPUQuota=150%\nCPUWeight=20\nTasksMax=infinity\n"
    )


def test_slice_defaults(inventory: Path) -> None:
    text = content(compiled(inventory), SLICE) or ""
    assert slice_settings(text) == "MemoryMax=80%\nCPUWeight=50\nTasksMax=4096\n"
    assert text.endswith("\n[Install]\nWantedBy=multi-user.target\n")


def test_slice_all_empty(inventory: Path) -> None:
    empty = {
        f"docker_resources_{k}": ""
        for k in ("memory_max", "memory_high", "cpu_quota", "cpu_weight", "tasks_max", "io_weight")
    }
    text = content(compiled(inventory, **empty), SLICE) or ""
    assert slice_settings(text) == ""


@pytest.mark.parametrize("name", ["containers.slice", "docker-containers.slice", "a_b-c.slice"])
def test_slice_name_accepted(inventory: Path, name: str) -> None:
    host_play = compiled(inventory, docker_resources_slice=name)
    assert refusals(host_play) == []
    assert content(host_play, f"/etc/systemd/system/{name}")
    daemon = json.loads(content(host_play, "/etc/docker/daemon.json") or "")
    assert daemon["cgroup-parent"] == name


SLICE_NAMES = HOSTILE + [
    "system.slice",
    "user.slice",
    "machine.slice",
    "init.slice",
    "docker",
    "docker.service",
    "-docker.slice",
    "a--b.slice",
    "a-.slice",
    ".slice",
    "../x.slice",
    "a/b.slice",
    "x" * 300 + ".slice",
    "a.slice\n",
]


@pytest.mark.parametrize("name", SLICE_NAMES, ids=[repr(v)[:30] for v in SLICE_NAMES])
def test_slice_name_refused(inventory: Path, only: dict[str, Path], name: str) -> None:
    assert outcome(inventory, only["docker_resources"], docker_resources_slice=name) != "ok"
    # with docker_engine: docker_cgroup_parent follows the name; the slice check refuses
    if name in ("system.slice", "a--b.slice", 'a" protocol="udp', "a.slice\n"):
        assert outcome(inventory, docker_resources_slice=name) != "ok"


LIMITS = {
    "docker_resources_memory_max": (["1G", "268435456", "80%", "100%", "infinity"], ["0", "0%"]),
    "docker_resources_memory_high": (["512M", "50%"], ["1.5G", "101%", "1GB"]),
    "docker_resources_cpu_quota": (["50%", "150%", "400%"], ["1.5", "150", "0%", "%"]),
    "docker_resources_cpu_weight": (["1", "10000", 100], ["0", "10001", "idle", "-5"]),
    "docker_resources_tasks_max": (["4096", "20%", "infinity"], ["0", "-1", "many"]),
    "docker_resources_io_weight": (["100"], ["0", "20000"]),
}


@pytest.mark.parametrize(
    ("variable", "value"), [(k, v) for k, (good, _) in LIMITS.items() for v in good]
)
def test_limit_accepted(inventory: Path, variable: str, value: Any) -> None:
    host_play = compiled(inventory, **{variable: value})
    assert refusals(host_play) == []
    assert f"={value}\n" in (content(host_play, SLICE) or "")


LIMIT_CASES = [(k, v) for k, (_, bad) in LIMITS.items() for v in bad]
LIMIT_CASES += [(k, v) for k in LIMITS for v in HOSTILE if v]


@pytest.mark.parametrize(
    ("variable", "value"), LIMIT_CASES, ids=[f"{k}={v!r}"[:50] for k, v in LIMIT_CASES]
)
def test_limit_refused(inventory: Path, only: dict[str, Path], variable: str, value: Any) -> None:
    assert outcome(inventory, only["docker_resources"], **{variable: value}) != "ok"


# ------------------------------------------------------------------ image backup


def test_backup_script_quotes_every_value(inventory: Path) -> None:
    host_play = compiled(
        inventory,
        docker_image_backup_images=["busybox:1.36", "registry.example.internal:5000/a/b@sha256:0"],
        docker_image_backup_dir="/srv/backups/images",
        docker_image_backup_keep=3,
        docker_image_backup_max_age_days=0,
    )
    assert refusals(host_play) == []
    text = content(host_play, SCRIPT) or ""
    assert "backup_dir=/srv/backups/images\n" in text
    assert "keep=3\nmax_age_days=0\n" in text
    assert "images=(\n  busybox:1.36\n  registry.example.internal:5000/a/b@sha256:0\n)\n" in text
    assert "{%" not in text and "{{ " not in text
    timer = content(host_play, TIMER) or ""
    assert "OnCalendar=daily\n" in timer and "Persistent=true\n" in timer


def test_backup_timer_off(inventory: Path) -> None:
    host_play = compiled(inventory, docker_image_backup_timer_enabled=False)
    names = {t.name: t.task for t in host_play.tasks}
    assert names["backup timer enabled and waiting"] is None
    assert names["backup timer stopped and disabled"].params.enabled is False


BACKUP_BAD = [
    ("docker_image_backup_images", "busybox"),  # a string, not a list
    ("docker_image_backup_images", [1]),
    ("docker_image_backup_images", ["Busybox"]),
    ("docker_image_backup_images", ["-busybox"]),
    ("docker_image_backup_images", ["a b"]),
    ("docker_image_backup_images", ["x" * 300]),
    ("docker_image_backup_dir", "relative/dir"),
    ("docker_image_backup_dir", "/"),
    ("docker_image_backup_dir", "/var"),
    ("docker_image_backup_dir", "/var/lib/docker/"),
    ("docker_image_backup_dir", "/srv/../etc"),
    ("docker_image_backup_dir", "/srv/./x"),
    ("docker_image_backup_keep", 0),
    ("docker_image_backup_keep", "all"),
    ("docker_image_backup_keep", -1),
    ("docker_image_backup_max_age_days", -1),
    ("docker_image_backup_max_age_days", "30d"),
    ("docker_image_backup_on_calendar", "*-*-* 03:00:00\nExecStartPre=/bin/sh"),
    ("docker_image_backup_on_calendar", "daily;reboot"),
    ("docker_image_backup_randomized_delay", "30min\n"),
    ("docker_image_backup_randomized_delay", "-1"),
]
BACKUP_BAD += [("docker_image_backup_images", [v]) for v in HOSTILE]
BACKUP_BAD += [("docker_image_backup_dir", "/srv/" + v) for v in HOSTILE if v != "-x"]
BACKUP_BAD += [("docker_image_backup_on_calendar", "daily" + b) for b in LINE_BREAKS]
BACKUP_BAD += [("docker_image_backup_on_calendar", v) for v in HOSTILE_WORDS if "a" not in v]


@pytest.mark.parametrize(
    ("variable", "value"), BACKUP_BAD, ids=[f"{k}={v!r}"[:50] for k, v in BACKUP_BAD]
)
def test_backup_values_refused(
    inventory: Path, only: dict[str, Path], variable: str, value: Any
) -> None:
    assert outcome(inventory, only["docker_image_backup"], **{variable: value}) != "ok"


@pytest.mark.parametrize(
    "calendar", ["daily", "hourly", "Sun *-*-* 03:00:00", "Mon..Fri 22:30", "*-*-01 00:00:00"]
)
def test_backup_calendar_accepted(inventory: Path, calendar: str) -> None:
    host_play = compiled(inventory, docker_image_backup_on_calendar=calendar)
    assert refusals(host_play) == []
    assert f"OnCalendar={calendar}\n" in (content(host_play, TIMER) or "")


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("brk", ["\n", "\r", "\u2028", "\x85"], ids=repr)
def test_plan_refuses_a_line_break_before_any_host(tmp_path: Path, brk: str) -> None:
    """`provision plan` stops with exit 2 and the template's file:line before connecting
    (the inventory's only host is a closed loopback port), without echoing the value."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  children:\n    docker_hosts:\n      hosts:\n"
        "        h1: {ansible_host: 127.0.0.1, ansible_port: 1}\n"
    )
    extra = tmp_path / "extra.yml"
    extra.write_text(
        yaml.safe_dump({"docker_logging_forward_host": f"logs.example{brk}secretword"})
    )
    proc = subprocess.run(
        [sys.executable, "-m", "provision", "plan", str(inventory), "-p", str(OPERATIONS)]
        + ["-e", f"@{extra}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "roles/docker_logging/templates/forward.conf.j2:6:" in output
    assert "docker_logging_forward_host" in output
    assert "secretword" not in output and "Traceback" not in output
