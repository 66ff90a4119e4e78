"""The `provision audit` command (registered lazily in provision.cli)."""

from __future__ import annotations

import math
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


class Score(click.ParamType):
    """A percentage from 0 to 100; nan and inf are refused (nan compares false with any
    score, so a threshold of nan would never fail a host)."""

    name = "PERCENT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        try:
            number = float(str(value).strip())
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not 0 <= number <= 100:
            self.fail(f"expected a number from 0 to 100 (percent), got {value!r}", param, ctx)
        return number


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
    type=Score(),
    default=None,
    help="Exit 1 when a host scores below this (percent of applicable scored checks passed).",
)
@click.option(
    "--skip",
    "skip",
    multiple=True,
    metavar="ID[,ID...]",
    help="Leave these checks out (reported N/A, not scored); also the inventory variable"
    " audit_skip. Repeatable.",
)
def audit(
    inventory: Path,
    limit: str | None,
    extra_vars: tuple[str, ...],
    forks: int,
    output_format: str,
    junit_xml: Path | None,
    min_score: float | None,
    skip: tuple[str, ...],
    timeout: float | None,
    retries: int,
    accept_new_host_keys: bool,
    ssh_config_file: Path | None = None,
    jump: str | None = None,
    **_vault: Any,
) -> None:
    from provision.audit.run import audit_all, document, exit_code, junit, text_lines, to_json
    from provision.audit.skip import host_ids, option_ids
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
        options_skip = option_ids(skip)
        extra = parse_extra_vars(list(extra_vars))
        hosts = host_settings(controller.sources, None, extra, limit)
        skips: dict[str, dict[str, str]] = {}
        for settings in hosts:
            from_inventory, label = host_ids(settings.variables, extra)
            ids = {i: label for i in from_inventory}
            ids |= {i: "--skip" for i in options_skip}
            skips[settings.config.name] = ids
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
    for one in audits:
        if skips.get(one.name):
            one.skip(skips[one.name])
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
