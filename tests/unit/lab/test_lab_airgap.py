"""`provision lab up --airgap`: the nft rules (pure), the choice of nft, the CLI option."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from provision.lab import airgap, config
from provision.lab.util import LabError


def test_rules_reject_new_connections_from_the_hosts_only() -> None:
    text = airgap.rules(["10.200.0.11", "10.200.0.12"])
    assert "elements = { 10.200.0.11, 10.200.0.12 }" in text
    assert "type filter hook input priority -10; policy accept;" in text
    lines = [line.strip() for line in text.splitlines()]
    established = lines.index(
        f'iifname "{config.BRIDGE}" ip saddr @airgapped ct state established,related accept'
    )
    reset = lines.index(
        f'iifname "{config.BRIDGE}" ip saddr @airgapped meta l4proto tcp reject with tcp reset'
    )
    assert established < reset  # provision's own SSH replies pass first
    # rewritten whole: an existing table is deleted in the same transaction
    assert text.startswith(f"table inet {airgap.TABLE} {{}}\ndelete table inet {airgap.TABLE}\n")
    assert "forward" not in text  # hosts reach each other over the bridge


@pytest.mark.parametrize("address", ["192.168.1.5", "10.200.1.11", "10.200.0.11; flush ruleset"])
def test_enable_refuses_addresses_outside_the_lab(address: str, tmp_path: Path) -> None:
    with pytest.raises(LabError, match="not a lab address"):
        airgap.enable([address], tmp_path)


def test_nft_of_the_image_when_the_machine_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(airgap.shutil, "which", lambda name: None)
    (tmp_path / "usr" / "sbin").mkdir(parents=True)
    (tmp_path / "usr" / "sbin" / "nft").write_text("")
    assert airgap.nft_command(tmp_path) == ["chroot", str(tmp_path), "/usr/sbin/nft"]
    with pytest.raises(LabError, match="needs nftables"):
        airgap.nft_command(tmp_path / "none")
    monkeypatch.setattr(airgap.shutil, "which", lambda name: "/usr/sbin/nft")
    assert airgap.nft_command(None) == ["/usr/sbin/nft"]


def test_airgapped_reads_the_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "RUN_ROOT", tmp_path)
    assert airgap.airgapped() == []
    (tmp_path / airgap.STATE_FILE).write_text("10.200.0.11\n10.200.0.12\n")
    assert airgap.airgapped() == ["10.200.0.11", "10.200.0.12"]


@pytest.mark.parametrize(("flag", "wanted"), [("--airgap", True), ("--no-airgap", False)])
def test_cli_passes_the_option(flag: str, wanted: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from provision.lab import cli, core

    calls = []
    monkeypatch.setattr(core, "lab_up", lambda *a, **k: calls.append((a, k)) or [])
    monkeypatch.setattr(core, "inventory_of", lambda paths, hosts: paths.inventory)
    result = CliRunner().invoke(cli.lab, ["up", "--hosts", "2", flag])
    assert result.exit_code == 0, result.output
    assert calls[0][1] == {"airgap_hosts": wanted}


def test_cli_without_the_option_calls_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    from provision.lab import cli, core

    calls = []
    monkeypatch.setattr(core, "lab_up", lambda *a, **k: calls.append((a, k)) or [])
    monkeypatch.setattr(core, "inventory_of", lambda paths, hosts: paths.inventory)
    result = CliRunner().invoke(cli.lab, ["up", "--hosts", "2"])
    assert result.exit_code == 0, result.output
    assert calls[0] == ((2, None), {})
