"""Role offline_repo with `offline_repo_mode: mirror`, compiled for two hosts and bound to
fake facts: the mirror host gets the bundle, its file:// repository and the HTTP server
(unit, port, service); the other host gets no bundle, the bundle's keys from the
controller, a repository on http://MIRROR:PORT and a wait for the mirror before its first
dnf command. Bad variables are input errors naming the variable, before any host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.tools.bundles import LAB_KEY, write_bundle

from provision.errors import InputError
from provision.facts.host import FirewalldInfo, KernelInfo, OsFact
from provision.planning.planner import bind_facts
from provision.project.compile import compile_run

REPO = Path(__file__).resolve().parents[3]
ROCKY = 'ID="rocky"\nNAME="Rocky Linux"\nVERSION_ID="{v}"\nID_LIKE="rhel centos fedora"\n'
PLAYBOOK = REPO / "playbooks" / "docker-host.yml"
FINGERPRINT = "FB93DD323340E2138B02E8EB6374A1577B58CADC"


def compiled(tmp_path: Path, extra: str = "", bundle: Path | None = None) -> dict[str, list[Any]]:
    """{host: tasks} for mirror m1 (10.0.0.5) and client c1."""
    bundle = bundle or write_bundle(tmp_path / "b.tar")
    base = {"offline_repo_mode": "mirror", "offline_repo_mirror_host": "m1"}
    (tmp_path / "inv.yml").write_text(
        "all:\n  vars:\n"
        f"    docker_gpg_fingerprint: {FINGERPRINT}\n"
        f"    offline_bundle: {bundle}\n"
        + "".join(f"    {k}: {v}\n" for k, v in base.items() if f" {k}:" not in extra)
        + extra
        + "  children:\n    docker_hosts:\n"
        "      hosts:\n"
        "        m1: {ansible_connection: local, ansible_host: 10.0.0.5}\n"
        "        c1: {ansible_connection: local, ansible_host: 10.0.0.6}\n"
    )
    result = compile_run(tmp_path / "inv.yml", PLAYBOOK)
    return {hp.host.name: hp.tasks for hp in result.plays[0][1]}


def bound(
    tasks: list[Any], version: str = "9.5", firewalld: str = "active", role: str | None = "x"
) -> list[Any]:
    """The tasks bound to these facts; those of role offline_repo unless role is None."""
    facts = {
        "os": OsFact().parse(0, ROCKY.format(v=version).encode(), b""),
        "uname": KernelInfo("5.14.0", "x86_64", "h.example"),
        "firewalld": FirewalldInfo(firewalld, "nftables"),
    }
    result = bind_facts(tasks, [], facts)
    return [
        t for t in result.tasks if t.task is not None and (role is None or t.role == "offline_repo")
    ]


def by_name(tasks: list[Any], start: str) -> list[Any]:
    return [t.task for t in tasks if t.name.startswith(start)]


def text(task: Any) -> str:
    value = task.content
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.mark.parametrize("version", ["8.10", "9.5", "10.0"])
def test_mirror_host_serves(tmp_path: Path, version: str) -> None:
    tasks = bound(compiled(tmp_path)["m1"], version)
    names = [t.name for t in tasks]
    assert names[0] == "offline repository mode and mirror settings"
    assert by_name(tasks, "offline bundle copied")
    [repo] = by_name(tasks, "the offline repository, EL")
    assert "baseurl=file:///var/lib/provision/offline/current/rpms/el" in text(repo)
    [link] = by_name(tasks, "mirror serves the bundle's packages only")
    assert (link.params.path, link.params.src) == (
        "/var/lib/provision/offline/.mirror/rpms",
        "../current/rpms",
    )
    [unit] = by_name(tasks, "mirror systemd unit")
    unit_text = text(unit)
    python = "/usr/libexec/platform-python" if version.startswith("8") else "/usr/bin/python3"
    assert f"ExecStart={python} -I -m http.server --bind 0.0.0.0 8480\n" in unit_text
    assert "WorkingDirectory=/var/lib/provision/offline/.mirror\n" in unit_text
    assert "DynamicUser=yes" in unit_text and "ProtectSystem=strict" in unit_text
    [port] = by_name(tasks, "mirror port open in firewalld")
    assert port.params.port == "8480/tcp"
    [service] = by_name(tasks, "mirror running and enabled")
    assert service.params.name == "provision-offline-mirror"
    assert not by_name(tasks, "the bundle's keys")
    assert not by_name(tasks, "the mirror answers")
    assert not by_name(tasks, "the offline repository from the mirror")


def test_mirror_host_without_firewalld_opens_no_port(tmp_path: Path) -> None:
    tasks = bound(compiled(tmp_path)["m1"], firewalld="inactive")
    assert not by_name(tasks, "mirror port open in firewalld")
    tasks = bound(compiled(tmp_path, "    offline_repo_mirror_firewalld: false\n")["m1"])
    assert not by_name(tasks, "mirror port open in firewalld")


@pytest.mark.parametrize("version", ["8.10", "9.5", "10.0"])
def test_client_reads_the_mirror(tmp_path: Path, version: str) -> None:
    all_tasks = compiled(tmp_path)["c1"]
    tasks = bound(all_tasks, version)
    assert not by_name(tasks, "offline bundle copied"), "a client needs no copy of the bundle"
    assert not by_name(tasks, "mirror ")
    [keys] = by_name(tasks, "the bundle's keys")
    assert keys.params.dest == "/etc/pki/rpm-gpg/provision-offline-bundle.asc"
    assert text(keys) == LAB_KEY.read_text().strip() + "\n"
    [repo] = by_name(tasks, "the offline repository from the mirror")
    major = version.split(".")[0]
    assert repo.params.dest == "/etc/yum.repos.d/provision-offline.repo"
    lines = text(repo).splitlines()
    assert f"baseurl=http://10.0.0.5:8480/rpms/el{major}/$basearch" in lines
    assert "gpgcheck=1" in lines
    assert "gpgkey=file:///etc/pki/rpm-gpg/provision-offline-bundle.asc" in lines
    assert "proxy=_none_" in lines  # a site proxy in dnf.conf must not catch the mirror
    [wait] = by_name(tasks, "the mirror answers")
    assert "http://10.0.0.5:8480/rpms/" in wait.params.unless
    assert "300" in wait.params.cmd
    # the keys, the repository and the wait come before the first dnf command of the play
    every = [t for t in bound(all_tasks, version, role=None)]
    kinds = [t.task.type_name for t in every]
    first_package = kinds.index("package")
    for name in ("the bundle's keys", "the offline repository from", "the mirror answers"):
        assert next(i for i, t in enumerate(every) if t.name.startswith(name)) < first_package


def test_client_address_port_and_wait_from_variables(tmp_path: Path) -> None:
    extra = (
        "    offline_repo_mirror_address: mirror.site.internal\n"
        "    offline_repo_mirror_port: 9000\n"
        "    offline_repo_mirror_wait: 30\n"
    )
    tasks = bound(compiled(tmp_path, extra)["c1"])
    [repo] = by_name(tasks, "the offline repository from the mirror")
    assert "baseurl=http://mirror.site.internal:9000/rpms/el9/$basearch" in text(repo)
    [wait] = by_name(tasks, "the mirror answers")
    assert "http://mirror.site.internal:9000/rpms/" in wait.params.cmd
    assert " 30;" in wait.params.cmd


def test_local_mode_is_unchanged(tmp_path: Path) -> None:
    hosts = compiled(tmp_path, "    offline_repo_mode: local\n")
    for name in ("m1", "c1"):
        tasks = bound(hosts[name])
        assert by_name(tasks, "offline bundle copied")
        assert by_name(tasks, "the offline repository, EL")
        assert not by_name(tasks, "mirror ")
        assert not by_name(tasks, "the bundle's keys")
        assert not by_name(tasks, "the mirror answers")


BAD = [
    ("offline_repo_mode: Mirror", "offline_repo_mode must be local"),
    ("offline_repo_mode: http", "offline_repo_mode must be local"),
    ("offline_repo_mode: ''", "offline_repo_mode must be local"),
    ("offline_repo_mirror_host: ''", "offline_repo_mirror_host must name"),
    ("offline_repo_mirror_host: nohost", "offline_repo_mirror_host must name"),
    ("offline_repo_mirror_host: '../m1'", "offline_repo_mirror_host must name"),
    ("offline_repo_mirror_port: 0", "offline_repo_mirror_port must be a port"),
    ("offline_repo_mirror_port: 70000", "offline_repo_mirror_port must be a port"),
    ("offline_repo_mirror_port: '-1'", "offline_repo_mirror_port must be a port"),
    ("offline_repo_mirror_port: '80; reboot'", "offline_repo_mirror_port must be a port"),
    ("offline_repo_mirror_port: '8480\\n'", "offline_repo_mirror_port must be a port"),
    ("offline_repo_mirror_port: true", "offline_repo_mirror_port must be a port"),
    ("offline_repo_mirror_address: 'a b'", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: 'http://x'", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: 'x;y'", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: '-x'", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: '../x'", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: 'x/y'", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: ''", "offline_repo_mirror_address must be"),
    ("offline_repo_mirror_address: '" + "a" * 300 + "'", "offline_repo_mirror_address"),
    ("offline_repo_mirror_bind: '0.0.0.0 -x'", "offline_repo_mirror_bind must be an IP"),
    ("offline_repo_mirror_bind: 'any'", "offline_repo_mirror_bind must be an IP"),
    ("offline_repo_mirror_wait: '-1'", "offline_repo_mirror_wait must be whole"),
    ("offline_repo_mirror_wait: '1e3'", "offline_repo_mirror_wait must be whole"),
] + [
    (f'offline_repo_mirror_address: "m{escape}x"', "offline_repo_mirror_address must be")
    for escape in ("\\n", "\\r", "\\v", "\\f", "\\x85", "\\u2028", "\\u2029", "\\t", "\\0")
]


@pytest.mark.parametrize(("line", "expected"), BAD)
def test_bad_variables_are_input_errors(tmp_path: Path, line: str, expected: str) -> None:
    """When the run is compiled, before any host is probed: the variable named, and the
    role's file and line of the check."""
    with pytest.raises(InputError) as caught:
        compiled(tmp_path, f"    {line}\n")
    message = str(caught.value)
    assert expected in message
    assert "roles/offline_repo/tasks/main.yml:" in message


@pytest.mark.parametrize(
    "address",
    ["mirror1", "mirror.site.internal", "10.0.0.5", "[fd00::5]", "m_1-2.example"],
)
def test_good_addresses(tmp_path: Path, address: str) -> None:
    tasks = bound(compiled(tmp_path, f"    offline_repo_mirror_address: '{address}'\n")["c1"])
    [repo] = by_name(tasks, "the offline repository from the mirror")
    assert f"baseurl=http://{address}:8480/rpms/el9/$basearch" in text(repo)


def test_client_refuses_a_bundle_without_the_pinned_key(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "nokey.tar", keys=())
    with pytest.raises(InputError, match="no key with the pinned fingerprint FB93DD32"):
        compiled(tmp_path, bundle=bundle)
