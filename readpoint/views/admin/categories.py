"""Categories: names in Vietnamese, Thai and English, an icon from the set in kiosk-ui, and their order."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from content.catalog.collection import CategoryError
from readpoint.views.admin import bp
from readpoint.views.admin.books import collection
from readpoint.views.home import KNOWN_ICONS


def _form_names() -> dict:
    """The three names typed in the form."""
    return {locale: request.form.get(f"name_{locale}", "")[:200] for locale in ("vi", "th", "en")}


def _form_icon() -> str:
    """The icon chosen in the form, if it is one of the set (else the generic one)."""
    icon = request.form.get("icon", "")
    return icon if icon in KNOWN_ICONS else "other"


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    """The categories in order, each editable; a form to add one."""
    error, status = None, 200
    if request.method == "POST":
        try:
            collection().create_category(_form_names(), _form_icon())
        except CategoryError:
            error, status = _("Each category needs a name in all three languages (at most 60 characters)."), 400
        else:
            flash(_("The category was added."))
            return redirect(url_for("admin.categories"), 303)
    return render_template("admin/categories.html", categories=collection().categories(),
                           icons=sorted(KNOWN_ICONS), error=error), status


@bp.route("/categories/<category_id>", methods=["POST"])
def category_update(category_id: str):
    """Rename a category, change its icon, or move it up or down."""
    try:
        move = request.form.get("move")
        if move in ("up", "down"):
            collection().move_category(category_id, -1 if move == "up" else 1)
        else:
            collection().update_category(category_id, _form_names(), _form_icon())
            flash(_("The category was saved."))
    except CategoryError:
        flash(_("Each category needs a name in all three languages (at most 60 characters)."))
    return redirect(url_for("admin.categories") + f"#c-{category_id}", 303)
