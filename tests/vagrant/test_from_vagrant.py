"""`provision inventory from-vagrant`: parser, inventory writer and CLI, on captured outputs."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from provision.cli import main
from provision.errors import InputError
from provision.project.hostconfig import host_config, parse_ssh_args
from provision.project.inventory import load_inventory
from provision.project.templating import Variables
from provision.vagrant import (
    from_vagrant,
    inventory_data,
    parse_ssh_config,
    render_inventory,
    run_vagrant_ssh_config,
)

DATA = Path(__file__).parent / "data"


def read(name: str) -> str:
    return (DATA / name).read_text()


def connections(path: Path) -> dict:
    """Each host's connection as provision will use it (after loading the inventory)."""
    inventory = load_inventory(path)
    result = {}
    for name in inventory.hosts:
        merged, origins = inventory.host_variables(name)
        config = host_config(name, Variables(merged, origins), inventory.directory, False, None)
        result[name] = config
    return result


def test_virtualbox_output_parses():
    hosts = parse_ssh_config(read("virtualbox-2-hosts.txt"))
    assert [h.name for h in hosts] == ["rocky1", "rocky2"]
    first = hosts[0]
    assert (first.hostname, first.user, first.port) == ("127.0.0.1", "vagrant", 2222)
    assert first.identity_files == [
        "/home/trainer/provision/.vagrant/machines/rocky1/virtualbox/private_key"
    ]
    assert hosts[1].port == 2200
    # Vagrant's host-key switches are not carried over: provision always checks host keys.
    assert "StrictHostKeyChecking" in first.ignored
    assert "UserKnownHostsFile" in first.ignored


def test_quoted_identity_file_with_space():
    hosts = parse_ssh_config(read("libvirt-3-hosts.txt"))
    assert [h.hostname for h in hosts] == ["192.168.121.57", "192.168.121.112", "192.168.121.9"]
    assert hosts[2].identity_files == [
        "/home/trainer/Docker hosts/.vagrant/machines/rocky3/libvirt/private_key"
    ]


def test_equals_form_and_comments():
    text = "# captured\nHost=rocky1\n  HostName = 10.1.2.3\n  Port=2022\n  User vagrant\n"
    (host,) = parse_ssh_config(text)
    assert (host.name, host.hostname, host.port, host.user) == (
        "rocky1",
        "10.1.2.3",
        2022,
        "vagrant",
    )


@pytest.mark.parametrize(
    "case",
    ["virtualbox-2-hosts.txt", "libvirt-3-hosts.txt", "libvirt-remote-proxycommand.txt"],
)
def test_captured_output_becomes_valid_inventory(tmp_path, case):
    hosts = parse_ssh_config(read(case))
    text = render_inventory(hosts, "docker_hosts", "/tmp/kh", case)
    path = tmp_path / "vagrant.yml"
    path.write_text(text)
    inventory = load_inventory(path)
    assert inventory.match("docker_hosts") == [h.name for h in hosts]
    configs = connections(path)
    for host in hosts:
        config = configs[host.name]
        assert config.address == host.hostname
        assert config.port == host.port
        assert config.user == "vagrant"
        assert config.key_file == host.identity_files[0]
        assert config.become is True
        assert config.known_hosts == "/tmp/kh"


def test_proxy_command_survives_quoting(tmp_path):
    hosts = parse_ssh_config(read("libvirt-remote-proxycommand.txt"))
    data = inventory_data(hosts, "docker_hosts", "/tmp/kh")
    args = data["all"]["children"]["docker_hosts"]["hosts"]["default"]["ansible_ssh_common_args"]
    jump, proxy = parse_ssh_args(args, None)
    assert jump is None
    assert proxy == (
        "ssh -q -i /home/trainer/.ssh/id_ed25519 -l trainer kvm01.example.internal nc %h %p"
    )
    path = tmp_path / "inv.yml"
    path.write_text(render_inventory(hosts, "docker_hosts", "/tmp/kh", "x"))
    assert connections(path)["default"].proxy_command == proxy


def test_proxy_jump():
    (host,) = parse_ssh_config("Host a\n  HostName 10.0.0.5\n  ProxyJump ops@bastion:2222\n")
    data = inventory_data([host], "g", "/kh")
    args = data["all"]["children"]["g"]["hosts"]["a"]["ansible_ssh_common_args"]
    assert shlex.split(args) == ["-o", "ProxyJump ops@bastion:2222"]
    assert parse_ssh_args(args, None) == ("ops@bastion:2222", None)


def test_host_without_hostname_uses_its_name():
    (host,) = parse_ssh_config("Host rocky9.example.internal\n  User vagrant\n")
    data = inventory_data([host], "docker_hosts", "/kh")
    entry = data["all"]["children"]["docker_hosts"]["hosts"]["rocky9.example.internal"]
    assert entry == {"ansible_host": "rocky9.example.internal", "ansible_user": "vagrant"}


@pytest.mark.parametrize(
    ("case", "line", "words"),
    [
        ("bad-port.txt", 9, "Port of 'rocky2' must be a number"),
        ("key-before-host.txt", 1, "HostName before any `Host` line"),
        ("wildcard-host.txt", 1, "is not one machine name"),
        ("not-ssh-config.txt", 1, "before any `Host` line"),
        ("empty.txt", None, "no machine found"),
        ("duplicate-host.txt", 3, "appears twice"),
    ],
)
def test_bad_input_is_reported_with_line(case, line, words):
    with pytest.raises(InputError) as info:
        parse_ssh_config(read(case), case)
    assert words in info.value.message
    assert info.value.location is not None
    assert info.value.location.file == case
    assert info.value.location.line == line


@pytest.mark.parametrize("group", ["all", "ungrouped", "bad group", "", "rocky1"])
def test_bad_group_name(group):
    hosts = parse_ssh_config(read("virtualbox-2-hosts.txt"))
    with pytest.raises(InputError):
        inventory_data(hosts, group, "/kh")


def test_known_hosts_defaults_to_the_vagrant_dir(tmp_path):
    text = from_vagrant(tmp_path, ssh_config_file=DATA / "virtualbox-2-hosts.txt")
    data = yaml.safe_load(text)
    assert data["all"]["vars"]["provision_known_hosts"] == str(
        tmp_path / ".vagrant" / "provision_known_hosts"
    )
    assert text.startswith("# Written by `provision inventory from-vagrant`")


# ---- the CLI ----


def invoke(*args: str):
    return CliRunner().invoke(main, ["inventory", "from-vagrant", *args])


def test_cli_writes_output_file(tmp_path):
    out = tmp_path / "vagrant.yml"
    result = invoke(
        "--ssh-config-file", str(DATA / "virtualbox-2-hosts.txt"), "-o", str(out), "--group", "lab"
    )
    assert result.exit_code == 0, result.output
    inventory = load_inventory(out)
    assert inventory.match("lab") == ["rocky1", "rocky2"]
    assert connections(out)["rocky2"].port == 2200


def test_cli_prints_to_stdout():
    result = invoke("--ssh-config-file", str(DATA / "libvirt-3-hosts.txt"))
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert list(data["all"]["children"]["docker_hosts"]["hosts"]) == ["rocky1", "rocky2", "rocky3"]


@pytest.mark.parametrize(
    "case", ["bad-port.txt", "empty.txt", "not-ssh-config.txt", "wildcard-host.txt"]
)
def test_cli_bad_input_exit_2_no_traceback(case):
    result = invoke("--ssh-config-file", str(DATA / case))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output
    assert case in result.output


def test_cli_missing_file_exit_2():
    result = invoke("--ssh-config-file", "/nonexistent/ssh-config.txt")
    assert result.exit_code == 2
    assert "cannot read /nonexistent/ssh-config.txt" in result.output


def test_cli_no_vagrantfile_exit_2(tmp_path):
    result = invoke("--vagrant-dir", str(tmp_path))
    assert result.exit_code == 2
    assert f"no Vagrantfile in {tmp_path}" in result.output


# ---- running Vagrant (a stand-in `vagrant` script) ----


def fake_vagrant(tmp_path: Path, body: str) -> str:
    script = tmp_path / "vagrant"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_runs_vagrant_ssh_config_in_the_dir(tmp_path):
    (tmp_path / "Vagrantfile").write_text("")
    capture = DATA / "virtualbox-2-hosts.txt"
    script = fake_vagrant(tmp_path, f'[ "$1" = ssh-config ] && pwd > called && cat {capture}\n')
    assert run_vagrant_ssh_config(tmp_path, script) == capture.read_text()
    assert (tmp_path / "called").read_text().strip() == str(tmp_path)


def test_vagrant_failure_is_an_input_error(tmp_path):
    (tmp_path / "Vagrantfile").write_text("")
    script = fake_vagrant(
        tmp_path,
        "echo 'The provider for this Vagrant-managed machine is reporting that it is not"
        " yet ready for SSH.' >&2; exit 1\n",
    )
    with pytest.raises(InputError) as info:
        run_vagrant_ssh_config(tmp_path, script)
    assert "not yet ready for SSH" in info.value.message


def test_vagrant_missing(tmp_path):
    (tmp_path / "Vagrantfile").write_text("")
    with pytest.raises(InputError) as info:
        run_vagrant_ssh_config(tmp_path, str(tmp_path / "no-such-vagrant"))
    assert "not found" in info.value.message


def test_partial_answer_keeps_the_running_machines(tmp_path, capfd):
    (tmp_path / "Vagrantfile").write_text("")
    capture = DATA / "virtualbox-2-hosts.txt"
    script = fake_vagrant(tmp_path, f"cat {capture}; echo 'rocky3 is not created' >&2; exit 1\n")
    assert "Host rocky2" in run_vagrant_ssh_config(tmp_path, script)
    assert "rocky3 is not created" in capfd.readouterr().err
