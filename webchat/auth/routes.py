from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import ChatError
from ..i18n import browser_locale, remember_locale
from ..pages import safe_next, show_errors
from ..ratelimit import per_ip
from ..services import accounts
from . import bp
from .forms import LanguageForm, LoginForm, PasswordForm, SignupForm


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
    return account_page(form=form)


def account_page(form=None, language_form=None, status=200):
    """The account page (/auth/password): the language, and the password form."""
    form = form or PasswordForm()
    language_form = language_form or LanguageForm(prefix="language", locale=current_user.locale or "")
    return render_template("auth/password.html", form=form, language_form=language_form), status


@bp.post("/language")
@login_required
def language():
    """The account page's language: the user's setting (none: follow the browser), which
    this browser's cookie follows too, so that the login page speaks it after a logout."""
    language_form = LanguageForm(prefix="language")
    if not language_form.validate_on_submit():
        return account_page(language_form=language_form, status=400)
    locale = language_form.locale.data or None
    accounts.set_locale(current_user, locale)
    # Said in the language of the page it is shown on, the next one.
    with force_locale(locale or browser_locale()):
        flash(gettext("Language saved."))
    return remember_locale(redirect(url_for("auth.password")), locale)
