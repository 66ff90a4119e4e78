"""The `provision audit` command (registered lazily in provision.cli)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from provision.cli import (
    CONNECTION_OPTIONS,
    FACTS_OPTIONS,
    InputFailure,
    _controller,
    _with,
)

HELP = "Security audit: the CIS Docker Benchmark's host and daemon checks, a score per host."
EPILOG = """\b
Read-only. Per host, each check PASS, FAIL, INFO (manual) or N/A with what was seen, the
remedy and the role variable that applies it (docs/audit.md).
\b
Exit codes: 0 audited (and every host at or above --min-score), 1 a host below
--min-score or not audited, 2 bad input (no host touched), 3 a host was unreachable."""


@click.command("audit", help=HELP, epilog=EPILOG)
@_with(FACTS_OPTIONS, CONNECTION_OPTIONS)
@click.option(
    "--junit-xml",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write a JUnit XML report (one test case per check per host).",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 100),
    default=None,
    help="Exit 1 when a host scores below this (percent of applicable scored checks passed).",
)
def audit(
    inventory: Path,
    limit: str | None,
    extra_vars: tuple[str, ...],
    forks: int,
    output_format: str,
    junit_xml: Path | None,
    min_score: float | None,
    timeout: float | None,
    retries: int,
    accept_new_host_keys: bool,
    ssh_config_file: Path | None = None,
    jump: str | None = None,
    **_vault: Any,
) -> None:
    from provision.audit.run import audit_all, document, exit_code, junit, text_lines, to_json
    from provision.errors import InputError
    from provision.execution.runner import RunOptions
    from provision.project.compile import host_settings, parse_extra_vars
    from provision.reporting.mask import Masker

    controller = _controller(
        inventory, (), ssh_config_file, jump, forks, timeout, accept_new_host_keys
    )
    if junit_xml is not None and junit_xml.parent and not junit_xml.parent.is_dir():
        raise InputFailure(f"--junit-xml {junit_xml}: folder {junit_xml.parent} does not exist")
    try:
        hosts = host_settings(controller.sources, None, parse_extra_vars(list(extra_vars)), limit)
    except InputError as exc:
        raise InputFailure(str(exc))
    masker = Masker(sorted({s for h in hosts for s in h.secrets}))
    options = RunOptions(
        forks=forks,
        timeout=controller.timeout,
        retries=retries,
        accept_new_host_keys=controller.accept_new_host_keys,
    )
    audits = audit_all(hosts, options)
    if output_format == "json":
        click.echo(to_json(document(audits, min_score, masker)))
    else:
        click.echo("\n".join(text_lines(audits, min_score, masker)))
    if junit_xml is not None:
        try:
            junit_xml.write_bytes(junit(audits, masker))
        except OSError as exc:
            raise InputFailure(f"cannot write {junit_xml}: {exc}")
    sys.exit(exit_code(audits, min_score))
