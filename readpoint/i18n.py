"""The UI language: Vietnamese by default, Thai and English; Babel catalogs in kiosk-ui.

The language comes from the ``lang`` cookie (the switcher sets it), else the
phone's Accept-Language, else the ``default_locale`` setting.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, request
from flask_babel import Babel, get_locale

__all__ = ["init_app", "LOCALES", "current_locale", "localized_name", "display_language"]

LOCALES = ("vi", "th", "en")
LOCALE_NAMES = {"vi": "Tiếng Việt", "th": "ภาษาไทย", "en": "English"}
# Languages of the region that CLDR does not name (Tai Dam), in each UI language.
EXTRA_LANGUAGE_NAMES = {
    "blt": {"vi": "Tiếng Thái Đen", "th": "ภาษาไทดำ", "en": "Tai Dam"},
}


def select_locale() -> str:
    """Pick the UI language for this request."""
    chosen = request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    best = request.accept_languages.best_match(LOCALES)
    return best or current_app.config["READPOINT"]["default_locale"]


def current_locale() -> str:
    """The language code of this request's UI."""
    return str(get_locale() or "vi")


def localized_name(category: dict) -> str:
    """A category's name in the current UI language."""
    return category.get(f"name_{current_locale()}") or category.get("name_vi") or category["id"]


def display_language(code: str, ui_locale: str) -> str:
    """The name of the language ``code`` (BCP 47) in the UI language ``ui_locale``; '' if unknown."""
    extra = EXTRA_LANGUAGE_NAMES.get(code.split("-")[0].lower())
    if extra:
        return extra.get(ui_locale, extra["en"])
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(ui_locale)
    except (UnknownLocaleError, ValueError, TypeError):
        return ""
    return name or ""


def init_app(app: Flask) -> None:
    """Install Flask-Babel with the kiosk-ui translations folder."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(app.config["UI_DIR"] / "translations")
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["READPOINT"]["default_locale"]
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        current_locale=current_locale,
        localized_name=localized_name,
        LOCALES=LOCALES,
        LOCALE_NAMES=LOCALE_NAMES,
    )
