from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import ChatError
from ..pages import safe_next, show_errors
from ..ratelimit import per_ip
from ..services import accounts
from . import bp
from .forms import LoginForm, PasswordForm, SignupForm


@bp.route("/signup", methods=["GET", "POST"])
@per_ip("RATELIMIT_SIGNUP_PER_IP")
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("rooms.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = accounts.signup(form.username.data, form.password.data)
        except ChatError as error:
            show_errors(form, error)
        else:
            login_user(user)
            return redirect(url_for("rooms.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@per_ip("RATELIMIT_LOGIN_PER_IP")
def login():
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("rooms.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data, form.password.data)
        except ChatError as error:
            show_errors(form, error)
        else:
            login_user(user)
            return redirect(target or url_for("rooms.index"))
    status = (401 if form.form_errors else 400) if form.is_submitted() else 200
    return render_template("auth/login.html", form=form, next=target), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # CSRFProtect has already checked the form's token.
    accounts.logout(current_user)
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except ChatError as error:
            show_errors(form, error)
        else:
            user = accounts.get_user(current_user.id)
            login_user(user)  # this browser stays signed in; every other session ends
            return redirect(url_for("rooms.index", changed=1))
    return render_template("auth/password.html", form=form)
