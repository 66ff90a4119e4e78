"""`provision facts` and `provision check`: one probe per host, then print or judge."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree

from provision.check.bundle import bundle_checks
from provision.check.offline import check_offline, offline_facts
from provision.check.reach import ReachFact, docker_trees
from provision.check.registry import registry_fact_of, registry_results
from provision.check.rules import CheckInput, Level, Result, run_checks
from provision.check.sizing import sizing_of
from provision.errors import ConnectError, ProvisionError
from provision.execution.connection import BecomeError
from provision.execution.runner import HostFailed, RunOptions, connect, internal_error, probe
from provision.facts.host import GROUPS, FactFailure, Tolerant, tolerant_facts
from provision.facts.hostvars import all_values
from provision.facts.kinds import PackagesFact
from provision.project.compile import HostSettings
from provision.reporting.mask import Masker


@dataclass
class HostFacts:
    name: str
    groups: dict[str, Any] = field(default_factory=dict)  # group → value or FactFailure
    # `check`'s own facts by name: "packages", "reach", "registry" and check/offline.py's
    checked: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    unreachable: bool = False
    commands_run: int = 0
    connections: int = 0

    @property
    def packages(self) -> Any:
        return self.checked.get("packages")

    @property
    def reach(self) -> Any:
        return self.checked.get("reach")

    @property
    def registry(self) -> Any:
        """The registry check's answer (check/registry.py), None without a registry."""
        return self.checked.get("registry")


def read_host(settings: HostSettings, options: RunOptions, check: bool) -> HostFacts:
    """ONE connection and ONE remote command: every fact group (and for `check`, the
    installed packages and the repositories' HEAD through the proxy)."""
    result = HostFacts(settings.config.name)
    conn = None
    try:
        conn = connect(settings.config, options)
        facts: list[Any] = tolerant_facts()
        named = check_facts(settings) if check else {}
        state = probe(conn, facts + list(named.values()), settings.config.become)
        result.groups = {f.fact.group: state.get(f) for f in facts}
        result.checked = {name: state.get(fact) for name, fact in named.items()}
    except ConnectError as exc:
        result.error, result.unreachable = str(exc), True
    except (HostFailed, BecomeError, ProvisionError) as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - one host's bug fails that host alone
        result.error = internal_error(exc)
    finally:
        if conn is not None:
            result.commands_run, result.connections = conn.commands_run, conn.connections_opened
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing must not hide the result
                pass
    return result


def check_facts(settings: HostSettings) -> dict[str, Any]:
    """What `check` reads beyond the fact groups, by name, in the same one probe: the
    installed packages, the repositories' HEAD through the proxy, the registry (when one is
    set) and the offline bundle's facts (check/offline.py)."""
    variables = settings.variables
    sizing = sizing_of(variables, variables.origin)
    named: dict[str, Any] = {
        "packages": Tolerant(PackagesFact(), True),
        "reach": Tolerant(
            ReachFact(
                sizing.proxy,
                # an air-gapped host installs from the bundle, never from docker_repo_url
                "" if variables.get("offline_bundle") else sizing.docker_repo_url,
                docker_trees(variables),
                _pinned(variables.get("docker_repo_pin_major", True)),
            ),
            True,
        ),
    }
    registry = registry_fact_of(variables)
    if registry:
        named["registry"] = Tolerant(registry, True)
    offline = offline_facts(variables)
    clash = named.keys() & offline.keys()
    assert not clash, f"check fact names used twice: {sorted(clash)}"
    return {**named, **offline}


def _pinned(value: Any) -> bool:
    """docker_repo_pin_major as the role reads it (`| bool`)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def read_all(
    hosts: list[HostSettings], options: RunOptions, check: bool
) -> list[tuple[HostSettings, HostFacts]]:
    workers = max(1, min(options.forks, len(hosts)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(lambda h: read_host(h, options, check), hosts))
    return list(zip(hosts, found, strict=True))


# ------------------------------------------------------------------ provision facts


def facts_document(results: list[tuple[HostSettings, HostFacts]]) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for _settings, found in results:
        if found.error:
            hosts[found.name] = {"error": found.error, "unreachable": found.unreachable}
            continue
        hosts[found.name] = {
            **all_values(found.groups),
            "connections": found.connections,
            "remote_commands": found.commands_run,
        }
    return {"hosts": hosts}


def _size(size: int) -> str:
    for unit, scale in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def facts_text(results: list[tuple[HostSettings, HostFacts]]) -> list[str]:
    lines: list[str] = []
    for _settings, found in results:
        lines.append(f"{found.name}")
        if found.error:
            lines += [f"  error: {line}" for line in found.error.splitlines()]
            continue
        lines += _fact_lines(all_values(found.groups)["facts"])
    return lines


def _fact_lines(values: dict[str, Any]) -> list[str]:
    lines: list[str] = []

    def show(key: str, render: Callable[[Any], str]) -> None:
        value = values.get(key)
        if isinstance(value, dict) and set(value) == {"error"}:
            lines.append(f"  {key:<15} could not be read: {value['error']}")
        elif value is not None:
            lines.append(f"  {key:<15} {render(value)}")

    show(
        "os",
        lambda v: (
            f"{v['pretty_name'] or v['id']} (id {v['id']}, major {v['major']}, "
            f"family {v['family']})"
        ),
    )
    show("kernel", str)
    show("arch", str)
    show("cpus", str)
    show("memory_mb", lambda v: f"{v} MiB")
    show("swap_mb", lambda v: f"{v} MiB")
    show("selinux", lambda v: f"running {v['mode']}, configured {v['config_mode'] or '-'}")
    show("firewalld", lambda v: f"{v['state']}" + (f", {v['backend']}" if v["backend"] else ""))
    show("cgroup_version", str)
    show("time", lambda v: f"synced {v['synced']} ({v['source']}), chronyd {v['chronyd']}")
    show(
        "devices",
        lambda v: (
            "; ".join(
                f"{d['path']}"
                + (f" ({', '.join(d['aliases'])})" if d["aliases"] else "")
                + f" {d['type']} {_size(d['size'])}"
                + (f" {d['fstype']}" if d["fstype"] else "")
                for d in v
                if d["type"] != "rom"
            )
            or "-"
        ),
    )
    show(
        "lvm",
        lambda v: (
            "; ".join(
                f"vg {g['name']} {_size(g['size'])} ({_size(g['free'])} free)" for g in v["vgs"]
            )
            or ("no volume groups" if v["available"] else "LVM tools not installed")
        ),
    )
    show(
        "mounts",
        lambda v: (
            "; ".join(
                f"{m['mount']} {m['fstype']} {_size(m['size_total'])}"
                + (f" ftype={m['ftype']}" if m["ftype"] is not None else "")
                for m in v
                if m["size_total"] > 0 and m["device"].startswith("/")
            )
            or "-"
        ),
    )
    show("last_apply", lambda v: json.dumps(v, sort_keys=True))
    return lines


# ------------------------------------------------------------------ provision check


@dataclass
class HostCheck:
    name: str
    results: list[Result]
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(r.level is Level.FAIL for r in self.results)


def judge(results: list[tuple[HostSettings, HostFacts]]) -> list[HostCheck]:
    checks = []
    for settings, found in results:
        if found.error:
            checks.append(HostCheck(found.name, [], found.error))
            continue
        sizing = sizing_of(settings.variables, settings.variables.origin)
        facts = {g: found.groups.get(g, FactFailure("not read")) for g in GROUPS}
        inp = CheckInput(facts, sizing, found.packages, found.reach)
        more = bundle_checks(settings.variables) + check_offline(settings.variables, found.checked)
        more += registry_results(registry_fact_of(settings.variables), found.registry)
        checks.append(HostCheck(found.name, run_checks(inp) + more))
    return checks


def check_exit_code(checks: list[HostCheck]) -> int:
    return 1 if any(c.failed for c in checks) else 0


def check_text(checks: list[HostCheck], masker: Masker) -> list[str]:
    lines = []
    for host in checks:
        counts = {level: sum(r.level is level for r in host.results) for level in Level}
        verdict = "FAIL" if host.failed else "PASS"
        summary = "  ".join(f"{level.value.lower()}={n}" for level, n in counts.items())
        lines.append(f"CHECK {host.name}: {verdict}  {summary}")
        if host.error:
            lines += [f"  error: {line}" for line in masker(host.error).splitlines()]
        for r in host.results:
            lines.append(
                f"  {r.level.value:<4}  {r.check:<20} {masker(r.measured)}  (want {r.threshold})"
            )
            if r.advice and r.level is not Level.PASS:
                lines.append(f"        → {' | '.join(masker(r.advice).splitlines())}")
    return lines


def check_document(checks: list[HostCheck], masker: Masker) -> dict[str, Any]:
    hosts = {}
    for host in checks:
        hosts[host.name] = {
            "status": "fail" if host.failed else "pass",
            "error": masker(host.error) if host.error else None,
            "results": [
                {
                    **asdict(r),
                    "level": r.level.value,
                    "measured": masker(r.measured),
                    "advice": masker(r.advice),
                }
                for r in host.results
            ],
        }
    return {"hosts": hosts, "exit_code": check_exit_code(checks)}


def check_junit(checks: list[HostCheck], masker: Masker) -> bytes:
    """One test suite per host, one test case per result: FAIL is a failure, WARN and INFO
    pass with their text in system-out, an unreachable host is an error."""
    root = ElementTree.Element("testsuites", name="provision check")
    for host in checks:
        failures = sum(r.level is Level.FAIL for r in host.results)
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=host.name,
            tests=str(len(host.results) or 1),
            failures=str(failures),
            errors="1" if host.error else "0",
        )
        if host.error:
            case = ElementTree.SubElement(suite, "testcase", classname=host.name, name="probe")
            ElementTree.SubElement(case, "error", message=masker(host.error))
        for r in host.results:
            case = ElementTree.SubElement(suite, "testcase", classname=host.name, name=r.check)
            text = f"{r.level.value}: {masker(r.measured)} (want {r.threshold})"
            if r.advice:
                text += f"; {masker(r.advice)}"
            if r.level is Level.FAIL:
                ElementTree.SubElement(case, "failure", message=text)
            else:
                ElementTree.SubElement(case, "system-out").text = text
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
