"""Mirror mode of role offline_repo on the air-gapped lab (issue 16, item 2: "or one
mirror host serving it over HTTP to the others").

rocky1 is the mirror: it gets the bundle, unpacks and verifies it, and serves its packages
over HTTP. rocky2 gets no bundle, only the bundle's keys (from the controller) and a
repository on http://rocky1:8480/; it installs docker-ce from there with GPG checks, while
the lab's package server and proxy log no request from either host. A second apply changes
nothing on either host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.bundle.testing import bundle_id_of
from provision.lab import lab_paths
from tests.lab.airgaplab import log_lines as log_lines_from
from tests.lab.airgaplab import log_size
from tests.lab.conftest import LabSession, run_on
from tests.lab.labinv import derived_inventory
from tests.lab.test_airgap import make_lab_bundle, provision

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
OFFLINE = "/var/lib/provision/offline"
PORT = 8480
KEYRING = "/etc/pki/rpm-gpg/provision-offline-bundle.asc"

PLAY = """\
- name: the offline bundle through one mirror host
  hosts: {hosts}
  become: true
  roles:
    - offline_repo
    - role: container_cleanup  # the lab image has podman-docker (/usr/bin/docker)
      when: inventory_hostname != offline_repo_mirror_host
  tasks:
    - name: docker-ce from the mirror
      package:
        name: [docker-ce]
        state: present
      when: inventory_hostname != offline_repo_mirror_host
"""


@pytest.fixture(scope="module")
def mirrored(fresh_hosts: LabSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("airgap-mirror")
    bundle = make_lab_bundle(work)
    mirror, client = fresh_hosts.hosts[0], fresh_hosts.hosts[1]
    gapped = provision("lab", "up", "--hosts", str(len(fresh_hosts.hosts)), "--airgap")
    assert gapped.returncode == 0, gapped.stdout + gapped.stderr
    paths = lab_paths()
    marks = {p: log_size(p) for p in (paths.proxy_log, paths.repo_log)}

    def change(data: dict) -> None:
        variables = data["all"]["vars"]
        variables["offline_bundle"] = str(bundle)
        variables["offline_repo_mode"] = "mirror"
        variables["offline_repo_mirror_host"] = mirror.name
        for key in ("dnf_proxy", "docker_http_proxy", "docker_https_proxy"):
            variables[key] = ""  # an air-gapped site has no proxy either

    inventory = derived_inventory(fresh_hosts.inventory, work / "inv.yml", change)
    playbook = work / "mirror.yml"
    playbook.write_text(PLAY.format(hosts=f"{mirror.name}:{client.name}"))
    (work / "roles").symlink_to(ROOT / "roles")
    try:
        done = provision("apply", str(inventory), "-p", str(playbook))
        assert done.returncode == 0, done.stdout + done.stderr
        yield {
            "mirror": mirror,
            "client": client,
            "bundle": bundle,
            "inventory": inventory,
            "playbook": playbook,
            "marks": marks,
            "output": done.stdout,
        }
    finally:
        provision("lab", "up", "--hosts", str(len(fresh_hosts.hosts)), "--no-airgap")


def test_the_mirror_serves_the_bundle(mirrored: dict) -> None:
    mirror = mirrored["mirror"]
    ident = bundle_id_of(mirrored["bundle"])
    assert run_on(mirror, f"readlink {OFFLINE}/current").stdout.strip() == ident
    assert run_on(mirror, "systemctl is-active provision-offline-mirror").stdout.strip() == "active"
    assert (
        run_on(mirror, "systemctl is-enabled provision-offline-mirror").stdout.strip() == "enabled"
    )
    user = run_on(mirror, "ps -o user= -C python3 | sort -u").stdout.split()
    assert user and "root" not in user, user  # a throw-away user, not root
    repo = run_on(mirror, "cat /etc/yum.repos.d/provision-offline.repo").stdout
    assert f"baseurl=file://{OFFLINE}/current/rpms/el9/" in repo
    # only the packages are served: not the images, not the manifest
    listing = run_on(mirror, f"curl -fsS --noproxy '*' http://127.0.0.1:{PORT}/").stdout
    assert "rpms/" in listing and "images" not in listing and "manifest" not in listing


def test_the_client_installs_docker_from_the_mirror(mirrored: dict) -> None:
    mirror, client = mirrored["mirror"], mirrored["client"]
    origin = run_on(client, "dnf -q repoquery --installed --qf '%{from_repo}' docker-ce")
    assert origin.stdout.strip() == "provision-offline", origin.stdout
    repo = run_on(client, "cat /etc/yum.repos.d/provision-offline.repo").stdout
    assert f"baseurl=http://{mirror.address}:{PORT}/rpms/el9/$basearch" in repo
    assert "gpgcheck=1" in repo and f"gpgkey=file://{KEYRING}" in repo
    assert "BEGIN PGP PUBLIC KEY BLOCK" in run_on(client, f"cat {KEYRING}").stdout
    # no copy of the bundle on the client
    assert run_on(client, f"test -e {OFFLINE}/current", check=False).returncode != 0
    # the mirror saw the client's requests; the lab's "internet" saw nobody
    log = run_on(mirror, "journalctl -u provision-offline-mirror --no-pager -o cat").stdout
    assert f"{client.address} " in log and "GET /rpms/el9/" in log, log[-2000:]
    for path, offset in mirrored["marks"].items():
        for host in (mirror, client):
            assert log_lines_from(path, offset, host.address) == [], f"{path.name}: {host.name}"


def test_reapply_changes_nothing(mirrored: dict) -> None:
    again = provision(
        "apply", str(mirrored["inventory"]), "-p", str(mirrored["playbook"]), "--format", "json"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    hosts = json.loads(again.stdout)["hosts"]
    for host in (mirrored["mirror"], mirrored["client"]):
        assert hosts[host.name]["counts"]["changed"] == 0, (host.name, hosts[host.name])


def test_check_reports_the_mirror_from_the_client(mirrored: dict) -> None:
    mirror, client = mirrored["mirror"], mirrored["client"]
    checked = provision("check", str(mirrored["inventory"]), "--limit", client.name)
    line = next(x for x in checked.stdout.splitlines() if "offline mirror" in x)
    assert line.split()[0] == "PASS", checked.stdout
    checked = provision("check", str(mirrored["inventory"]), "--limit", mirror.name)
    line = next(x for x in checked.stdout.splitlines() if "offline bundle" in x)
    assert line.split()[0] == "PASS", checked.stdout
