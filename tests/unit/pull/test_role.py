"""Role provision_pull: its input checks (the first, read-only tasks) refuse values that
would not fit the unit's command line; the units render with the variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from provision.project.jinjafilters import FILTERS

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "provision_pull"
SHA = "ab" * 32
GOOD = {
    "provision_pull_source": "git://10.200.0.1/project.git",
    "provision_pull_bundle_url": "http://10.200.0.1:8097/provision-pull.tar.gz",
    "provision_pull_bundle_sha256": SHA,
}


def defaults() -> dict[str, Any]:
    return yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def checks() -> list[str]:
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    return [t["assert"]["that"] for t in tasks if "assert" in t]


def passes(values: dict[str, Any]) -> bool:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    variables = {**defaults(), **GOOD, **values}
    variables["provision_pull_limit_self"] = values.get("provision_pull_limit_self", "h1")
    return all(bool(env.compile_expression(that)(**variables)) for that in checks())


def test_the_role_has_its_input_checks() -> None:
    assert len(checks()) == 3
    assert passes({})


BAD = [
    ("provision_pull_source", ""),
    ("provision_pull_source", "ext::sh -c id"),
    ("provision_pull_source", "ext::sh"),
    ("provision_pull_source", "fd::3"),
    ("provision_pull_source", "-uhack"),
    ("provision_pull_source", "--upload-pack=x"),
    ("provision_pull_source", "git://h/p.git --upload-pack=x"),
    ("provision_pull_source", "git://h/p\n.git"),
    ("provision_pull_source", "git://h/p\r.git"),
    ("provision_pull_source", "git://h/p\v.git"),
    ("provision_pull_source", "git://h/p\f.git"),
    ("provision_pull_source", "git://h/p\x85.git"),
    ("provision_pull_source", "git://h/p\u2028.git"),
    ("provision_pull_source", "git://h/p\u2029.git"),
    ("provision_pull_source", "git://h/p\x00.git"),
    ("provision_pull_source", "git://h/$HOME.git"),
    ("provision_pull_source", "git://h/%h.git"),
    ("provision_pull_source", "git://h/'q'.git"),
    ("provision_pull_source", 'git://h/"q".git'),
    ("provision_pull_source", "git://h/`id`.git"),
    ("provision_pull_source", "git://h/p.git;id"),
    ("provision_pull_ref", "main; rm -rf /"),
    ("provision_pull_ref", "a\nExecStartPre=/bin/id"),
    ("provision_pull_playbook", "../../x y.yml"),
    ("provision_pull_inventory", "inv\\x.yml"),
    ("provision_pull_limit_self", "a b"),
    ("provision_pull_cache_dir", "/var/lib/$x"),
    ("provision_pull_python", "/usr/bin/python3 -c x"),
    ("provision_pull_source", "git://h/" + "x" * 100000 + " y"),
    ("provision_pull_bundle_url", "ftp://h/x.tar.gz"),
    ("provision_pull_bundle_url", "http://h/x y.tar.gz"),
    ("provision_pull_bundle_url", ""),
    ("provision_pull_bundle_sha256", "ab" * 31),
    ("provision_pull_bundle_sha256", "AB" * 32),
    ("provision_pull_bundle_sha256", "zz" * 32),
    ("provision_pull_bundle_sha256", ""),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_values_fail_the_checks(name: str, value: str) -> None:
    assert not passes({name: value})


GOOD_VALUES = [
    ("provision_pull_source", "https://git.example.com/infra/fleet.git"),
    ("provision_pull_source", "ssh://git@git.example.com:2222/infra/fleet.git"),
    ("provision_pull_source", "git@git.example.com:infra/fleet.git"),
    ("provision_pull_source", "/srv/fleet"),
    ("provision_pull_ref", "release-2026.11"),
    ("provision_pull_ref", "0123456789abcdef0123456789abcdef01234567"),
    ("provision_pull_inventory", "inventories/prod/hosts.yml"),
]


@pytest.mark.parametrize(("name", "value"), GOOD_VALUES)
def test_good_values_pass_the_checks(name: str, value: str) -> None:
    assert passes({name: value})


def test_units_render(tmp_path: Path) -> None:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    variables = {**defaults(), **GOOD, "provision_pull_limit_self": "h1"}
    variables["provision_pull_version"] = SHA[:12]
    service = env.from_string((ROLE / "templates" / "provision-pull.service.j2").read_text())
    text = service.render(**variables)
    assert "Type=oneshot" in text
    assert (
        "ExecStart=/usr/bin/python3.11 -m provision pull git://10.200.0.1/project.git"
        " --playbook playbooks/site.yml --limit-self h1\n"
    ) in text
    timer = env.from_string((ROLE / "templates" / "provision-pull.timer.j2").read_text())
    text = timer.render(**{**variables, "provision_pull_interval": "15min"})
    assert "OnUnitActiveSec=15min\n" in text and "RandomizedDelaySec=5min\n" in text
