"""One map from errors to the command line's one-line messages (in the spirit of httpx's ``map_exceptions``).

Every ``readpoint`` command runs inside :func:`user_errors` (the command group
does it), so a user's mistake or the machine's state is one line on stderr and
exit 1, never a traceback. What is mapped:

- settings that do not hold (:class:`~content.settings.SettingsError`);
- anything the library refuses on purpose (:class:`~content.errors.ContentError`);
- a damaged, locked, read-only or unopenable catalog (``sqlite3`` errors);
- a port already in use, a port below 1024 without permission, an address not on
  this machine (``OSError`` from binding);
- a data directory that cannot be written (permission, read-only file system, full).

Programming errors (anything else) still show their traceback: hiding them would
hide bugs.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator

import click

from content.errors import ContentError
from content.settings import SettingsError
from readpoint.server import BindError

__all__ = ["user_errors", "MappedGroup", "OneLineUsageError"]


class OneLineUsageError(click.UsageError):
    """A usage error (exit 2) shown as its one line, without click's usage banner."""

    def show(self, file=None) -> None:
        """Print ``Error: message`` on stderr."""
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


def _bind_message(error: BindError) -> str:
    """The one-line message for a server that could not take its address."""
    if error.errno == errno.EADDRINUSE:
        return (f"port {error.port} on {error.host} is already in use (another readpoint or "
                "another program is serving there): stop it, or choose another port with --port")
    if error.errno in (errno.EACCES, errno.EPERM) and error.port < 1024:
        return (f"port {error.port} is below 1024 and needs more permission than this user has: "
                "use a port of 1024 or more (e.g. --port 8080), or run as the system service")
    if error.errno == errno.EADDRNOTAVAIL:
        return f"the address {error.host} is not one of this machine's: use --host 0.0.0.0 or 127.0.0.1"
    return f"cannot serve on {error.host}:{error.port} ({error.strerror})"


def _os_message(error: OSError) -> str | None:
    """The one-line message for an OSError a user can do something about, or None."""
    code = error.errno
    path = f" {error.filename}" if error.filename else ""
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied:{path} is not writable or readable by this user ({error.strerror})"
    if code == errno.EROFS:
        return f"read-only file system:{path} cannot be written; give a writable data directory with --data"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full:{path} cannot be written; free some space (readpoint check shows where)"
    if code == errno.ENOENT:
        return f"no such file or folder:{path}"
    return None


def _sqlite_message(error: sqlite3.DatabaseError) -> str:
    """The one-line message for a catalog SQLite refuses."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return f"the catalog is busy (another readpoint process holds it): try again in a moment ({text})"
    if "readonly" in text:
        return f"the catalog cannot be written ({text}): the data directory is read-only or not this user's"
    if "unable to open" in text:
        return f"the catalog cannot be opened ({text}): check that the data directory exists and is writable"
    return f"the catalog is damaged ({text}): restore catalog.sqlite3 from a backup"


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can act on into :class:`click.ClickException` (one line, exit 1)."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except SettingsError as error:
        raise click.ClickException(str(error)) from error
    except ContentError as error:
        raise click.ClickException(str(error).splitlines()[0] if str(error) else type(error).__name__) from error
    except sqlite3.DatabaseError as error:
        raise click.ClickException(_sqlite_message(error)) from error
    except BindError as error:
        raise click.ClickException(_bind_message(error)) from error
    except OSError as error:
        message = _os_message(error)
        if message is None:
            raise
        raise click.ClickException(message) from error


class MappedGroup(click.Group):
    """A click group whose commands (and sub-groups' commands) all run inside :func:`user_errors`."""

    def invoke(self, ctx: click.Context):
        """Invoke the chosen command with the error map around it."""
        with user_errors():
            return super().invoke(ctx)
