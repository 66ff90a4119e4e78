"""Roles docker_registry and docker_registry_client compiled and bound to fake host facts:
what they write (certificate with the host's names, bcrypt htpasswd, TLS config, unit),
that a second compile reuses the stored certificate, and that the passwords are in no
task's description."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from cryptography import x509

from provision.errors import InputError
from provision.facts.host import FirewalldInfo, KernelInfo
from provision.planning.planner import bind_facts
from provision.project.compile import compile_run
from provision.tls.siteca import cert_sans

REPO = Path(__file__).resolve().parents[3]
PASSWORD = "Unit-registry-pw-93b1"
CLIENT_PW = "Client-pw-0a7e55"
FACTS = {
    "uname": KernelInfo("6.1.0", "x86_64", "reg1.example.internal"),
    "firewalld": FirewalldInfo("active", "nftables"),
}


def compiled(tmp_path: Path, host_vars: str, roles: tuple[str, ...]) -> list[Any]:
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    reg1:\n      ansible_connection: local\n"
        "      ansible_host: 10.0.0.5\n" + host_vars
    )
    listed = "".join(f"    - {name}\n" for name in roles)
    (tmp_path / "play.yml").write_text(f"- hosts: all\n  become: true\n  roles:\n{listed}")
    if not (tmp_path / "roles").exists():
        (tmp_path / "roles").symlink_to(REPO / "roles")
    result = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    tasks = result.plays[0][1][0].tasks
    bound = bind_facts(tasks, [], FACTS)
    assert bound.missing == frozenset()
    return [t for t in bound.tasks if t.task is not None]


REGISTRY_VARS = (
    f"      docker_registry_users: [{{name: alice, password: '{PASSWORD}'}}]\n"
    "      docker_registry_image_tar: /opt/registry-2.tar\n"
    "      docker_registry_push_images: [{source: 'registry:2', repository: lab/reg, tag: '2'}]\n"
)


def by_name(tasks: list[Any], name: str) -> Any:
    found = [t.task for t in tasks if t.name == name]
    assert found, [t.name for t in tasks]
    return found[0]


def content(task: Any) -> str:
    value = task.content
    return value.decode() if isinstance(value, bytes) else str(value)


def test_registry_role_writes_tls_htpasswd_config_and_unit(tmp_path: Path) -> None:
    tasks = compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    cert = x509.load_pem_x509_certificate(
        content(by_name(tasks, "registry server certificate")).encode()
    )
    assert cert_sans(cert) == ["10.0.0.5", "reg1", "reg1.example.internal"]
    ca = x509.load_pem_x509_certificate(content(by_name(tasks, "registry CA certificate")).encode())
    cert.verify_directly_issued_by(ca)
    line = content(by_name(tasks, "registry users (htpasswd, bcrypt)"))
    user, hashed = line.strip().split(":", 1)
    assert user == "alice" and bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    config = yaml.safe_load(content(by_name(tasks, "registry configuration")))
    assert config["http"]["addr"] == ":5000"
    assert config["http"]["tls"]["certificate"] == "/etc/docker/registry/tls/server.crt"
    assert config["auth"] == {
        "htpasswd": {"realm": "Registry Realm", "path": "/etc/docker/registry/htpasswd"}
    }
    unit = content(by_name(tasks, "registry systemd unit"))
    assert "--network host" in unit and "Restart=always" in unit
    assert (tmp_path / ".provision/tls/ca.key").stat().st_mode & 0o777 == 0o600
    push = by_name(tasks, "images pushed into the registry")
    words = shlex.split(push.params.cmd)
    assert words[1:4] == ["set", "--", "10.0.0.5:5000"] and "lab/reg:2" in words


def test_second_compile_keeps_the_certificate_and_htpasswd(tmp_path: Path) -> None:
    first = compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    second = compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    for name in ("registry server certificate", "registry users (htpasswd, bcrypt)"):
        assert content(by_name(first, name)) == content(by_name(second, name))
    reason = by_name(second, "server certificate on the controller")
    assert "kept (names match" in reason.message


def test_new_name_reissues_with_reason(tmp_path: Path) -> None:
    compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    tasks = compiled(
        tmp_path,
        REGISTRY_VARS + "      docker_registry_tls_extra_names: [registry.example.internal]\n",
        ("docker_registry",),
    )
    message = by_name(tasks, "server certificate on the controller").message
    assert "issued: names changed: added registry.example.internal" in message


def test_token_auth_config(tmp_path: Path) -> None:
    bundle = tmp_path / "signer.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    tasks = compiled(
        tmp_path,
        REGISTRY_VARS + "      docker_registry_auth: token\n"
        "      docker_registry_token_realm: https://auth.example/token\n"
        "      docker_registry_token_service: reg\n"
        "      docker_registry_token_issuer: auth\n"
        f"      docker_registry_token_rootcertbundle: {bundle}\n",
        ("docker_registry",),
    )
    config = yaml.safe_load(content(by_name(tasks, "registry configuration")))
    assert config["auth"] == {
        "token": {
            "realm": "https://auth.example/token",
            "service": "reg",
            "issuer": "auth",
            "rootcertbundle": "/etc/docker/registry/tls/token-rootcerts.pem",
        }
    }
    assert content(by_name(tasks, "token server's signing certificates")) == bundle.read_text()


@pytest.mark.parametrize(
    ("users", "error"),
    [
        ("[{name: 'a:b', password: x1234}]", "a user name"),
        ("[{name: alice, password: ''}]", "non-empty"),
        ("[{name: alice}]", "non-empty"),
        ("[{name: alice, password: x1234, role: admin}]", "keys name and password"),
        ("[{name: alice, password: x1234}, {name: alice, password: y1234}]", "listed twice"),
        ("[alice]", "keys name and password"),
    ],
)
def test_bad_users_are_input_errors(tmp_path: Path, users: str, error: str) -> None:
    with pytest.raises(InputError, match=error) as err:
        compiled(
            tmp_path,
            f"      docker_registry_users: {users}\n",
            ("docker_registry",),
        )
    assert "x1234" not in str(err.value) and "y1234" not in str(err.value)


def test_client_role_trusts_the_site_ca(tmp_path: Path) -> None:
    server = compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    ca = content(by_name(server, "registry CA certificate"))
    tasks = compiled(
        tmp_path,
        "      docker_registry_client_registry: 10.0.0.5:5000\n"
        "      docker_registry_client_user: alice\n"
        f"      docker_registry_client_password: {CLIENT_PW}\n",
        ("docker_registry_client",),
    )
    trust = by_name(tasks, "the engine trusts the registry's CA")
    assert trust.params.dest == "/etc/docker/certs.d/10.0.0.5:5000/ca.crt"
    assert content(trust) == ca
    login = by_name(tasks, "root is logged in to the registry")
    assert CLIENT_PW in login.params.cmd  # reaches the host only as a builtin's argument
    assert "--password-stdin" in login.params.cmd


def test_client_role_off_without_registry(tmp_path: Path) -> None:
    tasks = compiled(tmp_path, "", ("docker_registry_client",))
    assert tasks == []


def test_offline_bundle_images_loaded_and_pushed(tmp_path: Path) -> None:
    from provision.bundle.testing import make_bundle

    (tmp_path / "registry.tar").write_bytes(b"registry image")
    (tmp_path / "app.tar").write_bytes(b"app image")
    make_bundle(
        tmp_path,
        images=[
            ("registry:2", tmp_path / "registry.tar"),
            ("docker.io/library/app:1.0", tmp_path / "app.tar"),
        ],
        name="bundle.tar",
    )
    tasks = compiled(
        tmp_path,
        f"      docker_registry_users: [{{name: alice, password: '{PASSWORD}'}}]\n"
        f"      offline_bundle: {tmp_path / 'bundle.tar'}\n",
        ("docker_registry",),
    )
    load = by_name(
        tasks, "registry image loaded from its tarball (skipped when that image ID is present)"
    )
    assert load.params.argv[-1] == "/var/lib/provision/offline/current/images/registry_2.tar"
    loads = [t.task for t in tasks if t.name.startswith("bundle images loaded")]
    assert [t.params.argv[-1] for t in loads] == [
        "/var/lib/provision/offline/current/images/registry_2.tar",
        "/var/lib/provision/offline/current/images/docker.io_library_app_1.0.tar",
    ]
    pushes = [t.task for t in tasks if t.name == "images pushed into the registry"]
    words = [shlex.split(t.params.cmd) for t in pushes]
    assert [w[4] for w in words] == ["registry:2", "docker.io/library/app:1.0"]
    assert [w[5] for w in words] == ["registry:2", "library/app:1.0"]


def test_verify_skips_role_defaults_that_read_host_facts(tmp_path: Path) -> None:
    """verify gives the role's tests its variables; those that read host facts (the TLS
    names) are taken from a task that has the facts, or left out: never an internal error
    (FactsNeeded)."""
    from provision.verify.runner import targets_of

    compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    targets = targets_of(compile_run(tmp_path / "inv.yml", tmp_path / "play.yml"))
    role_vars = targets["reg1"].role_vars
    assert role_vars["docker_registry_address"] == "10.0.0.5:5000"


def test_passwords_are_secrets_and_names_are_not(tmp_path: Path) -> None:
    compiled(tmp_path, REGISTRY_VARS, ("docker_registry",))
    secrets = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml").secrets()
    assert PASSWORD in secrets
    assert "alice" not in secrets


def test_client_password_is_a_secret(tmp_path: Path) -> None:
    compiled(
        tmp_path,
        "      docker_registry_client_registry: 10.0.0.5:5000\n"
        "      docker_registry_client_user: alice\n"
        f"      docker_registry_client_password: {CLIENT_PW}\n",
        ("docker_registry_client",),
    )
    secrets = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml").secrets()
    assert CLIENT_PW in secrets and "alice" not in secrets


def test_client_finds_the_registry_by_group(tmp_path: Path) -> None:
    (tmp_path / "inv.yml").write_text(
        "all:\n  children:\n    docker_registry:\n      hosts:\n"
        "        reg1: {ansible_connection: local, ansible_host: 10.0.0.5}\n"
        "    docker_hosts:\n      hosts:\n"
        "        app1: {ansible_connection: local, ansible_host: 10.0.0.6}\n"
    )
    (tmp_path / "play.yml").write_text(
        "- hosts: docker_hosts\n  become: true\n  roles: [docker_registry_client]\n"
    )
    (tmp_path / "roles").symlink_to(REPO / "roles")
    result = compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    tasks = bind_facts(result.plays[0][1][0].tasks, [], FACTS).tasks
    trust = [t.task for t in tasks if t.name == "the engine trusts the registry's CA"][0]
    assert trust.params.dest == "/etc/docker/certs.d/10.0.0.5:5000/ca.crt"


@pytest.mark.parametrize(
    "users",
    ["[{name: 'a b', password: x1234}]", "[{name: alice, password: x1234, extra: 1}]"],
)
def test_bad_users_refused_before_any_host_is_probed(tmp_path: Path, users: str) -> None:
    """At compile time (no facts yet), by the role's first assert."""
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    reg1:\n      ansible_connection: local\n"
        f"      docker_registry_users: {users}\n"
    )
    (tmp_path / "play.yml").write_text("- hosts: all\n  roles: [docker_registry]\n")
    (tmp_path / "roles").symlink_to(REPO / "roles")
    with pytest.raises(InputError) as err:
        compile_run(tmp_path / "inv.yml", tmp_path / "play.yml")
    assert "docker_registry_users[0]" in str(err.value)
    assert "roles/docker_registry/tasks/main.yml" in str(err.value)
    assert "x1234" not in str(err.value)
