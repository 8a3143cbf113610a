from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length


class CreateRoomForm(FlaskForm):
    name = StringField("Room name", validators=[DataRequired(), Length(max=80)], render_kw={"maxlength": 80})
    type = RadioField(
        "Who can join",
        choices=[("public", "Public: anyone can find and join"), ("private", "Private: by invitation")],
        default="public",
    )
