"""`provision pull SOURCE`: run on a host itself. Fetch the project (a git URL and ref, a
git bundle, or a local directory), pick the inventory host that is this machine, apply
with the local connection, write the audit line and the host's last-apply record, and
exit with the usual codes (see `provision --help`)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from provision.cli import EXIT_CODES
from provision.errors import InputError

DEFAULT_CACHE = Path("/var/lib/provision/pull")
GIT_PROTOCOLS = "file:git:http:https:ssh"
GIT_TIMEOUT = 600
#: URL forms git is allowed to fetch; everything else (ext::, fd::, other transports) is refused
_URL = re.compile(r"^(file|git|http|https|ssh)://[^\s]+$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f\x85\u2028\u2029]")


class PullError(InputError):
    """The source cannot be fetched or the host cannot be chosen: exit 2, nothing applied."""


def check_ref(ref: str) -> str:
    if not ref or ref.startswith("-") or _BAD_CHARS.search(ref) or ":" in ref or ".." in ref:
        raise PullError(f"--ref {ref!r}: expected a branch, tag or commit name")
    return ref


def source_kind(source: str) -> str:
    """'dir', 'bundle' or 'url' (checked: no option-like or transport-helper URL)."""
    if not source or source.startswith("-") or _BAD_CHARS.search(source):
        raise PullError(f"SOURCE {source!r}: expected a git URL, a git bundle or a directory")
    if "::" in source:
        raise PullError(f"SOURCE {source!r}: git transport helpers (ext::, fd::) are refused")
    path = Path(source)
    if path.is_dir():
        return "dir"
    if path.is_file():
        return "bundle"
    if _URL.match(source):
        return "url"
    raise PullError(
        f"SOURCE {source!r}: not a directory, a file (git bundle), nor a git URL"
        " (file://, git://, http(s)://, ssh:// or user@host:path)"
    )


def cache_for(cache_root: Path, source: str) -> Path:
    return cache_root / hashlib.sha256(source.encode()).hexdigest()[:16]


def _git(args: list[str], cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_ALLOW_PROTOCOL": GIT_PROTOCOLS,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "LC_ALL": "C",
    }
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise PullError("git is not installed on this host; pull a directory or install git")
    except subprocess.TimeoutExpired:
        raise PullError(f"git {args[0]} took over {GIT_TIMEOUT} s")
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()[-5:]
        raise PullError(f"git {args[0]} failed (exit {proc.returncode}):\n  " + "\n  ".join(tail))
    return proc.stdout.decode("utf-8", errors="replace").strip()


def fetch(source: str, kind: str, ref: str | None, cache_root: Path) -> tuple[Path, str | None]:
    """The project's directory and its commit (None for a plain directory)."""
    if kind == "dir":
        if ref is not None:
            raise PullError("--ref is for a git URL or bundle, not a directory")
        return Path(source).resolve(), None
    where = cache_for(cache_root, source)
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (where / ".git").is_dir():
        _git(["init", "--quiet", "--", str(where)])
    # the cache is ours: no hooks, no repository config from elsewhere
    fetched_from = str(Path(source).resolve()) if kind == "bundle" else source
    _git(
        [
            "fetch",
            "--quiet",
            "--force",
            "--no-tags",
            "--",
            fetched_from,
            check_ref(ref) if ref is not None else "HEAD",
        ],
        cwd=where,
    )
    _git(["checkout", "--quiet", "--force", "--detach", "FETCH_HEAD"], cwd=where)
    _git(["clean", "-q", "-f", "-d", "-x", "-e", "/.provision/"], cwd=where)
    exclude = where / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    if "/.provision/" not in (exclude.read_text() if exclude.exists() else ""):
        with open(exclude, "a") as fh:
            fh.write("/.provision/\n")
    return where, _git(["rev-parse", "HEAD"], cwd=where)


def this_machine() -> set[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    names |= {n.split(".")[0] for n in names}
    return {n for n in names if n}


def pick_host(hosts: dict[str, str], limit_self: str | None, names: set[str]) -> str:
    """The inventory host that is this machine: --limit-self, else the one whose
    inventory_hostname or address is this machine's hostname."""
    if limit_self is not None:
        if limit_self not in hosts:
            raise PullError(f"--limit-self {limit_self!r}: no such host in the playbook's plays")
        return limit_self
    found = sorted(h for h, addr in hosts.items() if h in names or addr in names)
    if not found:
        raise PullError(
            f"no inventory host is this machine (hostname {', '.join(sorted(names))}); "
            "give --limit-self NAME"
        )
    if len(found) > 1:
        raise PullError(
            f"several inventory hosts match this machine: {', '.join(found)}; "
            "give --limit-self NAME"
        )
    return found[0]


def _hosts(inventory: Path | None, playbook: Path, extra: tuple[str, ...]) -> dict[str, str]:
    from provision.cli import _controller
    from provision.project.compile import Selection, compile_run, parse_extra_vars

    sources = _controller(inventory).sources
    compiled = compile_run(sources, playbook, parse_extra_vars(list(extra)), Selection())
    return {hp.host.name: hp.host.address for _, hps in compiled.plays for hp in hps}


def local_session(audit_log: str) -> Any:
    """An apply session (audit line, host record) whose hosts all run locally."""
    from provision.changecontrol.session import Session

    class PullSession(Session):
        def prepare(self, compiled: Any, *args: Any) -> None:
            for _, hps in compiled.plays:
                for hp in hps:
                    hp.host = replace(hp.host, connection="local")
            super().prepare(compiled, *args)

    session = PullSession("apply")
    session.yes = True
    session.audit_log = audit_log
    return session


@click.command("pull", epilog=EXIT_CODES)
@click.argument("source")
@click.option("--ref", default=None, help="Branch, tag or commit to check out [default: HEAD].")
@click.option("-p", "--playbook", default="playbooks/site.yml", show_default=True)
@click.option("-i", "--inventory", default=None, help="Inventory in the project.")
@click.option("--limit-self", default=None, help="The inventory host that is this machine.")
@click.option("-e", "--extra-vars", multiple=True, help="Extra variables, as apply takes them.")
@click.option(
    "--cache-dir",
    envvar="PROVISION_PULL_CACHE",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Where git sources are fetched (one folder per source) [env PROVISION_PULL_CACHE].",
)
@click.option(
    "--audit-log",
    envvar="PROVISION_AUDIT_LOG",
    default=None,
    help="Audit log [default: CACHE_DIR/audit.jsonl; env PROVISION_AUDIT_LOG].",
)
@click.option("-v", "--verbose", count=True, help="More output (as apply).")
def pull(
    source: str,
    ref: str | None,
    playbook: str,
    inventory: str | None,
    limit_self: str | None,
    extra_vars: tuple[str, ...],
    cache_dir: Path,
    audit_log: str | None,
    verbose: int,
) -> None:
    """Fetch the project and apply it to this machine, with the local connection."""
    try:
        kind = source_kind(source)
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = open(cache_dir / ".lock", "a")
    except (InputError, OSError) as exc:
        from provision.cli import InputFailure

        raise InputFailure(str(exc))
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            from provision.cli import InputFailure

            raise InputFailure(f"another provision pull holds {cache_dir / '.lock'}")
        code = _pull(
            source,
            kind,
            ref,
            playbook,
            inventory,
            limit_self,
            extra_vars,
            cache_dir,
            audit_log,
            verbose,
        )
    sys.exit(code)


def _pull(
    source: str,
    kind: str,
    ref: str | None,
    playbook: str,
    inventory: str | None,
    limit_self: str | None,
    extra_vars: tuple[str, ...],
    cache_dir: Path,
    audit_log: str | None,
    verbose: int,
) -> int:
    from provision.cli import InputFailure, _run

    audit_path = (
        str(Path(audit_log).resolve()) if audit_log else str(cache_dir.resolve() / "audit.jsonl")
    )
    try:
        project, commit = fetch(source, kind, ref, cache_dir)
        os.chdir(project)
        book = Path(playbook)
        inv = Path(inventory) if inventory else None
        host = pick_host(_hosts(inv, book, extra_vars), limit_self, this_machine())
    except InputError as exc:
        raise InputFailure(str(exc))
    click.echo(f"provision pull: {source} at {commit or '(directory)'}: applying to {host}")
    code = _run(
        "apply",
        inventory=inv,
        playbook=book,
        limit=host,
        extra_vars=extra_vars,
        forks=1,
        tags="",
        skip_tags="",
        output_format="text",
        timeout=None,
        retries=0,
        accept_new_host_keys=False,
        stats=False,
        verbose=verbose,
        color=False,
        diff=False,
        control=local_session(audit_path),
    )
    click.echo(f"provision pull: {host}: exit {code} (commit {commit or '-'})")
    return code
