"""The registry runs, answers over TLS with its CA, and accepts its first user."""

from typing import Any

from testinfra.host import Host


def test_unit_active(host: Host, role_vars: dict[str, Any]) -> None:
    assert host.service(role_vars["docker_registry_name"]).is_running


def test_tls_with_its_ca(host: Host, role_vars: dict[str, Any]) -> None:
    ca = f"{role_vars['docker_registry_config_dir']}/tls/ca.crt"
    url = f"https://{role_vars['docker_registry_address']}/v2/"
    out = host.run("curl -sS -o /dev/null -w '%%{http_code}' --noproxy '*' --cacert %s %s", ca, url)
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() in ("200", "401")


def test_first_user_accepted(host: Host, role_vars: dict[str, Any]) -> None:
    users = role_vars.get("docker_registry_users") or []
    if role_vars.get("docker_registry_auth") != "htpasswd" or not users:
        return
    ca = f"{role_vars['docker_registry_config_dir']}/tls/ca.crt"
    url = f"https://{role_vars['docker_registry_address']}/v2/"
    user, password = users[0]["name"], users[0]["password"]
    escaped = password.replace("\\", "\\\\").replace('"', '\\"')
    out = host.run(
        "printf '%%s\\n' %s | curl -sS -K - -o /dev/null -w '%%{http_code}' --noproxy '*'"
        " --cacert %s %s",
        f'user = "{user}:{escaped}"',
        ca,
        url,
    )
    assert out.stdout.strip() == "200", f"credentials for {user} not accepted (HTTP {out.stdout})"
