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
    click.echo("\n".join(lines))
    try:
        return click.confirm(question, default=False)
    except click.Abort:
        click.echo("")
        return False
