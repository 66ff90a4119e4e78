"""``provision lab ...``: the container lab's commands (click group ``lab``)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import config


def _handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Lab errors become a one-screen message and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        from .core import PrerequisiteError
        from .util import LabError

        try:
            return func(*args, **kwargs)
        except PrerequisiteError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except LabError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted (the next `lab up` or `lab down` cleans up)", err=True)
            sys.exit(130)

    return wrapper


inventory_option = click.option(
    "--inventory",
    "inventory_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The lab's inventory (default: inventories/lab.yml of the checkout); the key,"
    " known_hosts and vars.yml go to .lab/ beside it. Written only if missing.",
)


def _shown(path: Path) -> str:
    """path relative to the current folder when it is inside it (shorter to copy)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@click.group(name="lab")
def lab() -> None:
    """The container lab: Rocky 9-like hosts in systemd-nspawn containers (needs root)."""


@lab.command()
@click.option(
    "--hosts",
    "count",
    type=click.IntRange(1, config.MAX_HOSTS),
    default=config.DEFAULT_HOSTS,
    show_default=True,
)
@click.option(
    "--os",
    "os_values",
    multiple=True,
    metavar="RELEASE|HOST=RELEASE",
    help="The release the hosts say they are: rocky8, rocky9 (default), rocky10, alma8,"
    " alma9, alma10, rhel8, rhel9, rhel10; every host, or one (rocky2=rhel9). Repeatable."
    " Only the identity (os-release, redhat-release) and the docker-ce paths served differ:"
    " the userland stays the image's (docs/lab.md).",
)
@click.option(
    "--airgap/--no-airgap",
    "airgap_hosts",
    default=None,
    help="Cut the hosts off the lab's package server and proxy (firewall rules on this"
    " machine; only an offline bundle can install anything, docs/airgap.md);"
    " --no-airgap gives the route back. Neither: left as it is.",
)
@inventory_option
@_handle_errors
def up(
    count: int,
    os_values: tuple[str, ...],
    airgap_hosts: bool | None,
    inventory_path: Path | None,
) -> None:
    """Boot rocky1..N (builds the image on first use; does nothing if already up).

    inventories/lab.yml lists rocky1..rocky3; for other hosts, `up` writes
    inventories/.lab/inventory.yml and names it."""
    from .core import host_release, inventory_of, lab_paths, lab_up
    from .releases import DEFAULT, parse_os_options

    try:
        chosen = parse_os_options(os_values, count) if os_values else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--os") from None
    if airgap_hosts is not None:
        hosts = lab_up(count, inventory_path, chosen, airgap_hosts=airgap_hosts)
    else:
        hosts = (
            lab_up(count, inventory_path)
            if chosen is None
            else lab_up(count, inventory_path, chosen)
        )
    paths = lab_paths(inventory_path)
    for host in hosts:
        release = host_release(host.name)
        shown = "" if release == DEFAULT else f"\t{release} (identity only, docs/lab.md)"
        click.echo(f"{host.name}\t{host.address}{shown}")
    used = inventory_of(paths, hosts)
    click.echo(f"inventory: {used}")
    if used != paths.inventory:
        click.echo(
            f"  (the hosts up are not the {paths.inventory.name} ones: use this file,"
            f" e.g. provision plan {_shown(used)})"
        )


@lab.command()
@click.option("--wipe", is_flag=True, help="Also forget the hosts' disks and host keys.")
@inventory_option
@_handle_errors
def down(wipe: bool, inventory_path: Path | None) -> None:
    """Stop every lab host (and clean any stale state)."""
    from .core import lab_down

    lab_down(wipe, inventory_path)


@lab.command()
@inventory_option
@_handle_errors
def clean(inventory_path: Path | None) -> None:
    """Stop the lab, forget the hosts, remove the cached image and repos."""
    from .core import lab_clean

    lab_clean(inventory_path)


@lab.command()
@inventory_option
@_handle_errors
def status(inventory_path: Path | None) -> None:
    """Hosts, addresses, state, what is cached and its size."""
    from .core import lab_status
    from .util import human_size

    st = lab_status(inventory_path)
    p = st.paths
    if not st.hosts:
        click.echo("hosts: none (run `provision lab up`)")
    else:
        click.echo(f"{'HOST':8} {'ADDRESS':13} {'STATE':8} {'SSH':4} {'RAM':>9} {'DISK':>9}")
        for h in st.hosts:
            ram = human_size(h.ram_bytes) if h.ram_bytes else "-"
            ssh = "yes" if h.ssh else "no"
            click.echo(
                f"{h.host.name:8} {h.host.address:13} {h.state:8} {ssh:4} {ram:>9}"
                f" {human_size(h.disk_bytes):>9}"
            )
    click.echo(f"repo server: {p.repo_base} ({'running' if st.server else 'stopped'})")
    click.echo(f"proxy:       {p.proxy_url} ({'running' if st.server else 'stopped'})")
    from .airgap import airgapped

    gapped = airgapped()
    click.echo(f"air gap:     {', '.join(gapped) if gapped else 'none'} (`lab up --airgap`)")
    click.echo(f"proxy log:   {p.proxy_log}")
    click.echo(f"repo log:    {p.repo_log}")
    click.echo(f"inventory:   {st.inventory}")
    click.echo(f"ssh key:     {p.key}")
    ready = "cached" if st.image_ready else "not built (the next `up` builds it, ~1 min)"
    click.echo(f"image:       {st.image_key} {ready}")
    click.echo(f"cache:       {p.cache}")
    for name, size in sorted(st.cache.items()):
        click.echo(f"  {name:24} {human_size(size):>9}")
    click.echo(f"host disks:  {p.state / 'hosts'}")


@lab.command(context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--root", "as_root", is_flag=True, help="Log in as root instead of rocky.")
@inventory_option
@_handle_errors
def ssh(host: str, command: tuple[str, ...], as_root: bool, inventory_path: Path | None) -> None:
    """A shell, or COMMAND, on a lab host (as rocky; --root for root)."""
    from .core import LabHost, is_running, lab_paths, ssh_command
    from .util import LabError

    try:
        index = config.host_index(host)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST") from None
    if not is_running(host):
        raise LabError(f"{host} is not up (run `provision lab up --hosts {index}`)")
    paths = lab_paths(inventory_path)
    cmd = ssh_command(
        LabHost(host, config.host_address(index)), paths, "root" if as_root else "rocky"
    )
    if sys.stdin.isatty() and not command:
        cmd.insert(1, "-t")
    os.execvp(cmd[0], [*cmd, *command])
