"""API: site administration, `/api/v1/admin/...`, for site admins only (FORBIDDEN
for everyone else signed in)."""

from flask import g, jsonify, request

from ..payloads import admin_user_payload
from ..services import admin, audit
from . import bp
from .auth import authenticated


@bp.get("/admin/users")
@authenticated
def admin_users():
    found, has_more = admin.users(
        g.user, request.args.get("q"), request.args.get("before_id"), limit=request.args.get("limit")
    )
    return jsonify(users=found, has_more=has_more)


@bp.post("/admin/users/<int:user_id>/deactivate")
@authenticated
def deactivate_user(user_id):
    return jsonify(user=admin_user_payload(admin.deactivate(g.user, user_id)))


@bp.post("/admin/users/<int:user_id>/reactivate")
@authenticated
def reactivate_user(user_id):
    return jsonify(user=admin_user_payload(admin.reactivate(g.user, user_id)))


@bp.get("/admin/rooms")
@authenticated
def admin_rooms():
    found, has_more = admin.rooms(g.user, request.args.get("before_id"), limit=request.args.get("limit"))
    return jsonify(rooms=found, has_more=has_more)


@bp.delete("/admin/rooms/<int:room_id>")
@authenticated
def admin_delete_room(room_id):
    admin.delete_room(g.user, room_id)
    return jsonify({})


@bp.get("/admin/audit")
@authenticated
def admin_audit():
    admin.require_admin(g.user)
    entries, has_more = audit.entries(request.args.get("before_id"), limit=request.args.get("limit"))
    return jsonify(entries=[audit.entry_payload(e) for e in entries], has_more=has_more)
