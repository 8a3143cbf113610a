from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..services.rooms import NAME_MAX


class CreateRoomForm(FlaskForm):
    name = StringField("Room name", validators=[DataRequired(), Length(max=NAME_MAX)],
                       render_kw={"maxlength": NAME_MAX})
    type = RadioField(
        "Who can join",
        choices=[("public", "Public: anyone can find and join"), ("private", "Private: by invitation")],
        default="public",
    )
