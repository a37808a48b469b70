"""``readpoint hub ...`` (the provincial hub) and ``readpoint sync ...`` (the box's side).

Registered on the main command by :func:`register`. Like every command: a thin
layer that calls one library function, prints the result, and exits non-zero
with a one-line message on a user error. Library imports happen inside the
commands, so importing this module opens nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from content.errors import ContentError
from content.settings import SettingsError, load_settings, resolve_data_dir

__all__ = ["register", "hub", "sync"]

log = logging.getLogger("readpoint")

hub_data_option = click.option(
    "--data", "hub_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="The hub's folder (key, database, workspace, releases).",
)
box_data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory (default: $READPOINT_DATA, else ./var).",
)


def _errors():
    """The library errors a command turns into a one-line message."""
    from sync.errors import SyncError

    return (SyncError, SettingsError, ContentError, OSError, sqlite3.DatabaseError)


@contextlib.contextmanager
def _hub(hub_dir: Path) -> Iterator:
    """The initialised hub in ``hub_dir``, closed afterwards; its errors become one-line messages."""
    instance = _open_hub(hub_dir)
    try:
        yield instance
    except _errors() as error:
        raise click.ClickException(str(error)) from error
    finally:
        instance.close()


def _open_hub(hub_dir: Path):
    """Open an initialised hub folder, or exit with a one-line message."""
    from sync.hub.hub import Hub

    try:
        return Hub(hub_dir.resolve())
    except _errors() as error:
        raise click.ClickException(str(error)) from error


@click.group()
def hub() -> None:
    """The provincial hub: choose what boxes carry, publish signed releases, see usage."""


@hub.command("init")
@hub_data_option
def hub_init(hub_dir: Path) -> None:
    """Create the hub's folder and its Ed25519 signing key; print the public key."""
    from sync.hub.hub import init_hub

    try:
        public_key = init_hub(hub_dir.resolve())
    except _errors() as error:
        raise click.ClickException(str(error)) from error
    click.echo(public_key)


@hub.command("key")
@hub_data_option
def hub_key(hub_dir: Path) -> None:
    """Print the hub's public key (what boxes pin as hub_public_key)."""
    instance = _open_hub(hub_dir)
    try:
        click.echo(instance.key.public_b64)
    finally:
        instance.close()


@hub.command("add")
@hub_data_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as one JSON object on stdout.")
def hub_add(hub_dir: Path, paths: tuple[Path, ...], as_json: bool) -> None:
    """Stage books into the next release (the box's readers and verdicts); exit 1 if any was rejected."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise click.UsageError(f"no such file or folder: {missing[0]}")
    with _hub(hub_dir) as instance:
        report = instance.add(list(paths))
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
    else:
        click.echo(f"staged {len(report.imported)}, duplicates {len(report.duplicates)}, "
                   f"rejected {len(report.rejected)}, skipped {len(report.skipped)}")
        for entry in report.rejected:
            click.echo(f"rejected: {entry['path']}: {entry['reason']}")
    sys.exit(1 if report.rejected or report.interrupted else 0)


@hub.command("remove")
@hub_data_option
@click.argument("book_ids", nargs=-1, required=True)
def hub_remove(hub_dir: Path, book_ids: tuple[str, ...]) -> None:
    """Stage the withdrawal of books from the next release."""
    with _hub(hub_dir) as instance:
        staged = instance.remove(list(book_ids))
    click.echo(f"staged for removal: {' '.join(staged)}")


@hub.command("publish")
@hub_data_option
@click.option("--json", "as_json", is_flag=True, help="Print the release summary as JSON.")
def hub_publish(hub_dir: Path, as_json: bool) -> None:
    """Build and sign the next release from what is staged."""
    with _hub(hub_dir) as instance:
        summary = instance.publish()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"release {summary['release']}: {summary['books']} books "
                   f"({summary['added']} added, {summary['removed']} removed)")


@hub.command("enroll-code")
@hub_data_option
@click.option("--name", default="", help="A name for the box (the commune).")
def hub_enroll_code(hub_dir: Path, name: str) -> None:
    """Print a one-time enrollment code for a new box (valid 7 days)."""
    with _hub(hub_dir) as instance:
        click.echo(instance.enroll_code(name))


@hub.command("serve")
@hub_data_option
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535), help="Port.")
def hub_serve(hub_dir: Path, host: str, port: int) -> None:
    """Serve the hub's API to boxes (waitress)."""
    from readpoint.server import serve as serve_app
    from sync.hub.app import create_app

    def ready(server) -> None:
        log.info("hub %s serving on http://%s:%s/", hub_dir, host, server.effective_port)

    instance = _open_hub(hub_dir)
    try:
        serve_app(create_app(instance), host=host, port=port, threads=8, on_ready=ready)
    finally:
        instance.close()


@hub.command("usage")
@hub_data_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def hub_usage(hub_dir: Path, as_json: bool) -> None:
    """Per box: last sync, acked_through, applied release, usage per book and day, terms not found."""
    with _hub(hub_dir) as instance:
        report = instance.usage_report()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    click.echo(f"latest release {report['latest_release']}")
    for device in report["devices"]:
        total = sum(row["count"] for row in device["usage"])
        click.echo(f"{device['device_id']} {device['name']}: release {device['applied_release']}, "
                   f"last sync {device['last_sync'] or 'never'}, acked {device['acked_through']}, "
                   f"{total} events, {len(device['not_found'])} terms not found")


@hub.command("group")
@hub_data_option
@click.argument("group")
@click.argument("device_ids", nargs=-1, required=True)
def hub_group(hub_dir: Path, group: str, device_ids: tuple[str, ...]) -> None:
    """Put boxes into a group of boxes (made if new); GROUP "-" takes them out of any group."""
    from sync.hub.staff import clean_group

    with _hub(hub_dir) as instance:
        name = None if group == "-" else clean_group(group)
        if name is None and group != "-":
            raise click.UsageError(f"not a group name: {group!r}")
        unknown = [d for d in device_ids if instance.storage.device(d) is None]
        if unknown:
            raise click.ClickException(f"no box {unknown[0]} on this hub")
        moved = instance.storage.set_group(list(device_ids), name)
    click.echo(f"{moved} boxes {'in group ' + repr(name) if name else 'out of their group'}")


@hub.command("bundle")
@hub_data_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write READPOINT_BUNDLE/ (the root of a USB stick).")
@click.option("--group", default=None, help="For the boxes of this group (its boxes' acks only, for now).")
@click.option("--from", "from_release", default=None, type=click.IntRange(min=0),
              help="The release the boxes have: only books changed after it (default: everything).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def hub_bundle(hub_dir: Path, out: Path, group: str | None, from_release: int | None, as_json: bool) -> None:
    """Write the newest release as a USB bundle for boxes that never see a network."""
    from sync.hub.bundle import write_bundle

    with _hub(hub_dir) as instance:
        summary = write_bundle(instance, out, group=group, from_release=from_release)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"release {summary['release']}: {summary['books']} books, {summary['files']} files, "
                   f"{summary['bytes']} bytes in {summary['path']}")


@hub.command("bundle-return")
@hub_data_option
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def hub_bundle_return(hub_dir: Path, folder: Path, as_json: bool) -> None:
    """Take in the usage boxes left on a returned stick, each batch exactly once; exit 1 if any was refused."""
    from sync.hub.bundle import take_returns

    with _hub(hub_dir) as instance:
        summary = take_returns(instance, folder)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        click.echo(f"{summary['batches']} usage batches: {summary['accepted']} taken, {summary['duplicate']} "
                   f"already here, {summary['gap']} out of order; {summary['statuses']} box statuses")
        for line in summary["refused"]:
            click.echo(f"refused: {line}", err=True)
    sys.exit(1 if summary["refused"] else 0)


@hub.command("add-staff")
@hub_data_option
@click.option("--name", required=True, help="The staff member's login name.")
@click.option("--reset", is_flag=True, help="Give an existing account a new password (its sessions end).")
def hub_add_staff(hub_dir: Path, name: str, reset: bool) -> None:
    """Make a staff account for the hub's staff pages (the password is asked for twice)."""
    from content.catalog.librarians import AccountError, check_new_password, clean_name, hash_password

    instance = _open_hub(hub_dir)
    try:
        try:
            name = clean_name(name)
        except AccountError as error:
            raise click.UsageError(str(error)) from error
        exists = instance.storage.staff(name) is not None
        if exists != reset:
            raise click.ClickException(f"a staff account {name!r} exists already (use --reset for a new password)"
                                       if exists else f"no staff account is named {name!r}")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            check_new_password(password)
        except AccountError as error:
            raise click.ClickException(str(error)) from error
        stored = hash_password(password)
        done = instance.storage.set_staff_password(name, stored) if reset else instance.storage.add_staff(name, stored)
        if not done:
            raise click.ClickException(f"the account {name!r} changed meanwhile: try again")
    finally:
        instance.close()
    click.echo(f"staff account {name!r} {'has a new password' if reset else 'created'}")


def _open_box(data_dir: Path | None):
    """The box's library and settings, or exit with a one-line message."""
    from content.library import Library

    path = resolve_data_dir(data_dir)
    try:
        settings = load_settings(path)
        return Library(path, search_engine=settings["search_engine"]), settings
    except _errors() as error:
        raise click.ClickException(str(error)) from error


@click.group(invoke_without_command=True)
@box_data_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")
@click.option("--bundle", "bundle", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Take the release from a USB stick (a folder holding READPOINT_BUNDLE/) instead of the hub, "
                   "and leave this box's usage in its outbox/.")
@click.pass_context
def sync(ctx: click.Context, data_dir: Path | None, as_json: bool, bundle: Path | None) -> None:
    """Sync this box with the provincial hub: releases down, usage up.

    With --bundle the release comes from a USB stick, checked exactly as from
    the hub; a stick that cannot be written (read-only) is an error in
    "errors", but the release is applied and the usage waits on the box.

    Exit 0 when everything tried succeeded, 1 when anything failed or was
    refused (the reasons in "errors"; the rest resumes next time), 2 on a
    usage error.
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = data_dir  # `sync --data D enroll` as well as `sync enroll --data D`
        return
    from sync.client.run import run_sync

    library, settings = _open_box(data_dir)
    try:
        report = run_sync(library, settings, bundle=bundle)
    finally:
        library.close()
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        click.echo(f"release {report.release_before} -> {report.release_after}: {report.books_added} books added, "
                   f"{report.books_removed} removed, {report.files_downloaded} files, "
                   f"{report.bytes_down} bytes down, {report.bytes_up} up, {report.events_sent} events sent")
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
    sys.exit(1 if report.errors else 0)


@sync.command("enroll")
@box_data_option
@click.option("--code", required=True, help="The one-time code from provincial staff.")
@click.pass_context
def sync_enroll(ctx: click.Context, data_dir: Path | None, code: str) -> None:
    """Enroll this box with the hub (generating its key first if it has none)."""
    from sync.client.run import enroll

    library, settings = _open_box(data_dir or ctx.obj)
    try:
        device = enroll(library, settings, code)
    except _errors() as error:
        raise click.ClickException(str(error)) from error
    finally:
        library.close()
    click.echo(f"enrolled as device {device['device_id']} ({device['name']})")


def register(cli: click.Group) -> None:
    """Add the ``hub`` and ``sync`` commands to the main command."""
    cli.add_command(hub)
    cli.add_command(sync)
