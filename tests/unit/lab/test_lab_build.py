"""Pure parts of the lab build: RPM specs, the package set, repo layout, cache key."""

from __future__ import annotations

import configparser

import pytest

from provision.lab import config, image
from provision.lab.repos import RepoLayout, baseos_repo_text, docker_repo_text
from provision.lab.rpms import Package, lab_packages, payload_text, render_spec


def by_name(name: str) -> Package:
    return next(p for p in lab_packages() if p.name == name)


def test_spec_has_metadata_requires_and_files():
    pkg = by_name("docker-ce")
    spec = render_spec(pkg, "/stage/docker-ce")
    assert "Name: docker-ce\n" in spec
    assert "Epoch: 3\n" in spec
    assert "Version: 20.10.24\n" in spec
    assert "AutoReqProv: no" in spec
    assert "%global debug_package %{nil}" in spec
    assert "Requires: docker-ce-cli" in spec
    assert "Requires: containerd.io >= 1.6.4" in spec
    assert "Requires: iptables" in spec
    assert "cp -a /stage/docker-ce/. %{buildroot}/" in spec
    assert "/usr/bin/dockerd\n" in spec
    assert "/usr/lib/systemd/system/docker.service\n" in spec
    assert "%pre\n" in spec and "groupadd -r docker" in spec
    assert "BuildArch" not in spec  # an x86_64 package


def test_noarch_and_config_files():
    spec = render_spec(by_name("containerd.io"), "/s")
    assert "%config(noreplace) /etc/containerd/config.toml" in spec
    assert "%dir /etc/containerd" in spec
    assert "Provides: runc = " in spec and "Obsoletes: runc" in spec
    assert "BuildArch: noarch" in render_spec(by_name("rocky-release"), "/s")


def test_rocky_release_provides_releasever_and_os_release():
    pkg = by_name("rocky-release")
    assert "system-release(releasever) = 9" in pkg.provides
    text = payload_text(pkg.files["/usr/lib/os-release"], pkg, image.DATA).decode()
    assert 'ID="rocky"' in text and 'VERSION_ID="9.5"' in text
    assert 'PLATFORM_ID="platform:el9"' in text


def test_package_set_matches_the_issue():
    pkgs = lab_packages()
    docker = {p.name for p in pkgs if p.repo == "docker"}
    assert docker == {
        "docker-ce",
        "docker-ce-cli",
        "containerd.io",
        "docker-buildx-plugin",
        "docker-compose-plugin",
    }
    pre = {p.name for p in pkgs if p.preinstalled}
    assert {"podman", "podman-docker", "runc", "rocky-release", "dnf-plugins-core"} <= pre
    # podman-docker and docker-ce-cli both own /usr/bin/docker: the real conflict
    assert "/usr/bin/docker" in by_name("podman-docker").files
    assert "/usr/bin/docker" in by_name("docker-ce-cli").files
    # dnf update has real work: an old tzdata is installed, a newer one is served
    tz = [p for p in pkgs if p.name == "tzdata"]
    installed = [p.version for p in tz if p.preinstalled]
    served = [p.version for p in tz if p.served]
    assert installed and max(served) > max(installed)
    assert "dnf-command(config-manager)" in by_name("dnf-plugins-core").provides


def test_every_payload_source_is_known():
    for pkg in lab_packages():
        for dest, source in pkg.files.items():
            assert dest.startswith("/"), dest
            kind = source.split(":", 1)[0]
            assert kind in {"deb", "data", "text", "stub", "plugin", "pypi"}, source
            if kind not in ("deb", "pypi"):
                assert payload_text(source, pkg, image.DATA)


def test_cli_plugin_stub_answers_metadata():
    pkg = by_name("docker-buildx-plugin")
    text = payload_text(pkg.files["/usr/libexec/docker/cli-plugins/docker-buildx"], pkg, image.DATA)
    assert b"docker-cli-plugin-metadata" in text and b'"SchemaVersion":"0.1.0"' in text


def test_repo_layout_is_the_real_one():
    layout = RepoLayout()
    assert layout.docker_repo_file == "docker-ce/linux/rhel/docker-ce.repo"
    assert layout.docker_gpg == "docker-ce/linux/rhel/gpg"
    assert layout.docker_stable == "docker-ce/linux/rhel/9/x86_64/stable"
    ce = by_name("docker-ce")
    assert layout.rpm_path(ce) == (
        "docker-ce/linux/rhel/9/x86_64/stable/Packages/docker-ce-20.10.24-1.el9.x86_64.rpm"
    )
    assert layout.rpm_path(by_name("sudo")).startswith("rocky/9/BaseOS/x86_64/os/Packages/s/")


def test_docker_repo_file_points_at_the_lab():
    text = docker_repo_text("http://10.200.0.1:8080")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    stable = parser["docker-ce-stable"]
    assert (
        stable["baseurl"]
        == "http://10.200.0.1:8080/docker-ce/linux/rhel/$releasever/$basearch/stable"
    )
    assert stable["enabled"] == "1" and stable["gpgcheck"] == "1"
    assert stable["gpgkey"] == "http://10.200.0.1:8080/docker-ce/linux/rhel/gpg"
    assert parser["docker-ce-test"]["enabled"] == "0"


def test_baseos_repo_is_signed_and_local():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(baseos_repo_text(config.REPO_BASE))
    repo = parser["baseos"]
    assert repo["gpgcheck"] == "1"
    assert repo["baseurl"].startswith(config.REPO_BASE + "/rocky/$releasever/BaseOS/")
    assert repo["gpgkey"] == "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9"


def test_cache_key_changes_with_the_build(tmp_path, monkeypatch):
    key = image.cache_key()
    assert key == image.cache_key() and len(key) == 16
    fake = tmp_path / "lab"
    (fake / "data").mkdir(parents=True)
    for name in image.BUILD_INPUTS:
        (fake / name).write_text((image.HERE / name).read_text())
    for f in image.DATA.iterdir():
        (fake / "data" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(image, "HERE", fake)
    monkeypatch.setattr(image, "DATA", fake / "data")
    assert image.cache_key() == key
    (fake / "data" / "docker.service").write_text("changed\n")
    assert image.cache_key() != key


def test_incomplete_build_is_not_a_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_ROOT", tmp_path)
    path = image.image_path()
    (path / "rootfs").mkdir(parents=True)
    assert image.current_image() is None
    (path / "COMPLETE").write_text("x")
    assert image.current_image() == image.Image(path)


@pytest.mark.parametrize(("index", "address"), [(1, "10.200.0.11"), (3, "10.200.0.13")])
def test_host_addresses(index, address):
    assert config.host_address(index) == address
    assert config.host_index(config.host_name(index)) == index


def test_bad_host_names():
    for bad in ("rocky0", "web1", "rocky", "rocky999"):
        with pytest.raises(ValueError):
            config.host_index(bad)
    assert len(config.veth_name("rocky40")) <= 15
