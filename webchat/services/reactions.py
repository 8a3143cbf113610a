"""Reactions: one user's emoji on a message. The `reactions` rows are the truth (one per
message, user and emoji, unique); the message's `reactions` column is their summary as
shown, rewritten with them under the room's lock, so reading history costs no query of
them. A reaction never changes unread or mention counts and notifies no one."""

import functools

import emoji as emoji_data
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import ratelimit
from ..database import transaction
from ..errors import ChatError, validation_error
from ..extensions import db
from ..models import Reaction
from . import feed
from .access import lock_message, parse_id

DISTINCT_MAX = 50
_FULLY_QUALIFIED = emoji_data.STATUS["fully_qualified"]
_VARIATION_SELECTOR = "\ufe0f"


@functools.cache
def _qualified_forms():
    """Every emoji of Unicode's list, keyed by its form without variation selectors: a
    "❤" typed without U+FE0F is the same reaction as "❤️" (fully qualified)."""
    forms = {}
    for text, data in emoji_data.EMOJI_DATA.items():
        if data["status"] == _FULLY_QUALIFIED:
            forms[text.replace(_VARIATION_SELECTOR, "")] = text
    return forms


def clean_emoji(value):
    """One emoji of Unicode's list (skin tones and ZWJ sequences included), in its fully
    qualified form; anything else (text, two emoji, a lone skin-tone modifier) is
    VALIDATION_ERROR."""
    if isinstance(value, str) and len(value) <= 32:
        qualified = _qualified_forms().get(value.replace(_VARIATION_SELECTOR, ""))
        if qualified is not None:
            return qualified
    raise validation_error(emoji=_l("Expected one emoji."))


def react(user, message_id, emoji, add=True):
    """Add (or remove) the user's `emoji` on a message. Idempotent: adding what is there
    or removing what is not changes nothing and moves no rev. A new distinct emoji past
    DISTINCT_MAX is REACTION_LIMIT; joining one already there always works."""
    message_id = parse_id(message_id, "message_id")
    emoji = clean_emoji(emoji)
    if not isinstance(add, bool):
        raise validation_error(add=_l("Expected true or false."))
    ratelimit.check("RATELIMIT_CHANGES_PER_USER", user.id)
    with transaction():
        room, message = lock_message(user, message_id)
        if message.deleted_at is not None or message.kind == "system":
            raise validation_error(message_id=_l("Deleted messages and notices take no reactions."))
        summary = [{"emoji": e["emoji"], "user_ids": list(e["user_ids"])} for e in message.reactions or []]
        entry = next((e for e in summary if e["emoji"] == emoji), None)
        mine = entry is not None and user.id in entry["user_ids"]
        if add == mine:
            return message
        if add:
            if entry is None:
                if len(summary) >= DISTINCT_MAX:
                    raise ChatError("REACTION_LIMIT")
                entry = {"emoji": emoji, "user_ids": []}
                summary.append(entry)
            entry["user_ids"].append(user.id)
            db.session.add(Reaction(message_id=message.id, user_id=user.id, emoji=emoji))
        else:
            entry["user_ids"].remove(user.id)
            if not entry["user_ids"]:
                summary.remove(entry)
            db.session.execute(
                sa.delete(Reaction).where(
                    Reaction.message_id == message.id, Reaction.user_id == user.id, Reaction.emoji == emoji
                )
            )
        message.reactions = summary or None
        feed.changed(room, message)
        feed.announce_updated(message)
    return message
