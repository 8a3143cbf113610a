from flask import redirect, render_template, url_for
from flask_login import login_required

from . import bp


@bp.get("/")
def home():
    return redirect(url_for("rooms.index"))


@bp.get("/rooms")
@login_required
def index():
    return render_template("rooms/index.html")
