"""The Flask application factory: the only place the web app is put together."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from content.library import Library
from readpoint import __version__, assets, capacity, errors, formatting, i18n, security, tai_viet, usage
from content.settings import load_settings, resolve_data_dir
from readpoint.fragment_cache import here_url
from readpoint.views import BLUEPRINTS

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None, *, data_dir: str | Path | None = None) -> Flask:
    """Build the app for one data directory.

    ``data_dir`` defaults to ``$READPOINT_DATA`` or ``./var``; ``test_config``
    overrides settings (the last layer; see :mod:`content.settings`). Opens the
    library and runs the cheap start-up check (stale parts, orphans, index).
    """
    data_path = resolve_data_dir(data_dir)
    settings = load_settings(data_path, test_config)
    ui_dir = Path(settings["ui_dir"])
    app = Flask(
        "readpoint",
        template_folder=str(ui_dir / "templates"),
        static_folder=None,
    )
    app.config["READPOINT"] = settings
    app.config["DATA_DIR"] = data_path
    app.config["UI_DIR"] = ui_dir
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    library = Library(data_path, search_engine=settings["search_engine"])
    app.extensions["startup"] = library.startup()
    app.extensions["library"] = library

    for module in (errors, security, tai_viet, assets, i18n, formatting, usage, capacity):
        module.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.jinja_env.globals["version"] = __version__
    app.jinja_env.globals["here_url"] = here_url  # a page's link to itself, never the raw request text
    app.jinja_env.globals["site_name"] = settings["site_name"]
    return app
