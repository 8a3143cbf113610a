from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..services.rooms import NAME_MAX


class CreateRoomForm(FlaskForm):
    name = StringField(
        _l("Room name"),
        validators=[
            DataRequired(_l("Give the room a name.")),
            Length(max=NAME_MAX, message=_l("Use at most %(max)s characters.")),
        ],
        render_kw={"maxlength": NAME_MAX},
    )
    type = RadioField(
        _l("Who can join"),
        choices=[
            SelectChoice("public", _l("Public: anyone can find and join")),
            SelectChoice("private", _l("Private: by invitation")),
        ],
        default="public",
    )
