"""`provision bundle create | verify | list` (registered lazily in provision.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from provision.bundle.format import BundleError, shown_path
from provision.bundle.progress import Progress
from provision.errors import ConnectError, InputError, ProvisionError


def _input_failure(exc: InputError) -> click.ClickException:
    from provision.cli import InputFailure

    return InputFailure(str(exc))


def _fail(text: str, code: int = 1) -> None:
    from provision.reporting.terminal import block_lines, escape_control

    for line in block_lines(text):
        click.echo(escape_control(line), err=True)
    sys.exit(code)


@click.group("bundle")
def bundle() -> None:
    """Offline bundles for air-gapped sites: create (on a reference host), verify, list."""


@bundle.command("create")
@click.argument("inventory", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--reference",
    required=True,
    metavar="HOST",
    help="Inventory host where dnf resolves and downloads (reaches the repositories).",
)
@click.option(
    "--release",
    "releases",
    multiple=True,
    metavar="elN",
    help="Target release: el8, el9, el10. Repeatable. None: a bundle of images only.",
)
@click.option("--arch", default="x86_64", show_default=True, help="Target architecture.")
@click.option(
    "--package",
    "packages",
    multiple=True,
    metavar="NAME",
    help="A package to add to the default set (docker-ce and what it needs). Repeatable.",
)
@click.option(
    "--image", "images", multiple=True, metavar="REF", help="`docker save` REF on the host."
)
@click.option(
    "--image-tar",
    "image_tars",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="A `docker save` archive on this machine to add. Repeatable.",
)
@click.option(
    "--gpg-key-url",
    "gpg_key_urls",
    multiple=True,
    metavar="URL",
    help="The repository's GPG key (default: docker_gpg_key_url, else MIRROR/gpg).",
)
@click.option(
    "--gpg-fingerprint",
    "gpg_fingerprints",
    multiple=True,
    metavar="HEX",
    help="Its pinned fingerprint (default: docker_gpg_fingerprint, else Docker's).",
)
@click.option(
    "--docker-repo",
    default=None,
    metavar="URL",
    help="Docker's repository: MIRROR/linux/rhel or its docker-ce.repo URL"
    " (default: the host's docker_repo_url, else download.docker.com).",
)
@click.option(
    "--proxy", default=None, metavar="URL", help="dnf's and curl's proxy (default: dnf_proxy)."
)
@click.option(
    "--alldeps",
    is_flag=True,
    help="Download every dependency, installed on the reference host or not (dnf"
    " download --alldeps); needed when the host is not of the target release.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The bundle file to write (e.g. docker-el9.bundle.tar).",
)
@click.option("--timeout", type=click.FloatRange(0.5, 600), default=10.0, show_default=True)
@click.option("--accept-new-host-keys", is_flag=True, help="Record an unknown host key.")
def create_command(**kwargs: Any) -> None:
    """Build a bundle on a reference host over SSH (dnf resolves there) and write it here.

    \b
    Exit codes: 0 written, 1 the build failed (nothing written), 2 bad input,
    3 the reference host was unreachable."""
    from provision.bundle.create import Request, create_bundle
    from provision.bundle.format import bundle_id

    request = Request(
        inventory=kwargs["inventory"],
        reference=kwargs["reference"],
        releases=tuple(kwargs["releases"]),
        arch=kwargs["arch"],
        output=kwargs["output"],
        packages=tuple(kwargs["packages"]),
        images=tuple(kwargs["images"]),
        image_tars=tuple(kwargs["image_tars"]),
        gpg_key_urls=tuple(kwargs["gpg_key_urls"]),
        gpg_fingerprints=tuple(kwargs["gpg_fingerprints"]),
        docker_repo=kwargs["docker_repo"],
        proxy=kwargs["proxy"],
        alldeps=kwargs["alldeps"],
        timeout=kwargs["timeout"],
        accept_new_host_keys=kwargs["accept_new_host_keys"],
    )
    progress = Progress()
    try:
        manifest, manifest_bytes = create_bundle(
            request, progress, lambda text: click.echo(text, err=True)
        )
    except InputError as exc:
        raise _input_failure(exc)
    except ConnectError as exc:
        _fail(f"error: {exc}", 3)
    except ProvisionError as exc:
        _fail(f"error: {exc}", 1)
    packages = sum(f.kind == "rpm" for f in manifest.files)
    click.echo(
        f"wrote {shown_path(request.output)}: {packages} packages, {len(manifest.images)} images,"
        f" {len(manifest.gpg_keys)} keys, {request.output.stat().st_size} bytes"
    )
    click.echo(f"bundle id (sha256 of manifest.json): {bundle_id(manifest_bytes)}")


@bundle.command("verify")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option(
    "--expect-id",
    default=None,
    metavar="SHA256",
    help="Also require this bundle id (printed by `bundle create`): the manifest itself.",
)
def verify_command(bundle_file: Path, expect_id: str | None) -> None:
    """Check every member of a bundle: hashes against the manifest and SHA256SUMS, no
    extra or missing member, no link, device or unsafe path, the keys' fingerprints.

    \b
    Exit codes: 0 the bundle is intact, 1 it is not (each problem named), 2 bad usage."""
    from provision.bundle.verify import verify_bundle

    progress = Progress()
    progress.start(f"verifying {shown_path(bundle_file)}", _size(bundle_file))
    try:
        verified = verify_bundle(bundle_file, progress.advance)
    except BundleError as exc:
        progress.finish()
        _fail(str(exc), 1)
    progress.finish()
    if expect_id is not None and expect_id.strip().lower() != verified.id:
        _fail(
            f"bundle {shown_path(bundle_file)}: member manifest.json: bundle id {verified.id},"
            f" expected {shown_path(expect_id)}"
        )
    files = len(verified.manifest.files) + 1
    click.echo(f"bundle {shown_path(bundle_file)}: OK, {files} members verified, id {verified.id}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@bundle.command("list")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def list_command(bundle_file: Path, output_format: str) -> None:
    """Show what a bundle holds: releases, packages and versions, images, keys, when it was
    made, its size and id. Reads the manifest only: `bundle verify` checks the contents."""
    from provision.bundle.listing import describe, describe_text, read_manifest

    try:
        manifest, manifest_bytes, size = read_manifest(bundle_file)
    except BundleError as exc:
        _fail(str(exc), 1)
    document = describe(bundle_file, manifest, manifest_bytes, size)
    if output_format == "json":
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(describe_text(document)))
