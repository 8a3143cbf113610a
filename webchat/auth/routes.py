from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext, ngettext
from flask_login import current_user, login_required

from ..callers import current_session, sign_in, sign_out
from ..errors import ChatError, retry_headers
from ..extensions import csrf
from ..i18n import browser_locale, remember_locale
from ..pages import remember_theme, safe_next, show_errors, theme_choice
from ..payloads import session_payload
from ..ratelimit import per_ip
from ..services import accounts, emails, sessions
from . import bp
from .forms import EmailForm, LanguageForm, LoginForm, PasswordForm, SignupForm, ThemeForm

# This browser's device token (accounts.device_token), sent back to the auth pages only.
DEVICE_COOKIE = "device"


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
            sign_in(user)
            return remember_device(redirect(url_for("rooms.index")), user)
    elif form.is_submitted():
        # The form stopped at its own checks (the confirmation differs, say): the name's and
        # the password's strength are the service's, and every field's error shows at once.
        if not form.username.errors and (problem := accounts.new_username_problem(form.username.data)):
            form.username.errors = [*form.username.errors, problem]
        if not form.password.errors and (problem := accounts.password_problem(form.password.data, form.username.data)):
            form.password.errors = [*form.password.errors, problem]
    status = 400 if form.is_submitted() else 200
    return render_template("auth/signup.html", form=form), status


def from_known_device():
    return accounts.is_known_device(request.cookies.get(DEVICE_COOKIE), request.form.get("username"))


@bp.route("/login", methods=["GET", "POST"])
@per_ip("RATELIMIT_LOGIN_PER_IP", exempt_when=from_known_device)
def login():
    target = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("rooms.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                form.username.data,
                form.password.data,
                address=request.remote_addr,
                device=request.cookies.get(DEVICE_COOKIE),
            )
        except ChatError as error:
            show_errors(form, error)
            if error.code in ("ACCOUNT_DEACTIVATED", "RATE_LIMITED"):
                return render_template("auth/login.html", form=form, next=target), error.status, retry_headers(error)
        else:
            sign_in(user)
            return remember_device(redirect(target or url_for("rooms.index")), user)
    status = (401 if form.form_errors else 400) if form.is_submitted() else 200
    return render_template("auth/login.html", form=form, next=target), status


def remember_device(response, user):
    """Leave this browser known to `user`'s next logins (the `device` cookie): they skip
    the delays that failures from its address may have started."""
    response.set_cookie(
        DEVICE_COOKIE,
        accounts.device_token(user, request.cookies.get(DEVICE_COOKIE)),
        max_age=current_app.config["LOGIN_DEVICE_MAX_AGE_SECONDS"],
        path=url_for("auth.login").removesuffix("/login"),  # /auth
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out everywhere (the contract's logout): every session, token and socket of
    the user ends. CSRFProtect has already checked the form's token."""
    accounts.logout(current_user)
    sign_out()
    return redirect(url_for("auth.login"))


@bp.post("/logout/this-device")
@login_required
def logout_this_device():
    """The header's "Log out": this device's session ends (its sockets too); the user's
    other devices stay signed in."""
    sessions.end_session(current_user, current_session().id)
    sign_out()
    return redirect(url_for("auth.login"))


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id):
    """The account page's "End" on one of the user's other sessions."""
    try:
        sessions.end_session(current_user, session_id)
    except ChatError as error:  # NOT_FOUND: ended meanwhile, or not theirs
        flash(str(error.message))
        return account_page(status=error.status)
    flash(gettext("The session was ended. That device is signed out."))
    return redirect(url_for("auth.password", _anchor="sessions-heading"))


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    """The account page's "End all other sessions": this device stays signed in."""
    ended = sessions.end_other_sessions(current_user, current_session().id)
    flash(ngettext("%(num)d other session was ended.", "%(num)d other sessions were ended.", ended))
    return redirect(url_for("auth.password", _anchor="sessions-heading"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except ChatError as error:
            show_errors(form, error)
            if error.code == "RATE_LIMITED":
                return *account_page(form=form, status=error.status), retry_headers(error)
        else:
            # Every session ended; this browser stays signed in, with a new one.
            sign_in(accounts.get_user(current_user.id))
            flash(gettext("Your password was changed. Every other session and device is signed out."))
            return redirect(url_for("rooms.index", changed=1))
    return account_page(form=form)


def account_page(form=None, language_form=None, email_form=None, theme_form=None, status=200):
    """The account page (/auth/password): the language, the theme, the email, the
    password form, and the sessions (this device first)."""
    form = form or PasswordForm()
    language_form = language_form or LanguageForm(prefix="language", locale=current_user.locale or "")
    theme_form = theme_form or ThemeForm(prefix="theme", theme=theme_choice())
    email_form = email_form or EmailForm(
        prefix="email", email=current_user.email or "", notify=current_user.email_notify
    )
    return render_template(
        "auth/password.html",
        form=form,
        language_form=language_form,
        theme_form=theme_form,
        email_form=email_form,
        email_enabled=emails.enabled(),
        sessions=[session_payload(record, current_session().family) for record in sessions.list_sessions(current_user)],
    ), status


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


@bp.post("/theme")
@login_required
def theme():
    """The account page's theme, kept in this browser's `theme` cookie: base.html reads it
    to choose the stylesheets before the first paint, which a setting fetched by a script
    could not do under the CSP (no inline script)."""
    theme_form = ThemeForm(prefix="theme")
    if not theme_form.validate_on_submit():
        return account_page(theme_form=theme_form, status=400)
    flash(gettext("Theme saved."))
    return remember_theme(redirect(url_for("auth.password")), theme_form.theme.data)


@bp.post("/email")
@login_required
def email():
    """The account page's email settings; a new (or still unconfirmed) address is sent
    its verification link."""
    if not emails.enabled():
        abort(404)
    email_form = EmailForm(prefix="email")
    if not email_form.validate_on_submit():
        return account_page(email_form=email_form, status=400)
    try:
        waiting = emails.save_settings(current_user, email_form.email.data, email_form.notify.data)
    except ChatError as error:
        show_errors(email_form, error)
        return account_page(email_form=email_form, status=400)
    if not waiting:
        flash(gettext("Email settings saved."))
        return redirect(url_for("auth.password"))
    try:
        sent = emails.send_verification(current_user, current_app.config["PUBLIC_URL"] or request.host_url)
    except ChatError as error:  # RATE_LIMITED: too many links asked for
        flash(str(error.message))
    else:
        if sent:
            flash(gettext("We sent a link to %(email)s: open it to confirm the address.", email=current_user.email))
        else:
            flash(gettext("The email could not be sent. Try again later."))
    return redirect(url_for("auth.password"))


@bp.get("/email/verify/<token>")
def verify_email(token):
    """The link of a verification email: no login needed, the signed token says whose."""
    outcome = emails.verify_email(token)
    if outcome == "verified":
        return email_result(
            gettext("Email address confirmed"),
            gettext(
                "webchat will email you what you miss while you are away. You can turn this off on your account page."
            ),
        )
    if outcome == "expired":
        return email_result(
            gettext("This link has expired"),
            gettext("Save your email address again on the account page to get a new link."),
            400,
        )
    return email_result(
        gettext("This link does not work"),
        gettext(
            "It may be for an address that is no longer on your account. Save your email address again on the account page to get a new link."
        ),
        400,
    )


@bp.route("/email/stop/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; mail clients POST here (List-Unsubscribe-Post)
def stop_emails(token):
    """The opt-out link of every email: one click, no login, and emails stop."""
    if emails.stop_emails(token):
        return email_result(
            gettext("Emails stopped"),
            gettext("webchat will not email you any more. You can turn emails back on on your account page."),
        )
    return email_result(
        gettext("This link does not work"), gettext("Turn emails off on your account page instead."), 400
    )


def email_result(heading, text, status=200):
    return render_template("auth/email_result.html", heading=heading, text=text), status
