"""The web app's blueprints, one module each, registered by the factory from :data:`BLUEPRINTS`."""

from readpoint.views import api, books, files, home

__all__ = ["BLUEPRINTS"]

BLUEPRINTS = [home.bp, books.bp, api.bp, files.bp]
