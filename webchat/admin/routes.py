"""The admin pages: thin over services.admin and services.audit. Each change is a
POST of a Flask-WTF form (CSRF) from a confirmation page."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import metrics
from ..errors import ChatError
from ..services import admin, audit
from . import bp

# What each audit action is called on the page.
ACTION_LABELS = {
    "kick": _l("Removed from a room"),
    "ban": _l("Banned from a room"),
    "unban": _l("Unbanned from a room"),
    "delete_message": _l("Deleted a message"),
    "deactivate": _l("Deactivated an account"),
    "reactivate": _l("Reactivated an account"),
    "grant_admin": _l("Made a site admin"),
    "revoke_admin": _l("Removed as site admin"),
    "delete_room": _l("Deleted a room"),
}


class ConfirmForm(FlaskForm):
    """A confirmation: nothing but its CSRF token."""


@bp.before_request
def admins_only():
    if not current_user.is_authenticated or not current_user.is_admin or not current_user.active:
        abort(404)


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


def page_or_400(call, *args, **kwargs):
    """A service's page, or the error page for bad paging input."""
    try:
        return call(*args, **kwargs)
    except ChatError as error:
        abort(400, str(error.message))


@bp.context_processor
def headline_figures():
    """Every admin page's headline figures (webchat.metrics: this process, or this host's
    workers in multiprocess mode), counted whether or not /metrics serves them."""
    return {"figures": metrics.headline()}


@bp.get("/users")
def users():
    query = request.args.get("q", "")
    found, has_more = page_or_400(admin.users, current_user, query, request.args.get("before_id"))
    return render_template("admin/users.html", users=found, has_more=has_more, q=query, section="users")


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):action>", methods=["GET", "POST"])
def change_user(user_id, action):
    try:
        user = admin.user_for_admin(current_user, user_id)
    except ChatError:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            changed = getattr(admin, action)(current_user, user_id)
        except ChatError as error:
            flash(str(error.message))
        else:
            if action == "deactivate":
                flash(gettext("%(name)s is deactivated.", name=changed.username))
            else:
                flash(gettext("%(name)s is active again.", name=changed.username))
        return redirect(url_for("admin.users"))
    return render_template("admin/confirm_user.html", user=user, action=action, form=form, section="users")


@bp.get("/rooms")
def rooms():
    found, has_more = page_or_400(admin.rooms, current_user, request.args.get("before_id"))
    return render_template("admin/rooms.html", rooms=found, has_more=has_more, section="rooms")


@bp.route("/rooms/<int:room_id>/delete", methods=["GET", "POST"])
def delete_room(room_id):
    try:
        room = admin.room_for_admin(current_user, room_id)
    except ChatError:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        admin.delete_room(current_user, room_id)
        flash(gettext("The room %(name)s is deleted.", name=room["name"]))
        return redirect(url_for("admin.rooms"))
    return render_template("admin/confirm_room.html", room=room, form=form, section="rooms")


@bp.get("/audit")
def audit_log():
    entries, has_more = page_or_400(audit.entries, request.args.get("before_id"))
    return render_template(
        "admin/audit.html",
        entries=[audit.entry_payload(e) for e in entries],
        labels=ACTION_LABELS,
        has_more=has_more,
        section="audit",
    )
