"""Checks the rules file of role docker_audit_rules (and the loaded rules where readable)."""

from typing import Any

import pytest
from testinfra.host import Host

from provision.audit.observe import parse_rule_lines, watched_paths


def test_rules_file_watches_every_path(host: Host, role_vars: dict[str, Any]) -> None:
    if not role_vars["docker_audit_rules_enabled"]:
        pytest.skip("docker_audit_rules_enabled is false")
    rules = host.file(role_vars["docker_audit_rules_file"])
    assert rules.exists and rules.mode == 0o600
    lines = rules.content_string.splitlines()
    for path in role_vars["docker_audit_rules_paths"]:
        assert f"-w {path} -p wa -k {role_vars['docker_audit_rules_key']}" in lines


def test_rules_loaded_when_the_kernel_lets_us_read_them(
    host: Host, role_vars: dict[str, Any]
) -> None:
    if not (role_vars["docker_audit_rules_enabled"] and role_vars["docker_audit_rules_load"]):
        pytest.skip("the rules are not loaded by this role here")
    with host.sudo():
        listed = host.run("auditctl -l")
    assert listed.rc == 0, listed.stderr
    loaded = watched_paths(parse_rule_lines(listed.stdout))
    assert set(role_vars["docker_audit_rules_paths"]) <= loaded
