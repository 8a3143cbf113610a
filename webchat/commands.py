"""`flask webchat ...`: maintenance commands."""
import click
from flask.cli import AppGroup

webchat_cli = AppGroup("webchat", help="webchat maintenance commands.")


@webchat_cli.command("check")
def check():
    """Print the database and queue health, as /healthz reports it."""
    from .health import check_database, check_queue

    click.echo(f"db: {check_database()}  queue: {check_queue()}")


@webchat_cli.command("announce")
@click.argument("room_id", type=int)
@click.argument("text")
def announce(room_id, text):
    """Post TEXT to room ROOM_ID as an announcement; it reaches every node's clients
    through the message queue."""
    from .errors import ChatError
    from .services import messages

    try:
        message = messages.announce(room_id, text)
    except ChatError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    click.echo(f"announced as message {message.id} (seq {message.seq}) in room {room_id}")
