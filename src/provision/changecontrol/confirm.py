"""The question before apply changes anything: only on a terminal, never with --yes."""

from __future__ import annotations

import sys

import click


def interactive() -> bool:
    """Both ends on a terminal: someone is there to answer."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def ask(lines: list[str], question: str) -> bool:
    """On stderr, so that `--format json` keeps stdout a JSON document."""
    click.echo("\n".join(lines), err=True)
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        click.echo("", err=True)
        return False
