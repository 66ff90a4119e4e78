"""The roles with `offline_bundle` set and unset, planned against fake facts: the bundle
task first, the offline repository per major version, the online Docker repository and key
left out, os_update from the bundle only; unset, nothing of it is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.tools.bundles import write_bundle

from provision.facts.host import OsFact
from provision.planning.planner import bind_facts
from provision.project.compile import compile_run

REPO = Path(__file__).resolve().parents[3]
ROCKY = 'ID="rocky"\nNAME="Rocky Linux"\nVERSION_ID="{v}"\nID_LIKE="rhel centos fedora"\n'
PLAYBOOK = REPO / "playbooks" / "docker-host.yml"


def compiled(tmp_path: Path, bundle: Path | None, extra: str = "") -> list[Any]:
    lines = "all:\n  vars:\n    docker_gpg_fingerprint: FB93DD323340E2138B02E8EB6374A1577B58CADC\n"
    if bundle is not None:
        lines += f"    offline_bundle: {bundle}\n"
    (tmp_path / "inv.yml").write_text(
        lines + extra + "  children:\n    docker_hosts:\n      hosts:\n"
        "        h1: {ansible_connection: local}\n"
    )
    result = compile_run(tmp_path / "inv.yml", PLAYBOOK)
    return result.plays[0][1][0].tasks


def bound(tasks: list[Any], version: str) -> list[Any]:
    os = OsFact().parse(0, ROCKY.format(v=version).encode(), b"")
    result = bind_facts(tasks, [], {"os": os})
    return [t for t in result.tasks if t.task is not None]


def types(tasks: list[Any]) -> list[str]:
    return [t.task.type_name for t in tasks]


@pytest.mark.parametrize("version", ["8.10", "9.5", "10.0"])
def test_offline_bundle_set(tmp_path: Path, version: str) -> None:
    bundle = write_bundle(tmp_path / "b.tar")
    tasks = bound(compiled(tmp_path, bundle), version)
    names = types(tasks)
    assert "offline_bundle" in names
    assert "rpm_key" not in names  # the bundle's keys, pinned on the controller
    assert "repo" not in names  # no online docker-ce repository
    first_dnf = next(i for i, t in enumerate(tasks) if t.task.type_name in ("package", "command"))
    assert names.index("offline_bundle") < first_dnf
    repo_files = [
        t.task for t in tasks if getattr(t.task.params, "dest", "").endswith("offline.repo")
    ]
    assert len(repo_files) == 1
    text = repo_files[0].content.decode()
    major = version.split(".")[0]
    assert f"baseurl=file:///var/lib/provision/offline/current/rpms/el{major}/$basearch" in text
    assert "gpgcheck=1" in text
    assert "gpgkey=file:///var/lib/provision/offline/current/.provision/gpgkeys.asc" in text
    commands = [t.task for t in tasks if t.task.type_name == "command"]
    argvs = [c.params.argv for c in commands if c.params.argv]
    assert ["dnf", "-y", "upgrade", "--disablerepo=*", "--enablerepo=provision-offline"] in argvs
    assert not any(t.task.type_name == "package" and t.task.params.name == ["*"] for t in tasks)


def test_offline_bundle_unset_changes_nothing(tmp_path: Path) -> None:
    tasks = bound(compiled(tmp_path, None), "9.5")
    names = types(tasks)
    assert "offline_bundle" not in names
    assert "rpm_key" in names and "repo" in names
    assert not any("offline" in str(getattr(t.task.params, "dest", "")) for t in tasks)
    assert any(t.task.type_name == "package" and t.task.params.name == ["*"] for t in tasks)


def test_security_only_offline(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "b.tar")
    tasks = bound(compiled(tmp_path, bundle, "    os_update_security_only: true\n"), "9.5")
    argvs = [t.task.params.argv for t in tasks if t.task.type_name == "command"]
    assert [a for a in argvs if a and "upgrade" in a] == [
        ["dnf", "-y", "upgrade", "--security", "--disablerepo=*", "--enablerepo=provision-offline"]
    ]


def test_bundle_without_the_pinned_docker_key_is_refused(tmp_path: Path) -> None:
    from provision.errors import InputError

    bundle = write_bundle(tmp_path / "b.tar", keys=())
    with pytest.raises(InputError, match="no key with the pinned fingerprint FB93DD32"):
        compiled(tmp_path, bundle)


def test_corrupt_bundle_is_an_input_error_before_any_host(tmp_path: Path) -> None:
    from provision.errors import InputError

    bundle = tmp_path / "b.tar"
    bundle.write_bytes(b"not a tar" * 100)
    with pytest.raises(InputError, match="expected a tar file"):
        compiled(tmp_path, bundle)
