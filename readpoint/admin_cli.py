"""``readpoint admin``: the librarian account's commands on the box itself.

- ``readpoint admin setup-code``: the one-time code that creates the first
  librarian account in the browser (provisioning prints it on the box's label).
- ``readpoint admin reset-password``: a new password for a librarian who
  forgot theirs; every session opened with the old one ends.
"""

from __future__ import annotations

from pathlib import Path

import click

from content.admin_keys import existing_setup_code, setup_code
from content.catalog.librarians import AccountError, Librarians, check_new_password

__all__ = ["admin"]


# As readpoint.cli's own option; not imported from there, which imports this module.
_data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $READPOINT_DATA, else ./var).",
)


def _librarians(data_dir, *, create: bool):
    """Open the data directory's library and its accounts (the CLI's own opener)."""
    from readpoint.cli import _open

    library, _settings = _open(data_dir, create=create)
    return library, Librarians(library.catalog)


@click.group()
def admin() -> None:
    """The librarian account: the setup code, a forgotten password."""


@admin.command(name="setup-code")
@_data_option
def setup_code_command(data_dir) -> None:
    """Print the code that creates the first librarian account at http://<box>/admin/.

    Works on a new box before it first serves (provisioning prints the code on its label).
    """
    library, accounts = _librarians(data_dir, create=True)
    try:
        if accounts.any():
            raise click.ClickException(
                "a librarian account exists already; for a forgotten password use `readpoint admin reset-password`")
        click.echo(existing_setup_code(library.data_dir) or setup_code(library.data_dir))
    finally:
        library.close()


def _checked_password(value: str) -> str:
    """The password if it is acceptable, else a click error saying why."""
    try:
        check_new_password(value)
    except AccountError as error:
        raise click.BadParameter(str(error)) from error
    return value


@admin.command(name="reset-password")
@_data_option
@click.option("--name", default=None, help="The account (default: the only one).")
def reset_password(data_dir, name: str | None) -> None:
    """Give a librarian a new password (asked for twice); their open sessions end."""
    library, accounts = _librarians(data_dir, create=False)
    try:
        names = accounts.names()
        if not names:
            raise click.ClickException("there is no librarian account yet: create it at /admin/ with "
                                       "the code from `readpoint admin setup-code`")
        if name is None:
            if len(names) > 1:
                raise click.UsageError(f"several accounts: choose one with --name ({', '.join(names)})")
            name = names[0]
        if name not in names:
            raise click.ClickException(f"no librarian account is named {name!r}")
        password = click.prompt(f"New password for {name}", hide_input=True, confirmation_prompt=True,
                                value_proc=_checked_password)
        try:
            accounts.set_password(name, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from error
    finally:
        library.close()
    click.echo(f"new password set for {name}")
