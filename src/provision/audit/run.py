"""`provision audit`: read each host over one SSH connection (the testinfra backend that
`verify` uses), decide every check of the table, score, and report as text, JSON or JUnit.

JSON schema (stable; `schema` is bumped on any incompatible change):

    {"schema": "provision-audit/1",
     "min_score": 80.0 | null,
     "hosts": {NAME: {"score": 61.5 | null,     # passed / (passed + failed) * 100, 1 decimal
                      "passed": int, "failed": int, "info": int, "not_applicable": int,
                      "below_min_score": bool,
                      "error": "" | "why the host could not be audited",
                      "unreachable": bool,
                      "skipped": ["1.1.1", ...],   # ids left out (--skip, audit_skip)
                      "checks": [{"id": "2.14", "title": str, "level": 1 | 2,
                                  "scored": bool, "status": "pass"|"fail"|"info"|"n/a",
                                  "detail": str, "remedy": str, "variable": str}]}}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from provision.audit.checks import CHECKS, Check, Finding, Status
from provision.audit.observe import Observations, Output, observe
from provision.audit.skip import skipped as skipped_finding

SCHEMA = "provision-audit/1"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class HostAudit:
    name: str
    results: list[tuple[Check, Finding]] = field(default_factory=list)
    error: str = ""
    unreachable: bool = False
    skipped: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for check, f in self.results if check.scored and f.status is status)

    @property
    def passed(self) -> int:
        return self.count(Status.PASS)

    @property
    def failed(self) -> int:
        return self.count(Status.FAIL)

    @property
    def score(self) -> float | None:
        applicable = self.passed + self.failed
        if self.error or applicable == 0:
            return None
        return round(100.0 * self.passed / applicable, 1)

    def skip(self, ids: Mapping[str, str]) -> None:
        """Report the checks `ids` names (id -> who skipped it) as N/A, skipped."""
        self.skipped = sorted(ids, key=lambda i: [c.id for c in CHECKS].index(i))
        self.results = [
            (check, skipped_finding(ids[check.id]) if check.id in ids else finding)
            for check, finding in self.results
        ]

    def below(self, min_score: float | None) -> bool:
        if min_score is None:
            return False
        return self.score is None or self.score < min_score


def judge(name: str, obs: Observations) -> HostAudit:
    """Every check of the table over one host's observations (pure)."""
    audit = HostAudit(name)
    for check in CHECKS:
        try:
            finding = check.decide(obs)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            finding = Finding(Status.FAIL, f"could not decide: {type(exc).__name__}: {exc}")
        audit.results.append((check, finding))
    return audit


def audit_host(name: str, run: Callable[[str], Output]) -> HostAudit:
    return judge(name, observe(run))


def audit_over_ssh(settings: Any, options: Any) -> HostAudit:
    """One host through provision's SSH connection and testinfra (as `verify` does)."""
    from provision.errors import ConnectError, ProvisionError
    from provision.execution.runner import internal_error
    from provision.verify.backend import testinfra_host

    name = settings.config.name
    connection = None
    try:
        host, connection = testinfra_host(settings.config, options)

        def run(command: str) -> Output:
            result = host.run(command)
            return Output(result.rc, result.stdout, result.stderr)

        return audit_host(name, run)
    except ConnectError as exc:
        return HostAudit(name, error=str(exc), unreachable=True)
    except ProvisionError as exc:
        return HostAudit(name, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one host's problem fails that host alone
        text = str(exc)
        if type(exc).__name__ in (
            "SSHException",
            "NoValidConnectionsError",
            "AuthenticationException",
        ):
            return HostAudit(name, error=text, unreachable=True)
        return HostAudit(name, error=internal_error(exc))
    finally:
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing must not hide the result
                pass


def audit_all(hosts: list[Any], options: Any) -> list[HostAudit]:
    workers = max(1, min(options.forks, len(hosts)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda h: audit_over_ssh(h, options), hosts))


# ------------------------------------------------------------------ output


def clean(text: str) -> str:
    """One line, control characters shown escaped (also keeps the XML well-formed)."""
    text = text.replace("\r\n", "\n").replace("\n", " ").replace("\r", " ")
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def document(
    audits: list[HostAudit], min_score: float | None, mask: Callable[[str], str]
) -> dict[str, Any]:
    hosts: dict[str, Any] = {}
    for audit in audits:
        hosts[audit.name] = {
            "score": audit.score,
            "passed": audit.passed,
            "failed": audit.failed,
            "info": sum(1 for _c, f in audit.results if f.status is Status.INFO),
            "not_applicable": sum(1 for _c, f in audit.results if f.status is Status.NA),
            "below_min_score": audit.below(min_score),
            "error": mask(audit.error),
            "unreachable": audit.unreachable,
            "skipped": list(audit.skipped),
            "checks": [
                {
                    "id": check.id,
                    "title": check.title,
                    "level": check.level,
                    "scored": check.scored,
                    "status": finding.status.value,
                    "detail": mask(finding.detail),
                    "remedy": check.remedy,
                    "variable": check.variable,
                }
                for check, finding in audit.results
            ],
        }
    return {"schema": SCHEMA, "min_score": min_score, "hosts": hosts}


def text_lines(
    audits: list[HostAudit], min_score: float | None, mask: Callable[[str], str]
) -> list[str]:
    lines: list[str] = []
    for audit in audits:
        if audit.error:
            lines.append(f"{clean(audit.name)}: not audited: {clean(mask(audit.error))}")
            lines.append("")
            continue
        score = "—" if audit.score is None else f"{audit.score:.1f}%"
        lines.append(
            f"{clean(audit.name)}: score {score} ({audit.passed} passed of "
            f"{audit.passed + audit.failed} applicable scored checks)"
        )
        for check, finding in audit.results:
            status = finding.status.value.upper()
            manual = "" if check.scored else " (manual)"
            lines.append(f"  {status:<4} {check.id:<7} {check.title}{manual}")
            lines.append(f"       {clean(mask(finding.detail))}")
            if finding.status is Status.FAIL:
                lines.append(f"       fix: {check.remedy}  [{check.variable}]")
        lines.append("")
    width = max([4, *(len(clean(a.name)) for a in audits)])
    lines.append(f"{'HOST':<{width}}  SCORE   PASSED  FAILED  INFO  N/A")
    for audit in audits:
        score = "—" if audit.score is None else f"{audit.score:.1f}%"
        mark = "  below --min-score" if audit.below(min_score) else ""
        if audit.error:
            mark = "  not audited" + ("" if not audit.below(min_score) else ", below --min-score")
        nas = sum(1 for _c, f in audit.results if f.status is Status.NA)
        infos = sum(1 for _c, f in audit.results if f.status is Status.INFO)
        lines.append(
            f"{clean(audit.name):<{width}}  {score:>6}  {audit.passed:>6}  {audit.failed:>6}"
            f"  {infos:>4}  {nas:>3}{mark}"
        )
    return lines


def junit(audits: list[HostAudit], mask: Callable[[str], str]) -> bytes:
    """One test suite per host, one test case per check: a scored FAIL is a failure, n/a
    and manual checks are skipped with their finding, a host not audited is an error."""
    root = ElementTree.Element("testsuites", name="provision audit")
    for audit in audits:
        failures = sum(1 for c, f in audit.results if c.scored and f.status is Status.FAIL)
        skipped = sum(
            1 for c, f in audit.results if f.status in (Status.NA, Status.INFO) or not c.scored
        )
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=clean(audit.name),
            tests=str(len(audit.results) or 1),
            failures=str(failures),
            errors="1" if audit.error else "0",
            skipped=str(skipped),
        )
        if audit.error:
            case = ElementTree.SubElement(
                suite, "testcase", classname=clean(audit.name), name="audit"
            )
            ElementTree.SubElement(case, "error", message=clean(mask(audit.error)))
            continue
        for check, finding in audit.results:
            case = ElementTree.SubElement(
                suite, "testcase", classname=clean(audit.name), name=f"{check.id} {check.title}"
            )
            text = clean(mask(finding.detail))
            if check.scored and finding.status is Status.FAIL:
                failure = ElementTree.SubElement(case, "failure", message=text)
                failure.text = f"fix: {check.remedy} [{check.variable}]"
            elif finding.status in (Status.NA, Status.INFO) or not check.scored:
                ElementTree.SubElement(case, "skipped", message=f"{finding.status.value}: {text}")
            else:
                ElementTree.SubElement(case, "system-out").text = text
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def exit_code(audits: list[HostAudit], min_score: float | None) -> int:
    """1: a host scored below `min_score` (a host that could not be audited has no score,
    so it is below any threshold), or failed for another reason than reachability;
    3: a host was unreachable (and nothing above applies); 0 otherwise."""
    if any(a.below(min_score) for a in audits):
        return 1
    if any(a.error and not a.unreachable for a in audits):
        return 1
    if any(a.unreachable for a in audits):
        return 3
    return 0


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
