"""Settings, declared once as (name, default, help), and how they are resolved.

Order, later wins: the defaults below → ``<data>/readpoint.toml`` → ``READPOINT_<NAME>``
environment variables → the mapping a test passes to ``create_app``. The data
directory itself is not a setting here: it comes from ``--data``,
``$READPOINT_DATA`` or ``./var`` (see :func:`resolve_data_dir`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Setting", "SETTINGS", "SettingsError", "load_settings", "resolve_data_dir", "default_ui_dir"]


class SettingsError(ValueError):
    """A setting has a value of the wrong type or an unknown name."""


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default value (which fixes its type), help text and allowed values.

    ``choices`` lists the only values allowed; ``minimum``/``maximum`` bound a number.
    """

    name: str
    default: Any
    help: str
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any, origin: str) -> None:
        """Raise SettingsError (one line: setting, value, what is allowed) unless ``value`` is allowed."""
        if self.choices and value not in self.choices:
            allowed = ", ".join(str(choice) for choice in self.choices)
            raise SettingsError(f"{origin}: {self.name} = {value!r} is not allowed; use one of: {allowed}")
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and value > self.maximum
        if too_low or too_high:
            raise SettingsError(
                f"{origin}: {self.name} = {value!r} is out of range; allowed: {self.minimum} to {self.maximum}"
            )


def default_ui_dir() -> str:
    """The ``kiosk-ui`` folder: beside the packages in a checkout, else where the wheel put it."""
    checkout = Path(__file__).resolve().parent.parent / "kiosk-ui"
    if checkout.is_dir():
        return str(checkout)
    import sys

    return str(Path(sys.prefix) / "share" / "readpoint" / "kiosk-ui")


SETTINGS: list[Setting] = [
    Setting("site_name", "Thư viện cộng đồng", "Name of this reading point, shown in every page's header."),
    Setting("default_locale", "vi", "UI language when the phone asks for none we have: vi, th or en.",
            choices=("vi", "th", "en")),
    Setting("search_engine", "fts5", "Search engine: fts5 (SQLite, default, power-safe) or whoosh.",
            choices=("fts5", "whoosh")),
    Setting("search_time_budget_ms", 2000, "Longest time one search may run before it returns what it has.",
            minimum=50, maximum=60_000),
    Setting("page_size", 20, "Books per page in listings.", minimum=1, maximum=200),
    Setting("threads", 8, "Worker threads of the web server (waitress).", minimum=1, maximum=64),
    Setting("load_starter", True, "Load the starter collection into a new, empty data directory on serve."),
    Setting("events_flush_seconds", 30, "How often buffered usage events are written to the catalog.",
            minimum=0, maximum=3600),
    Setting("events_buffer_max", 500, "Buffered usage events that force a write before the timer.",
            minimum=1, maximum=100_000),
    Setting("import_max_uncompressed_mb", 300, "Largest uncompressed size of one EPUB the importer opens.",
            minimum=1, maximum=100_000),
    Setting("import_max_file_mb", 2048, "Largest single file the importer copies into the store.",
            minimum=1, maximum=1_000_000),
    Setting("import_read_seconds", 120, "Longest the importer reads one book (plus 2 s per MB) before rejecting it.",
            minimum=0, maximum=86_400),
    Setting("ui_dir", "", "Folder holding templates/ and static/ (empty: the installed kiosk-ui)."),
    Setting("usb_roots", "/media:/run/media", "Colon-separated folders where USB sticks are mounted."),
    Setting("utc_offset_hours", 7, "Hours added to UTC for the days and hours of the librarian's statistics."),
    Setting("box_address", "http://thuvien.lan/", "The address phones open, printed as a QR code on the poster."),
    Setting("hostapd_conf", "/etc/hostapd/hostapd.conf", "hostapd's configuration: the poster reads the Wi-Fi name and password there."),
    Setting("hub_url", "", "Address of the provincial hub (http://...), written by provisioning; empty: no sync."),
    Setting("hub_public_key", "", "The hub's Ed25519 public key (base64), written by provisioning; pinned at enrollment."),
    Setting("sync_run_budget_mb", 200, "Most megabytes one sync run may download (0: no limit)."),
    Setting("sync_month_budget_mb", 2048, "Most megabytes sync may download per month, by the hub's clock (0: no limit)."),
    Setting("sync_bandwidth_kbit", 0, "Cap on sync's download speed in kbit/s, so the link stays usable (0: no cap)."),
    Setting("sync_timeout_seconds", 30, "Seconds without a byte from the hub before a sync request is retried."),
    Setting("hub_database_url", "", "Hub only: a postgresql:// address for its database (empty: hub.sqlite3 in its folder)."),
    Setting("portal_hosts", "", "The box's own host names, comma-separated, the first where phones are sent "
            "(e.g. thuvien.lan,10.42.0.1); empty: no captive portal."),
    Setting("portal_remember_minutes", 120, "How long after its last request a phone that opened the library "
            "is not sent to it again (keep it no longer than the DHCP lease).", minimum=5, maximum=1440),
]

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def resolve_data_dir(option: str | os.PathLike | None) -> Path:
    """The data directory: the ``--data`` option, else ``$READPOINT_DATA``, else ``./var``."""
    if option:
        return Path(option).resolve()
    env = os.environ.get("READPOINT_DATA")
    return Path(env).resolve() if env else Path("var").resolve()


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    """Convert ``value`` to the type of the setting's default."""
    kind = type(setting.default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
        elif kind is int:
            try:
                return int(text)
            except ValueError:
                pass
        elif kind is str:
            return text
    raise SettingsError(f"{origin}: {setting.name} must be a {kind.__name__}, not {value!r}")


def load_settings(data_dir: Path, overrides: dict | None = None, environ=None) -> dict[str, Any]:
    """Resolve every setting for ``data_dir``; unknown names in the TOML file are an error."""
    environ = os.environ if environ is None else environ
    values = {setting.name: setting.default for setting in SETTINGS}
    origins = {setting.name: "default" for setting in SETTINGS}
    toml_path = Path(data_dir) / "readpoint.toml"
    if toml_path.is_file():
        try:
            with open(toml_path, "rb") as handle:
                from_file = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{toml_path}: {error}") from error
        for name, value in from_file.items():
            if name not in _BY_NAME:
                raise SettingsError(f"{toml_path}: unknown setting {name!r}")
            values[name] = _coerce(_BY_NAME[name], value, str(toml_path))
            origins[name] = str(toml_path)
    for setting in SETTINGS:
        key = "READPOINT_" + setting.name.upper()
        if key in environ:
            values[setting.name] = _coerce(setting, environ[key], key)
            origins[setting.name] = key
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = _coerce(_BY_NAME[name], value, "test settings")
        origins[name] = "test settings"
    for setting in SETTINGS:
        setting.check(values[setting.name], origins[setting.name])
    if not values["ui_dir"]:
        values["ui_dir"] = default_ui_dir()
    return values
