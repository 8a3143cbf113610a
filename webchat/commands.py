"""`flask webchat ...`: maintenance commands."""
import click
from flask.cli import AppGroup

webchat_cli = AppGroup("webchat", help="webchat maintenance commands.")


@webchat_cli.command("check")
def check():
    """Print the database and queue health, as /healthz reports it."""
    from .health import check_database, check_queue

    click.echo(f"db: {check_database()}  queue: {check_queue()}")
