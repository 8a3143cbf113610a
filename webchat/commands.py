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


@webchat_cli.group("files")
def files_cli():
    """Attachments: storage maintenance."""


@files_cli.command("gc")
@click.option("--dry-run", is_flag=True, help="Report only; remove nothing.")
@click.option(
    "--grace",
    type=click.IntRange(min=0),
    default=3600,
    show_default=True,
    help="Leave objects younger than this many seconds (uploads about to commit).",
)
def files_gc(dry_run, grace):
    """Remove stored objects that no attachment refers to, and report attachments whose
    object is missing (those rows are left for a person to look at)."""
    from .services import files
    from .storage import StorageError

    try:
        report = files.collect_garbage(grace_seconds=grace, dry_run=dry_run)
    except StorageError as error:
        raise click.ClickException(f"the storage failed: {error}") from None
    verb = "would remove" if dry_run else "removed"
    for key in report.orphans:
        click.echo(f"orphan object {key}: {'could not remove' if key in report.failed else verb}")
    for file_id, key in report.missing:
        click.echo(f"file {file_id}: object {key} is missing")
    removed = len(report.orphans) - len(report.failed)
    click.echo(
        f"{len(report.orphans)} orphan object(s), {0 if dry_run else removed} removed; "
        f"{len(report.missing)} attachment(s) with a missing object"
    )
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} orphan object(s) could not be removed")


@files_cli.command("strip-metadata")
@click.option("--apply", is_flag=True, help="Replace the files; without it, only report what would change.")
def files_strip_metadata(apply):
    """Take the metadata (EXIF with GPS, XMP, IPTC, PNG text) out of images stored before
    uploads were stripped, as uploads are now. A dry run unless --apply; safe while the
    server runs."""
    from .services import files
    from .storage import StorageError

    counts = {}
    try:
        for found in files.strip_stored_metadata(apply=apply):
            counts[found.outcome] = counts.get(found.outcome, 0) + 1
            sizes = f"{found.before} -> {found.after} bytes" if found.after is not None else f"{found.before} bytes"
            click.echo(f"file {found.file_id} ({found.name}): {sizes}, {found.outcome}")
    except StorageError as error:
        raise click.ClickException(f"the storage failed: {error}") from None
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "none has metadata"
    click.echo(f"images with metadata: {summary}" + ("" if apply else " (a dry run: --apply to strip them)"))


@webchat_cli.group("search")
def search_cli():
    """Search's index."""


@search_cli.command("reindex")
@click.option("--batch", type=click.IntRange(min=1, max=50_000), default=2000, show_default=True)
@click.option(
    "--after-id",
    type=click.IntRange(min=0),
    default=0,
    help="Resume a stopped run after this message id (the last one it reported); 0 starts afresh.",
)
def search_reindex(batch, after_id):
    """Rebuild the search index from the messages, in batches of one transaction each;
    safe while the server runs (until it is done, messages not yet reached may be missed)."""
    from .services import search_index

    def progress(total, last):
        click.echo(f"{total} messages indexed, through id {last}")

    total, last = search_index.reindex(batch=batch, after_id=after_id, progress=progress)
    click.echo(f"done: {total} messages indexed (last id {last})")


@webchat_cli.group("admin")
def admin_cli():
    """Site admins: made here only, never by signing up."""


def _admin_change(change, username, done):
    from .errors import ChatError
    from .services import admin

    try:
        user = getattr(admin, change)(username)
    except ChatError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    click.echo(f"{user.username} (id {user.id}) {done}")


@admin_cli.command("grant")
@click.argument("username")
def admin_grant(username):
    """Make USERNAME (an existing account) a site admin."""
    _admin_change("grant", username, "is a site admin")


@admin_cli.command("revoke")
@click.argument("username")
def admin_revoke(username):
    """Take site admin away from USERNAME (never from the last admin)."""
    _admin_change("revoke", username, "is no longer a site admin")


@webchat_cli.group("users")
def users_cli():
    """Accounts."""


@users_cli.command("refresh-lookalikes")
def users_refresh_lookalikes():
    """Recompute what each username looks like (its confusables skeleton), after an upgrade
    of confusable-homoglyphs changed Unicode's table; safe while the server runs."""
    from .services import accounts

    click.echo(f"done: {accounts.refresh_username_skeletons()} usernames changed")
