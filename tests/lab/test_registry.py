"""The private registry on the lab (issue 16, items 3-5): rocky1 runs `registry:2` (built
from Debian's docker-registry package, loaded from a tarball: the lab has no Docker Hub)
with TLS from the site CA and htpasswd users; an image is pushed into it; rocky2 trusts the
CA, logs in, pulls the image over TLS with auth and runs it. Re-apply changes nothing (no
re-push: digest-compared). A wrong password fails `provision check` with a clear message,
and no password appears in any output."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from provision.lab import config, lab_paths, ssh_command
from provision.lab.registry_image import ON_HOST, ensure_registry_image
from tests.lab.airgaplab import assert_no_secret, provision, registry_plays
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
REGISTRY = f"{config.host_address(1)}:5000"
PASSWORD = "Lab-registry-pw-7f3a9c"
WRONG = "Wrong-registry-pw-51e0bd"
IMAGE = f"{REGISTRY}/lab/registry:2"
PLAYBOOK = f"""\
- name: Docker engine on both hosts
  hosts: rocky1,rocky2
  become: true
  vars:
    # the engine pulls through the lab's proxy: the registry is reached directly
    docker_no_proxy: "localhost,127.0.0.1,{config.host_address(1)}"
  roles: [dnf_proxy, container_cleanup, docker_repo, docker_engine]

""" + registry_plays(
    PASSWORD,
    REGISTRY,
    IMAGE,
    registry_vars=f"""\
    docker_registry_image_tar: {ON_HOST}
    docker_registry_push_images:
      - {{source: "registry:2", repository: lab/registry, tag: "2"}}
""",
)


def no_secret(proc: subprocess.CompletedProcess) -> None:
    assert_no_secret([proc], (PASSWORD, WRONG))


@pytest.fixture(scope="module")
def applied(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> dict:
    image = ensure_registry_image()
    reg = fresh_hosts.hosts[0]
    with open(image.tarball, "rb") as fh:
        subprocess.run(
            [*ssh_command(reg, lab_paths(), "root"), f"mkdir -p /opt/lab && cat > {ON_HOST}"],
            stdin=fh,
            check=True,
            timeout=120,
        )
    folder = tmp_path_factory.mktemp("registry")
    playbook = folder / "registry.yml"
    playbook.write_text(PLAYBOOK)
    inv = str(fresh_hosts.inventory)
    limit = ("-l", "rocky1,rocky2")
    first = provision("apply", inv, "-p", str(playbook), *limit)
    return {
        "image": image,
        "playbook": playbook,
        "folder": folder,
        "inv": inv,
        "limit": limit,
        "first": first,
    }


def test_first_apply_runs_registry_and_pushes(applied: dict, fresh_hosts: LabSession) -> None:
    first = applied["first"]
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    no_secret(first)
    assert (applied["folder"] / ".provision/tls/hosts/rocky1/server.crt").is_file()
    reg = fresh_hosts.hosts[0]
    inspect = run_on(reg, "docker image inspect --format '{{.Id}}' registry:2").stdout.strip()
    assert inspect == applied["image"].image_id
    assert run_on(reg, "systemctl is-active docker-registry").stdout.strip() == "active"
    key = applied["folder"] / ".provision" / "tls" / "ca.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert oct(key.parent.stat().st_mode & 0o777) == "0o700"
    # on the host: a bcrypt hash, never the password
    htpasswd = run_on(reg, "cat /etc/docker-registry/htpasswd").stdout
    assert htpasswd.startswith("alice:$2b$") and PASSWORD not in htpasswd


def test_second_host_pulls_over_tls_with_auth_and_runs(
    applied: dict, fresh_hosts: LabSession
) -> None:
    other = fresh_hosts.hosts[1]
    assert run_on(other, f"test -s /etc/docker/certs.d/{REGISTRY}/ca.crt").returncode == 0
    daemon = run_on(other, "cat /etc/docker/daemon.json").stdout
    assert "insecure-registries" not in daemon
    run_on(other, f"docker image rm {IMAGE} >/dev/null 2>&1 || true")
    pulled = run_on(other, f"docker pull {IMAGE}")
    assert "Downloaded newer image" in pulled.stdout or "Pull complete" in pulled.stdout
    ran = run_on(other, f"docker run --rm {IMAGE} --version")
    assert "2.8.2" in ran.stdout
    # without the login, the registry refuses: auth is really on
    anon = run_on(other, f"DOCKER_CONFIG=$(mktemp -d) docker pull {IMAGE}", check=False)
    assert anon.returncode != 0
    assert "no basic auth credentials" in anon.stderr or "unauthorized" in anon.stderr


def test_reapply_changes_nothing_and_does_not_repush(applied: dict) -> None:
    plan = provision(
        "plan", "-v", applied["inv"], "-p", str(applied["playbook"]), *applied["limit"]
    )
    no_secret(plan)
    assert plan.returncode == 0, plan.stdout[-4000:]
    assert "kept (names match" in plan.stdout
    again = provision("apply", applied["inv"], "-p", str(applied["playbook"]), *applied["limit"])
    no_secret(again)
    assert again.returncode == 0, again.stdout[-3000:]
    recap = re.findall(r"^(rocky\d)\s+ok=\d+\s+changed=(\d+)", again.stdout, re.M)
    assert sorted(recap) == [("rocky1", "0"), ("rocky2", "0")], again.stdout[-2000:]


def test_verify_pulls_and_runs_from_the_registry(applied: dict) -> None:
    verify = provision("verify", applied["inv"], "-p", str(applied["playbook"]), *applied["limit"])
    no_secret(verify)
    assert verify.returncode == 0, verify.stdout[-4000:] + verify.stderr[-2000:]
    # the same test fails on an image the registry does not have: it really pulls
    missing = provision(
        "verify",
        applied["inv"],
        "-p",
        str(applied["playbook"]),
        "-l",
        "rocky2",
        "-e",
        f"docker_check_registry_image={REGISTRY}/lab/absent:1",
    )
    no_secret(missing)
    assert missing.returncode == 1
    assert "test_registry_image_pulls_and_runs" in missing.stdout, missing.stdout[-2000:]


def test_check_passes_then_wrong_password_fails_clearly(applied: dict) -> None:
    args = ("check", applied["inv"], "-p", str(applied["playbook"]), "-l", "rocky2")
    good = provision(*args, "--format", "json")
    no_secret(good)
    doc = json.loads(good.stdout)
    results = {r["check"]: r for r in doc["hosts"]["rocky2"]["results"]}
    assert results[f"registry {REGISTRY}"]["level"] == "PASS", results
    assert results[f"registry {REGISTRY} login"]["level"] == "PASS", results
    bad = provision(*args, "-e", f"docker_registry_client_password={WRONG}")
    no_secret(bad)
    assert bad.returncode == 1
    assert f"registry {REGISTRY}: credentials for alice rejected (401)" in bad.stdout
