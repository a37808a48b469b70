"""The ``readpoint`` command: a thin layer over the library and the app.

Every command takes ``--data DIR`` (default ``$READPOINT_DATA``, else
``./var``), calls one library function, reports the result, and exits non-zero
with a one-line message on a user error, never a traceback: the command group
runs every command inside one error map (:mod:`readpoint.cli_errors`).

Data directory mistakes cannot go unnoticed: ``check`` and ``reindex`` never
create a library (they name the absolute path they looked in), ``import`` says
when it created a new one, and ``serve`` logs the absolute path it serves.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from content.settings import load_settings, resolve_data_dir
from readpoint.cli_errors import MappedGroup, OneLineUsageError
from readpoint.admin_cli import admin
from readpoint.cli_sync import register as register_sync_commands

__all__ = ["cli"]

log = logging.getLogger("readpoint")

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $READPOINT_DATA, else ./var).",
)


def _setup_logging(verbose: bool) -> None:
    """Configure logging once, for the command line."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from readpoint.log_limits import limit_handlers

    limit_handlers()  # a crowd or a crawler must not flood the journal


CATALOG_FILE = "catalog.sqlite3"


def _open(data_dir: Path | None, *, create: bool):
    """Resolve the data directory and settings and open the library.

    Without ``create``, a folder that holds no library is an error naming its
    absolute path (a mistyped ``--data`` must not look like an empty library).
    With it, a new library is announced on stderr.
    """
    from content.library import Library

    path = resolve_data_dir(data_dir)
    settings = load_settings(path)
    exists = (path / CATALOG_FILE).is_file()
    if not exists and not create:
        if (path / "store").is_dir():
            Library.refuse_lost_catalog(path)  # a library whose catalog is gone: say that, not "no library"
        raise click.ClickException(
            f"no library in {path} (no {CATALOG_FILE}): give the right --data DIR or set READPOINT_DATA"
        )
    library = Library(path, search_engine=settings["search_engine"])
    if not exists:
        click.echo(f"created a new, empty library in {path}", err=True)
    return library, settings


@click.group(cls=MappedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debugging detail.")
@click.version_option(package_name="readpoint")
def cli(verbose: bool) -> None:
    """readpoint: a community digital reading point (e-books and audiobooks over Wi-Fi)."""
    _setup_logging(verbose)


@cli.command()
@data_option
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--no-starter", is_flag=True, help="Do not load the starter collection into an empty library.")
def serve(data_dir: Path | None, host: str, port: int, no_starter: bool) -> None:
    """Serve the library to phones (waitress)."""
    from readpoint.app import create_app
    from readpoint.server import serve as serve_app
    from readpoint.starter import load_starter_if_empty

    path = resolve_data_dir(data_dir)
    settings = load_settings(path)
    log.info("data directory: %s", path)
    if settings["load_starter"] and not no_starter:
        report = load_starter_if_empty(path, settings)
        if report is not None:
            log.info("starter collection: %d books loaded", len({e["id"] for e in report.imported}))
    app = create_app(data_dir=path)

    def ready(server) -> None:
        log.info("serving %s on http://%s:%d/", path, host, server.effective_port)

    serve_app(app, host=host, port=port, threads=settings["threads"], on_ready=ready)


def _progress_line(done: int, total: int, current: str) -> None:
    """Progress on stderr: a bar, the counts and the current file.

    On a terminal one line is redrawn in place; otherwise (a log, a pipe) each
    update is a line of its own.
    """
    width = 24
    filled = width * done // total if total else width
    name = Path(current).name[:40] if current else ""
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name}"
    if sys.stderr.isatty():
        click.echo(f"\r{line:<76}", err=True, nl=not current)
    else:
        click.echo(line.rstrip(), err=True)


@cli.command(name="import")
@data_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--usb", is_flag=True, help="Also import from mounted USB drives (their READPOINT folder if any).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as one JSON object on stdout.")
def import_command(data_dir: Path | None, paths: tuple[Path, ...], usb: bool, as_json: bool) -> None:
    """Import e-books (EPUB, PDF) and audiobooks from files and folders.

    Progress goes to stderr. Exit 0 when nothing was rejected, 1 when some files
    were rejected (the good ones are still imported) or the import was cut short
    (a USB stick pulled, the box's storage full: run it again to resume),
    2 on a usage error.
    """
    from content.ingest.run import import_paths
    from content.ingest.usb import find_usb_sources

    sources = list(paths)
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise OneLineUsageError(f"no such file or folder: {Path(missing[0]).resolve()}")
    library, settings = _open(data_dir, create=True)
    if usb:
        roots = [root for root in settings["usb_roots"].split(":") if root]
        drives = find_usb_sources(roots)
        if not drives and not paths:
            library.close()
            raise OneLineUsageError(f"no USB drive found under {', '.join(roots)}")
        for drive in drives:
            log.info("USB drive: importing %s", drive)
        sources += drives
    if not sources:
        library.close()
        raise OneLineUsageError("nothing to import: give files or folders, or --usb")
    try:
        report = import_paths(
            library,
            sources,
            source="USB: " + ", ".join(str(p) for p in sources) if usb else None,
            progress=_progress_line,
            max_uncompressed_bytes=settings["import_max_uncompressed_mb"] * 2**20,
            max_file_bytes=settings["import_max_file_mb"] * 2**20,
            read_seconds=settings["import_read_seconds"],
        )
    finally:
        library.close()
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
    else:
        click.echo(
            f"imported {len(report.imported)}, duplicates {len(report.duplicates)}, "
            f"rejected {len(report.rejected)}, skipped {len(report.skipped)}"
        )
        for entry in report.rejected:
            click.echo(f"rejected: {entry['path']}: {entry['reason']}")
    if report.interrupted:
        click.echo(f"import interrupted: {report.stopped_because}; run it again to resume", err=True)
    sys.exit(1 if report.rejected or report.interrupted else 0)


@cli.command()
@data_option
def check(data_dir: Path | None) -> None:
    """Verify the catalog, every stored file's hash and the search index; exit 1 on problems.

    Also reports the free space of the data directory's disk on stderr (a warning when low).
    """
    from content.disk import disk_space

    library, _settings = _open(data_dir, create=False)
    try:
        problems = library.check()
        space = disk_space(library.data_dir)
    finally:
        library.close()
    click.echo(f"disk: {space.describe()}", err=True)  # stdout lists problems only
    if space.low:
        click.echo("warning: the disk is nearly full: run `readpoint gc`, or remove books", err=True)
    if problems:
        for problem in problems:
            click.echo(problem)
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo("ok: catalog, files and search index agree")


@cli.command()
@data_option
def gc(data_dir: Path | None) -> None:
    """Free disk space without losing anything: partial and orphan files, unused thumbnails, the catalog's log.

    Safe while the server runs; stored files are left alone while an import or sync runs.
    """
    from content.disk import collect_garbage

    library, _settings = _open(data_dir, create=False)
    try:
        report = collect_garbage(library)
    finally:
        library.close()
    click.echo(f"removed {report.parts_removed} partial file(s), {len(report.orphans_removed)} orphan file(s), "
               f"{report.thumbnails_removed} unused thumbnail(s)")
    if report.store_skipped:
        click.echo("an import or sync is running: stored files were left alone; run gc again later", err=True)
    click.echo("catalog log: " + ("checkpointed and truncated" if report.wal_checkpointed
                                  else "could not be checkpointed now (busy, or no room yet)"))
    click.echo(f"freed {report.freed / 2**20:.1f} MB; disk: {report.after.describe()}")


@cli.command()
@data_option
def reindex(data_dir: Path | None) -> None:
    """Rebuild the derived data (search index) from the catalog and the store."""
    library, _settings = _open(data_dir, create=False)
    try:
        count = library.search.rebuild(library.catalog)
    finally:
        library.close()
    click.echo(f"search index rebuilt: {count} books")


cli.add_command(admin)
register_sync_commands(cli)

if __name__ == "__main__":
    cli()
