"""The account forms. Field rules use the service's limits; the service is the final word.
Labels and messages are lazy: they are rendered in the request's language."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..i18n import LANGUAGE_NAMES
from ..services.accounts import PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN
from ..services.emails import EMAIL_MAX

# WTForms fills %(min)s and %(max)s; the service says the same for the same limits.
LENGTH = _l("Use %(min)s to %(max)s characters.")
MISMATCH = _l("The passwords do not match.")


class SignupForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Choose a username.")), Length(min=USERNAME_MIN, max=USERNAME_MAX, message=LENGTH)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Choose a password.")), Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        _l("Confirm password"),
        validators=[DataRequired(_l("Type the password again.")), EqualTo("password", message=MISMATCH)],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter your username."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Choose a new password.")),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX, message=LENGTH),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    new_password_confirm = PasswordField(
        _l("Confirm new password"),
        validators=[DataRequired(_l("Type the new password again.")), EqualTo("new_password", message=MISMATCH)],
        render_kw={"autocomplete": "new-password"},
    )


class LanguageForm(FlaskForm):
    """The account page's language: one of ours, or "" to follow the browser (the setting
    null). Its fields are prefixed, as it shares the page with PasswordForm."""

    locale = RadioField(
        _l("Language"),
        choices=[SelectChoice("", _l("Follow the browser"))]
        + [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        default="",
    )


class ThemeForm(FlaskForm):
    """The account page's colours: as the system's light or dark setting says, or always
    light or always dark (pages.THEMES). Prefixed, as it shares the page."""

    theme = RadioField(
        _l("Theme"),
        choices=[
            SelectChoice("system", _l("Follow the system")),
            SelectChoice("light", _l("Light theme")),
            SelectChoice("dark", _l("Dark theme")),
        ],
        default="system",
    )


class EmailForm(FlaskForm):
    """The account page's email: an optional address (the service checks its form) and
    whether to be emailed what one missed. Prefixed, as it shares the page."""

    email = EmailField(
        _l("Email address"),
        validators=[Optional(), Length(max=EMAIL_MAX, message=_l("Use at most %(max)s characters."))],
        render_kw={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"},
    )
    notify = BooleanField(_l("Email me what I miss while I am away"))
