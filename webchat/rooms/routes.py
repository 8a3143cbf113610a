from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import ChatError
from ..pages import show_errors
from ..services import rooms
from . import bp
from .forms import CreateRoomForm


@bp.get("/")
def home():
    return redirect(url_for("rooms.index"))


@bp.route("/rooms", methods=["GET", "POST"])
@login_required
def index():
    form = CreateRoomForm()
    if form.validate_on_submit():
        try:
            room = rooms.create_room(current_user, form.name.data, form.type.data)
        except ChatError as error:
            show_errors(form, error)
        else:
            return redirect(url_for("rooms.room", room_id=room["id"]))
    return render_template(
        "rooms/index.html",
        form=form,
        my_rooms=rooms.my_rooms(current_user),
        public_rooms=rooms.public_rooms(current_user),
    ), (400 if form.errors else 200)


@bp.post("/rooms/<int:room_id>/join")
@login_required
def join(room_id):
    rooms.join_room(current_user, room_id)
    return redirect(url_for("rooms.room", room_id=room_id))


@bp.get("/rooms/<int:room_id>")
@login_required
def room(room_id):
    try:
        found, _membership = rooms.require_member(current_user, room_id)
    except ChatError as error:
        if error.code != "USER_NOT_IN_CHAT_ROOM":
            raise
        # A public room seen from outside: offer to join it. A private or direct room
        # left or removed from is the error page: `room_view` shows nothing of it.
        return render_template("rooms/join.html", room=rooms.room_view(current_user, room_id)), 403
    return render_template(
        "rooms/room.html", room=rooms.room_view(current_user, found.id), my_rooms=rooms.my_rooms(current_user)
    )


@bp.get("/search")
@login_required
def search():
    """The search page: the query box is the header's; the results are the script's
    (static/js/search.js, from GET /api/v1/search), so that paging, the filter chips and
    the room filter need no reload."""
    return render_template(
        "rooms/search.html",
        my_rooms=rooms.my_rooms(current_user),
        room_id=request.args.get("room_id", type=int),
    )
