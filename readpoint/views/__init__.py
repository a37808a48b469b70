"""The web app's blueprints, one module each, registered by the factory from :data:`BLUEPRINTS`."""

from readpoint.views import admin, api, books, captive, files, home, listen, opds, reader, search

__all__ = ["BLUEPRINTS"]

# captive first: its hook answers phones' connectivity probes before any other work
BLUEPRINTS = [captive.bp, home.bp, books.bp, reader.bp, listen.bp, api.bp, files.bp, search.bp, opds.bp, admin.bp]
