"""The audit's parsers over captured and hand-made command outputs, and `observe` over a
fake host (which commands it runs, and that every path goes through shell quoting)."""

from __future__ import annotations

import shlex

import pytest

from provision.audit.observe import (
    COMMANDS,
    Output,
    bind_source,
    exec_start_argv,
    findmnt_command,
    observe,
    parse_audit_live,
    parse_daemon_json,
    parse_findmnt,
    parse_flags,
    parse_fstab,
    parse_group,
    parse_ps_args,
    parse_rule_lines,
    parse_stat_lines,
    parse_units,
    stat_command,
    watched_paths,
)

from .helpers import SERVICE, SOCKET, FakeHost


@pytest.mark.parametrize(
    ("out", "want"),
    [
        (Output(1, "", "cat: /etc/docker/daemon.json: No such file or directory"), (None, "")),
        (Output(0, ""), ({}, "")),
        (Output(0, "  \n"), ({}, "")),
        (Output(0, '{"icc": false}'), ({"icc": False}, "")),
        (
            Output(1, "", "cat: /etc/docker/daemon.json: Permission denied"),
            (None, "cat: /etc/docker/daemon.json: Permission denied"),
        ),
    ],
)
def test_daemon_json(out: Output, want: tuple[object, str]) -> None:
    assert parse_daemon_json(out) == want


@pytest.mark.parametrize("text", ["{", "[1]", '"x"', "{'icc': false}", '{"a": 1}\n}'])
def test_daemon_json_bad(text: str) -> None:
    value, error = parse_daemon_json(Output(0, text))
    assert value is None
    assert error.startswith("/etc/docker/daemon.json is not")


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        (["dockerd"], {}),
        (["dockerd", "--icc=false"], {"icc": False}),
        (["dockerd", "--icc=0"], {"icc": False}),
        (["dockerd", "--icc"], {"icc": True}),
        (["dockerd", "--live-restore"], {"live-restore": True}),
        (
            ["dockerd", "-H", "fd://", "-H", "tcp://0.0.0.0:2376"],
            {"hosts": ["fd://", "tcp://0.0.0.0:2376"]},
        ),
        (["dockerd", "--host=fd://"], {"hosts": ["fd://"]}),
        (["dockerd", "-D"], {"debug": True}),
        (["dockerd", "-l", "debug"], {"log-level": "debug"}),
        (["dockerd", "--log-level", "warn"], {"log-level": "warn"}),
        (["dockerd", "--data-root", "/srv/d"], {"data-root": "/srv/d"}),
        (["dockerd", "-g", "/srv/d"], {"data-root": "/srv/d"}),
        (
            ["dockerd", "--insecure-registry", "a", "--insecure-registry=b"],
            {"insecure-registries": ["a", "b"]},
        ),
        (["dockerd", "stray", "--userland-proxy=FALSE"], {"userland-proxy": False}),
        (["dockerd", "-l"], {"log-level": ""}),
    ],
)
def test_flags(argv: list[str], want: dict[str, object]) -> None:
    assert parse_flags(argv) == want


@pytest.mark.parametrize(
    ("stdout", "want"),
    [
        ("", []),
        ("\n\n", []),
        (
            "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n",
            ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"],
        ),
        (
            "/usr/bin/dockerd --label 'a b'\n/usr/bin/dockerd --other\n",
            ["/usr/bin/dockerd", "--label", "a b"],
        ),
        ("/usr/bin/dockerd --label 'unclosed\n", ["/usr/bin/dockerd", "--label", "'unclosed"]),
    ],
)
def test_ps_args(stdout: str, want: list[str]) -> None:
    assert parse_ps_args(Output(0 if stdout else 1, stdout)) == want


SHOW = (
    "Id=docker.service\nFragmentPath=/usr/lib/systemd/system/docker.service\n"
    "ExecStart={ path=/usr/bin/dockerd ; argv[]=/usr/bin/dockerd -H fd:// --icc=false ;"
    " ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ;"
    " status=0/0 }\n\nId=docker.socket\nFragmentPath=/usr/lib/systemd/system/docker.socket\n"
    "ExecStart=\n"
)


def test_units_and_exec_start() -> None:
    units = parse_units(Output(0, SHOW))
    assert sorted(units) == ["docker.service", "docker.socket"]
    assert units["docker.socket"]["FragmentPath"] == SOCKET
    argv = exec_start_argv(units["docker.service"]["ExecStart"])
    assert argv == ["/usr/bin/dockerd", "-H", "fd://", "--icc=false"]
    assert exec_start_argv("") == []
    assert parse_units(Output(0, "Id=\nFragmentPath=\n")) == {}


@pytest.mark.parametrize(
    ("out", "want"),
    [
        (Output(0, "No rules\n"), ([], "")),
        (
            Output(0, "-w /usr/bin/dockerd -p rwxa -k docker\n-a always,exit -F arch=b64 -S all\n"),
            (["-w /usr/bin/dockerd -p rwxa -k docker", "-a always,exit -F arch=b64 -S all"], ""),
        ),
        (
            Output(1, "", "You must be root to run this program.\n"),
            (None, "You must be root to run this program."),
        ),
        (
            Output(
                255, "", "Error - audit support not in kernel\nCannot open netlink audit socket\n"
            ),
            (None, "Cannot open netlink audit socket"),
        ),
        (
            Output(127, "", "bash: auditctl: command not found\n"),
            (None, "auditctl is not installed"),
        ),
        (Output(1, "", ""), (None, "exit 1")),
    ],
)
def test_audit_live(out: Output, want: tuple[object, str]) -> None:
    assert parse_audit_live(out) == want


@pytest.mark.parametrize(
    ("rules", "want"),
    [
        ([], set()),
        (["-w /etc/docker -k docker"], {"/etc/docker"}),
        (["-w /etc/docker/ -k docker"], {"/etc/docker"}),
        (["-w / -k root"], {"/"}),
        (["-a always,exit -F path=/usr/bin/runc -F perm=x"], {"/usr/bin/runc"}),
        (["-a always,exit -F dir=/var/lib/docker/"], {"/var/lib/docker"}),
        (["-w"], set()),
        (["-k docker -w"], set()),
        (["-w '/path with space' -k d"], {"/path with space"}),
        (["-w 'unclosed -k d"], {"'unclosed"}),
        (["-F key=/etc/docker"], set()),
    ],
)
def test_watched_paths(rules: list[str], want: set[str]) -> None:
    assert watched_paths(rules) == want


def test_fstab_group_stat() -> None:
    assert parse_rule_lines("# -w /etc/docker\n\n  -w /usr/bin/runc -k d  \n") == [
        "-w /usr/bin/runc -k d"
    ]
    fstab = "# comment\nUUID=1 / xfs defaults 0 0\n/dev/vg/d /var/lib/docker/ xfs d 0 0\n\nbad\n"
    assert parse_fstab(fstab) == [("UUID=1", "/"), ("/dev/vg/d", "/var/lib/docker")]
    assert parse_group(Output(0, "docker:x:990:alice,bob\n")) == ["alice", "bob"]
    assert parse_group(Output(0, "docker:x:990:\n")) == []
    assert parse_group(Output(2, "")) == []
    assert parse_group(Output(0, "garbage")) == []
    files = parse_stat_lines(
        "root|root|644|regular file|/etc/docker/daemon.json\n"
        "root|docker|660|socket|/var/run/docker.sock\n"
        "root|root|xyz|regular file|/bad\n"
        "too|few|fields\n"
        "root|root|644|regular file|/a|b\n"
    )
    assert sorted(files) == ["/a|b", "/etc/docker/daemon.json", "/var/run/docker.sock"]
    assert files["/var/run/docker.sock"].mode == 0o660
    assert files["/var/run/docker.sock"].group == "docker"
    assert parse_stat_lines("root|root|444|f|/c\n")["/c"].kind == "regular file"


@pytest.mark.parametrize("path", ["/srv/a b", "/srv/$(reboot)", "/srv/`id`", "/srv/'q'", "-rf"])
def test_stat_command_quotes_every_path(path: str) -> None:
    command = stat_command(["/etc/docker", path])
    assert shlex.split(command)[-2:] == ["/etc/docker", path]
    assert " -- " in command


def test_observe_over_a_fake_host() -> None:
    stat = (
        "root|root|755|regular file|/usr/bin/dockerd\n"
        "root|root|755|directory|/etc/docker\n"
        "root|root|600|regular file|/etc/docker/daemon.json\n"
        f"root|root|644|regular file|{SERVICE}\n"
        "root|root|711|directory|/srv/d\n"
    )
    host = FakeHost(
        {
            "daemon_json": Output(0, '{"data-root": "/srv/d", "tlscacert": "/etc/docker/ca.pem"}'),
            "dockerd_ps": Output(1, ""),
            "units": Output(0, SHOW),
            "docker_info": Output(1, "", "Cannot connect to the Docker daemon"),
            "audit_live": Output(0, "-w /etc/docker -k docker\n"),
            "audit_files": Output(0, "# docker\n-w /etc/docker -k docker\n"),
            "fstab": Output(0, "/dev/vg/d /srv/d xfs defaults 0 0\n"),
            "docker_group": Output(0, "docker:x:990:alice\n"),
            "certs": Output(1, "", "find: '/etc/docker/certs.d': No such file or directory"),
        },
        stat_lines=stat,
        mount="/srv/d",
    )
    obs = observe(host)
    assert [c for c in host.commands[: len(COMMANDS)]] == list(COMMANDS.values())
    stat_args = shlex.split(host.commands[len(COMMANDS)])
    assert "/srv/d" in stat_args and SERVICE in stat_args and SOCKET in stat_args
    assert "/etc/docker/ca.pem" in stat_args
    assert obs.dockerd_running is False
    assert obs.dockerd_args == ["/usr/bin/dockerd", "-H", "fd://", "--icc=false"]
    assert obs.data_root == "/srv/d"
    assert obs.mount_target == "/srv/d"
    assert obs.audit_live == ["-w /etc/docker -k docker"]
    assert obs.audit_persisted == ["-w /etc/docker -k docker"]
    assert obs.docker_group == ["alice"]
    assert obs.docker_info is None
    assert obs.certs == []
    assert obs.files["/etc/docker/daemon.json"].mode == 0o600
    assert obs.docker_installed


def test_observe_a_host_without_docker() -> None:
    host = FakeHost()
    obs = observe(host)
    assert not obs.docker_installed
    assert obs.daemon_json is None and obs.daemon_json_error == ""
    assert obs.audit_live is None
    assert not any("findmnt" in c for c in host.commands)  # no data root to look at


@pytest.mark.parametrize("command", list(COMMANDS.values()))
def test_commands_are_read_only(command: str) -> None:
    words = shlex.split(command.replace(";", " ; "))
    assert words[0] in ("cat", "LC_ALL=C", "getent")
    assert not {"rm", "chmod", "chown", "tee", ">", "-D", "augenrules", "load"} & set(words)


@pytest.mark.parametrize(
    ("out", "want"),
    [
        (Output(0, "/var/lib/docker /dev/vdb1 xfs\n"), ("/var/lib/docker", "/dev/vdb1", "xfs")),
        (
            Output(
                0, "/var/lib/docker /dev/vda[/var/lib/provision-lab/hosts/rocky1/docker] ext4\n"
            ),
            ("/var/lib/docker", "/dev/vda[/var/lib/provision-lab/hosts/rocky1/docker]", "ext4"),
        ),
        (Output(0, "/ overlay overlay\n"), ("/", "overlay", "overlay")),
        # raw output escapes a space (and other odd bytes) as \xHH
        (Output(0, "/srv/a\\x20b /dev/sdc xfs\n"), ("/srv/a b", "/dev/sdc", "xfs")),
        (Output(0, "/srv/d\n"), ("/srv/d", "", "")),  # an older findmnt, one column
        (Output(0, "\n\n/ /dev/sda1 xfs\n"), ("/", "/dev/sda1", "xfs")),
        (Output(0, ""), ("", "", "")),
        (Output(1, "/ /dev/sda1 xfs\n", "findmnt: can't read"), ("", "", "")),
    ],
)
def test_findmnt(out: Output, want: tuple[str, str, str]) -> None:
    assert parse_findmnt(out) == want


@pytest.mark.parametrize(
    ("source", "want"),
    [
        (
            "/dev/vda[/var/lib/provision-lab/hosts/rocky1/docker]",
            ("/dev/vda", "/var/lib/provision-lab/hosts/rocky1/docker"),
        ),
        ("/dev/sda2[/@docker]", ("/dev/sda2", "/@docker")),
        ("/dev/mapper/vg-docker", ("", "")),
        ("overlay", ("", "")),
        ("", ("", "")),
        ("[broken", ("", "")),
    ],
)
def test_bind_source(source: str, want: tuple[str, str]) -> None:
    assert bind_source(source) == want


def test_findmnt_command_quotes_the_data_root() -> None:
    command = findmnt_command("/srv/$(reboot) x")
    assert command.endswith("-T '/srv/$(reboot) x'")
    assert "-r -o TARGET,SOURCE,FSTYPE" in command
