"""The whole air-gap chain on the lab (issue 16, "Done when"), in one module:

1. `provision bundle create` against rocky1 as the reference host (its dnf reaches the
   lab's repositories through the lab's proxy, the lab's "internet"), with the lab's
   `registry:2` image tarball in the bundle; `provision bundle verify` passes.
2. A copy with one byte changed is refused by `bundle verify` and by `apply` before any
   host is touched, naming the file and the member: nothing is installed.
3. `provision lab up --airgap`; apply with `offline_bundle` on rocky1 and rocky2:
   docker-ce installs from the bundle, and the lab's proxy and package server log no
   request from either host. rocky1's registry role loads `registry:2` from the bundle
   (nothing pulled) and pushes it into itself; rocky2 trusts the site CA, logs in and
   pulls it over TLS with auth, and runs it.
4. Re-apply changes nothing (no second copy of the bundle, no re-push).
5. A wrong registry password fails `provision check` clearly; no password in any output.

6. `bundle list`'s details, the unpacked bundle as a dnf repository checked by
   `sha256sum -c`, and an images-only bundle made by `docker save` on rocky2 (these were
   tests/lab/test_bundle.py's, folded in: one lab bring-up and one bundle create less).

test_airgap.py (the host-side refusal of a member changed after the controller's check,
`provision check` of the host's copy) and test_registry.py (the registry from a tarball
on an online lab, `verify`, plan -v's "kept") stay: each covers what this chain does not.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.bundle.testing import bundle_id_of
from provision.lab import config, lab_paths
from provision.lab.registry_image import ensure_registry_image
from tests.lab.airgaplab import (
    ROOT,
    assert_no_secret,
    corrupted_copy,
    log_lines,
    log_size,
    offline_inventory,
    provision,
    registry_plays,
)
from tests.lab.conftest import LabSession, run_on

pytestmark = pytest.mark.lab
OFFLINE = "/var/lib/provision/offline"
DOCKER_HOST = ROOT / "playbooks" / "docker-host.yml"
REGISTRY = f"{config.host_address(1)}:5000"
IMAGE = f"{REGISTRY}/registry:2"
PASSWORD = "Chain-registry-pw-3c9e1a"
WRONG = "Wrong-chain-pw-8d41f0"
PLAYBOOK = """\
- name: Docker from the offline bundle
  hosts: rocky1,rocky2
  become: true
  roles: [dnf_proxy, offline_repo, container_cleanup, docker_repo, docker_engine]

""" + registry_plays(
    PASSWORD, REGISTRY, IMAGE, name="the private registry, its image from the bundle"
)


def no_secret(*procs: subprocess.CompletedProcess) -> None:
    assert_no_secret(procs, (PASSWORD, WRONG))


def one_byte_changed(bundle: Path, target: Path) -> tuple[Path, str]:
    return corrupted_copy(bundle, target, lambda name: "/docker-ce-" in name)


@pytest.fixture(scope="module")
def chain(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("chain")
    image = ensure_registry_image()
    paths = lab_paths()
    proxy_mark = log_size(paths.proxy_log)
    bundle = work / "site-el9.bundle.tar"
    started = time.monotonic()
    created = provision(
        "bundle", "create", str(fresh_hosts.inventory), "--reference", "rocky1",
        "--release", "el9", "--image-tar", str(image.tarball), "-o", str(bundle),
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    create_seconds = time.monotonic() - started
    reference_requests = log_lines(paths.proxy_log, proxy_mark, config.host_address(1))
    verified = provision("bundle", "verify", str(bundle))
    airgap = provision("lab", "up", "--hosts", str(len(fresh_hosts.hosts)), "--airgap")
    assert airgap.returncode == 0, airgap.stdout + airgap.stderr
    marks = {p: log_size(p) for p in (paths.proxy_log, paths.repo_log)}
    playbook = work / "site.yml"
    playbook.write_text(PLAYBOOK)
    inventory = offline_inventory(fresh_hosts, work / "inv.yml", bundle)
    try:
        first = provision("apply", str(inventory), "-p", str(playbook), "-l", "rocky1,rocky2")
        yield {
            "session": fresh_hosts,
            "image": image,
            "bundle": bundle,
            "created": created,
            "create_seconds": create_seconds,
            "verified": verified,
            "reference_requests": reference_requests,
            "marks": marks,
            "work": work,
            "playbook": playbook,
            "inventory": inventory,
            "first": first,
        }
    finally:
        provision("lab", "up", "--hosts", str(len(fresh_hosts.hosts)), "--no-airgap")


def test_bundle_created_through_the_proxy_and_verified(chain: dict) -> None:
    created = chain["created"]
    assert "bundle id (sha256 of manifest.json): " in created.stdout
    assert "could not check" not in created.stderr  # the Docker packages' signatures were
    print(f"bundle create: {chain['create_seconds']:.1f}s, {chain['bundle'].stat().st_size} B")
    lines = chain["reference_requests"]
    assert any("/docker-ce/linux/rhel/9/x86_64/stable/" in line for line in lines), lines[:5]
    assert any(line.split()[3].endswith("/docker-ce/linux/rhel/gpg") for line in lines)
    assert any(".rpm " in line for line in lines)
    verified = chain["verified"]
    assert verified.returncode == 0, verified.stderr
    assert f"bundle {chain['bundle']}: OK" in verified.stdout
    listed = provision("bundle", "list", str(chain["bundle"]))
    assert re.search(r"^image +registry:2 +" + chain["image"].image_id[:19], listed.stdout, re.M)


def test_list_shows_the_docker_packages_key_and_image(chain: dict) -> None:
    result = provision("bundle", "list", str(chain["bundle"]), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (release,) = doc["releases"]
    assert (release["release"], release["arch"]) == ("el9", "x86_64")
    names = {p["name"]: p for p in release["packages"]}
    for name in ("docker-ce", "docker-ce-cli", "containerd.io", "container-selinux"):
        assert name in names, sorted(names)
    assert names["docker-ce"]["source"].startswith("http://10.200.0.1:8080/docker-ce/")
    vars_file = lab_paths().inventory.parent / ".lab/vars.yml"
    pinned = vars_file.read_text().split('docker_gpg_fingerprint: "')[1].split('"')[0]
    assert [k["fingerprint"] for k in doc["gpg_keys"]] == [pinned]
    assert [(i["ref"], i["id"], i["path"]) for i in doc["images"]] == [
        ("registry:2", chain["image"].image_id, "images/registry_2.tar")
    ]


def test_unpacked_it_is_a_dnf_repository_and_sha256sum_checks_it(
    chain: dict, tmp_path: Path
) -> None:
    with tarfile.open(chain["bundle"]) as archive:
        archive.extractall(tmp_path, filter="data")
    assert (tmp_path / "rpms/el9/x86_64/repodata/repomd.xml").is_file()
    check = subprocess.run(
        ["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"], cwd=tmp_path, capture_output=True
    )
    assert check.returncode == 0, check.stdout


def test_a_corrupted_bundle_is_refused_before_anything_is_installed(chain: dict) -> None:
    bad, member = one_byte_changed(chain["bundle"], chain["work"] / "site-el9-bad.tar")
    verify = provision("bundle", "verify", str(bad))
    assert verify.returncode == 1
    assert f"bundle {bad}: member {member}: sha256 mismatch" in verify.stderr
    host = chain["session"].hosts[2]  # rocky3: never given the good bundle
    inventory = offline_inventory(chain["session"], chain["work"] / "bad.yml", bad)
    done = provision("apply", str(inventory), "-p", str(DOCKER_HOST), "-l", host.name)
    assert done.returncode == 2, done.stdout + done.stderr  # an input error: no host touched
    assert f"bundle {bad}: member {member}: sha256 mismatch" in done.stderr
    assert run_on(host, "rpm -q docker-ce", check=False).returncode != 0
    assert run_on(host, f"test -e {OFFLINE}", check=False).returncode != 0
    assert ".provision-bundle" not in run_on(host, "ls -A /var/tmp").stdout


def test_docker_installs_from_the_bundle_with_no_request_out(chain: dict) -> None:
    first = chain["first"]
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    no_secret(first)
    ident = bundle_id_of(chain["bundle"])
    for host in chain["session"].hosts[:2]:
        assert run_on(host, f"readlink {OFFLINE}/current").stdout.strip() == ident
        origin = run_on(host, "dnf -q repoquery --installed --qf '%{from_repo}' docker-ce")
        assert origin.stdout.strip() == "provision-offline", (host.name, origin.stdout)
        for log, offset in chain["marks"].items():
            assert log_lines(log, offset, host.address) == [], f"{log.name}: {host.name}"


def test_registry_image_from_the_bundle_pulled_over_tls_with_auth(chain: dict) -> None:
    registry, other = chain["session"].hosts[:2]
    loaded = run_on(registry, "docker image inspect --format '{{.Id}}' registry:2")
    assert loaded.stdout.strip() == chain["image"].image_id
    assert run_on(registry, "systemctl is-active docker-registry").stdout.strip() == "active"
    assert run_on(other, f"test -s /etc/docker/certs.d/{REGISTRY}/ca.crt").returncode == 0
    assert "insecure-registries" not in run_on(other, "cat /etc/docker/daemon.json").stdout
    run_on(other, f"docker image rm {IMAGE} >/dev/null 2>&1 || true")
    pulled = run_on(other, f"docker pull {IMAGE}")
    assert "Pull complete" in pulled.stdout or "Downloaded newer image" in pulled.stdout
    assert "2.8.2" in run_on(other, f"docker run --rm {IMAGE} --version").stdout
    anon = run_on(other, f"DOCKER_CONFIG=$(mktemp -d) docker pull {IMAGE}", check=False)
    assert anon.returncode != 0
    assert "no basic auth credentials" in anon.stderr or "unauthorized" in anon.stderr


def test_reapply_changes_nothing(chain: dict) -> None:
    again = provision(
        "apply", str(chain["inventory"]), "-p", str(chain["playbook"]), "-l", "rocky1,rocky2"
    )
    no_secret(again)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    recap = re.findall(r"^(rocky\d)\s+ok=\d+\s+changed=(\d+)", again.stdout, re.M)
    assert sorted(recap) == [("rocky1", "0"), ("rocky2", "0")], again.stdout[-2000:]
    for host in chain["session"].hosts[:2]:
        assert ".provision-bundle" not in run_on(host, "ls -A /var/tmp").stdout
        kept = run_on(host, f"ls {OFFLINE}").stdout.split()
        assert kept == sorted([bundle_id_of(chain["bundle"]), "current"])


def test_wrong_registry_password_fails_check_clearly(chain: dict) -> None:
    args = ("check", str(chain["inventory"]), "-p", str(chain["playbook"]), "-l", "rocky2")
    good = provision(*args)
    bad = provision(*args, "-e", f"docker_registry_client_password={WRONG}")
    no_secret(good, bad)
    line = next(x for x in good.stdout.splitlines() if f"registry {REGISTRY} login" in x)
    assert line.split()[0] == "PASS", good.stdout
    assert bad.returncode == 1
    assert f"registry {REGISTRY}: credentials for alice rejected (401)" in bad.stdout


def test_docker_save_on_an_airgapped_reference_host(chain: dict, tmp_path: Path) -> None:
    """An images-only bundle: `docker save` on rocky2 (Docker from the bundle above, the
    image made with `docker import`; no repository needed, so the air gap does not matter)."""
    host = chain["session"].hosts[1]
    run_on(host, "docker import /opt/lab/busybox-rootfs.tar lab/busybox:1 >/dev/null")
    image_id = run_on(host, "docker image inspect --format '{{.Id}}' lab/busybox:1").stdout.strip()
    output = tmp_path / "images.bundle.tar"
    result = provision(
        "bundle", "create", str(lab_paths().inventory), "--reference", host.name,
        "--image", "lab/busybox:1", "-o", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert provision("bundle", "verify", str(output)).returncode == 0
    doc = json.loads(provision("bundle", "list", str(output), "--format", "json").stdout)
    assert doc["releases"] == [] and doc["gpg_keys"] == []
    assert [(i["ref"], i["id"]) for i in doc["images"]] == [("lab/busybox:1", image_id)]
    left = run_on(host, "ls -d /var/tmp/provision-bundle.* 2>/dev/null || true").stdout
    assert left == ""
