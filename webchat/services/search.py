"""Search: the query language, the plan over the gram index (`search_index`), and the
highlights. `GET /api/v1/search` is its adapter.

A query is terms (any part of a message's text: `번역` finds `번역을`), `"phrases"`,
`-exclusions` and filters (`from:`, `has:file`, `has:link`, `is:mention`, `before:`,
`after:`). Candidates come from the rarest grams of the terms, and every condition is
confirmed in SQL on the messages' normalised text, so the index only ever narrows.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import ratelimit
from ..errors import validation_error
from ..extensions import db
from ..models import Membership, Mention, Message, Room, SearchGram, User
from .access import check_member, parse_id, parse_limit
from .accounts import username_key
from .search_index import fold, grams_of, normalise

QUERY_MAX = 500
TERMS_MAX = 16
LIMIT_DEFAULT, LIMIT_MAX = 20, 50
# Counting a gram's rows stops here: past it, a gram is common, and how common no longer
# changes the plan.
ESTIMATE_CAP = 5000
# Grams checked per candidate beside the driving one (each a primary-key lookup).
CHECKS_MAX = 3
FILTERS = ("from", "has", "is", "before", "after")
LINK_MARKS = ("http://", "https://", "mailto:")

_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|([^\s"]+))')
_FILTER = re.compile(r"([A-Za-z]+):(.*)", re.S)
_DATE = re.compile(r"([0-9]{4})([-.])([0-9]{1,2})\2([0-9]{1,2})")
_messages, _grams, _mentions = Message.__table__, SearchGram.__table__, Mention.__table__


@dataclass
class Query:
    """A parsed query: normalised terms (phrases are terms with spaces) and filters."""

    terms: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    senders: list = field(default_factory=list)  # usernames as written
    has: set = field(default_factory=set)  # "file", "link"
    mention: bool = False
    before: datetime | None = None
    after: datetime | None = None

    @property
    def has_filter(self):
        return bool(self.senders or self.has or self.mention or self.before or self.after)


def _searchable(text):
    """Whether a term says anything: one character that is not punctuation, a separator
    or a control (`"" - :` alone do not)."""
    return any(unicodedata.category(ch)[0] not in "PZC" for ch in text)


def _bad(reason):
    return validation_error(q=reason)


def parse(q):
    """The query `q`, parsed; VALIDATION_ERROR (fields.q) for what cannot be searched."""
    if not isinstance(q, str) or not q.strip():
        raise _bad(_l("Enter a word to search for, or a filter."))
    if len(q) > QUERY_MAX:
        raise _bad(_l("Use at most %(max)s characters.", max=QUERY_MAX))
    query = Query()
    for match in _TOKEN.finditer(q):
        negated, phrase, word = match.group(1) == "-", match.group(2), match.group(3)
        if phrase is None and (found := _FILTER.fullmatch(word)) and not found.group(2).startswith("//"):
            if negated:
                raise _bad(_l("A filter cannot be excluded: %(filter)s", filter=word))
            _apply_filter(query, found.group(1).lower(), found.group(2))
            continue
        term = normalise(phrase if phrase is not None else word)
        if _searchable(term):
            (query.excluded if negated else query.terms).append(term)
    if len(query.terms) + len(query.excluded) > TERMS_MAX:
        raise _bad(_l("Use at most %(max)s words.", max=TERMS_MAX))
    if not query.terms and not query.has_filter:
        raise _bad(_l("Enter a word to search for, or a filter."))
    query.terms = list(dict.fromkeys(query.terms))
    return query


def _apply_filter(query, name, value):
    if name not in FILTERS:
        raise _bad(_l('Unknown filter "%(filter)s:". Put text in quotes to search for it.', filter=name))
    if name == "from":
        value = value.lstrip("@＠")
        if not value:
            raise _bad(_l("Name a user: from:username"))
        query.senders.append(value)
    elif name == "has":
        if value.lower() not in ("file", "link"):
            raise _bad(_l("Use has:file or has:link."))
        query.has.add(value.lower())
    elif name == "is":
        if value.lower() != "mention":
            raise _bad(_l("Use is:mention."))
        query.mention = True
    else:
        day = _parse_date(value)
        if name == "before":
            query.before = day if query.before is None else min(query.before, day)
        else:
            query.after = day if query.after is None else max(query.after, day)


def _parse_date(value):
    """Midnight UTC of a date written 2026-03-05 or 2026.3.5."""
    found = _DATE.fullmatch(value)
    try:
        if found is None:
            raise ValueError(value)
        return datetime.combine(date(int(found[1]), int(found[3]), int(found[4])), datetime.min.time())
    except ValueError:
        raise _bad(_l("Write dates as 2026-03-05 or 2026.3.5.")) from None


def search(user, q, room_id=None, before_id=None, limit=None):
    """The caller's messages matching `q`, newest first: only from rooms they are an
    active member of now (or the one `room_id`, with the codes of its history), never
    deleted or system messages. Returns ([(message, room, highlights)], has_more). A
    query that parses counts against the user's search limit (RATE_LIMITED beyond)."""
    query = parse(q)
    limit = parse_limit(limit, LIMIT_DEFAULT, LIMIT_MAX)
    ratelimit.check("RATELIMIT_SEARCH_PER_USER", user.id)
    before_id = None if before_id in (None, "") else parse_id(before_id, "before_id")
    if room_id not in (None, ""):
        rooms = [check_member(user, room_id)]
    else:
        rooms = list(
            db.session.scalars(
                sa.select(Membership.room_id).where(Membership.user_id == user.id, Membership.active.is_(True))
            )
        )
    if not rooms:
        return [], False
    statement = _plan(user, query, rooms, before_id)
    if statement is None:
        return [], False
    ids = list(db.session.scalars(statement.limit(limit + 1)))
    has_more, ids = len(ids) > limit, ids[:limit]
    return _results(user, query, ids), has_more


def _plan(user, query, rooms, before_id):
    """The statement selecting matching message ids, newest first, or None when nothing
    can match. Driven by the rarest gram of the terms when they have grams, else by the
    caller's mentions (is:mention), else by the rooms' messages newest first."""
    m = _messages
    text = sa.func.coalesce(m.c.search_text, m.c.body)
    conditions = [m.c.kind != "system", m.c.deleted_at.is_(None)]
    conditions += [text.like(_contains(term), escape="!") for term in query.terms]
    conditions += [sa.not_(text.like(_contains(term), escape="!")) for term in query.excluded]
    if query.senders:
        senders = list(
            db.session.scalars(
                sa.select(User.id).where(User.username_key.in_([username_key(s) for s in query.senders]))
            )
        )
        if not senders:
            return None
        conditions.append(m.c.sender_id.in_(senders))
    if "file" in query.has:
        conditions.append(m.c.kind == "file")
    if "link" in query.has:
        conditions += [m.c.kind == "text", sa.or_(*(text.like(_contains(mark), escape="!") for mark in LINK_MARKS))]
    if query.before is not None:
        conditions.append(m.c.created_at < query.before)
    if query.after is not None:
        conditions.append(m.c.created_at >= query.after)

    ranked = _rank_grams(query.terms, rooms)
    if ranked:
        driver, checks = ranked[0], ranked[1:]
        g0 = _grams.alias("g0")
        conditions += [g0.c.gram == driver, _in_rooms(g0.c.room_id, rooms)]
        for n, gram in enumerate(checks):
            other = _grams.alias(f"g{n + 1}")
            conditions.append(sa.exists().where(other.c.gram == gram, other.c.message_id == g0.c.message_id))
        if query.mention:
            conditions.append(_mentions_me(user, m.c.id))
        if before_id is not None:
            conditions.append(g0.c.message_id < before_id)
        return (
            sa.select(g0.c.message_id)
            .select_from(g0.join(m, m.c.id == g0.c.message_id))
            .where(*conditions)
            .order_by(g0.c.message_id.desc())
        )
    if query.mention:
        mine = _mentions
        conditions += [mine.c.user_id == user.id, mine.c.active.is_(True), _in_rooms(mine.c.room_id, rooms)]
        if before_id is not None:
            conditions.append(mine.c.message_id < before_id)
        return (
            sa.select(mine.c.message_id)
            .select_from(mine.join(m, m.c.id == mine.c.message_id))
            .where(*conditions)
            .order_by(mine.c.message_id.desc())
        )
    conditions.append(_in_rooms(m.c.room_id, rooms))
    if before_id is not None:
        conditions.append(m.c.id < before_id)
    return sa.select(m.c.id).where(*conditions).order_by(m.c.id.desc())


def _in_rooms(column, rooms):
    return column == rooms[0] if len(rooms) == 1 else column.in_(rooms)


def _mentions_me(user, message_id):
    mine = _mentions
    return sa.exists().where(mine.c.message_id == message_id, mine.c.user_id == user.id, mine.c.active.is_(True))


def _contains(term):
    """A LIKE pattern for `term` anywhere, with `%`, `_` and the escape `!` taken literally."""
    return "%" + term.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def _rank_grams(terms, rooms):
    """The grams to look up, rarest first: the rarest of all drives the scan, then each
    term's rarest (so that every term narrows), then the driving term's next, up to
    CHECKS_MAX checks. Rarity is counted, up to ESTIMATE_CAP, in one query (in the one
    room when there is one). [] when no term has a gram (only one-character words)."""
    by_term = [sorted(grams_of(term)) for term in terms]
    every = sorted({gram for grams in by_term for gram in grams})
    if not every:
        return []
    counts = dict(zip(every, db.session.execute(sa.select(*(_estimate(g, rooms) for g in every))).one(), strict=True))
    by_term = [sorted(grams, key=lambda g: (counts[g], g)) for grams in by_term if grams]
    chosen = [min(every, key=lambda g: (counts[g], g))]
    for grams in sorted(by_term, key=lambda grams: counts[grams[0]]):
        for gram in grams[:2] if chosen[0] in grams else grams[:1]:
            if gram not in chosen and len(chosen) <= CHECKS_MAX:
                chosen.append(gram)
    return chosen


def _estimate(gram, rooms):
    rows = sa.select(sa.literal(1)).select_from(_grams).where(_grams.c.gram == gram)
    if len(rooms) == 1:
        rows = rows.where(_grams.c.room_id == rooms[0])
    return sa.select(sa.func.count()).select_from(rows.limit(ESTIMATE_CAP).subquery()).scalar_subquery()


def _results(user, query, ids):
    if not ids:
        return []
    found = {m.id: m for m in db.session.scalars(sa.select(Message).where(Message.id.in_(ids)))}
    rooms = {
        r.id: r for r in db.session.scalars(sa.select(Room).where(Room.id.in_({m.room_id for m in found.values()})))
    }
    return [
        (found[i], rooms[found[i].room_id], highlights(_shown_text(found[i]), query.terms)) for i in ids if i in found
    ]


def _shown_text(message):
    return message.file.name if message.kind == "file" and message.file is not None else message.body


def normalise_with_offsets(text):
    """`normalise(text)` and, for each of its characters, the (start, end) in `text` of
    what it came from. Folding works on runs that start at a character that does not
    combine with the one before (a base letter, a Hangul syllable or leading jamo), so a
    character that NFKC widens (`ﬁ` → `fi`, `㎏` → `kg`) maps back to its one original."""
    chars, spans, start = [], [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or _starts_run(text[i]):
            for ch in fold(text[start:i]):
                chars.append(ch)
                spans.append((start, i))
            start = i
    out, out_spans = [], []
    for ch, span in zip(chars, spans, strict=True):
        if ch.isspace():
            if not out or out[-1] == " ":
                continue
            ch = " "
        out.append(ch)
        out_spans.append(span)
    if out and out[-1] == " ":
        out.pop()
        out_spans.pop()
    return "".join(out), out_spans


def _starts_run(ch):
    return unicodedata.combining(ch) == 0 and not ("\u1160" <= ch <= "\u11ff" or "\ud7b0" <= ch <= "\ud7ff")


def highlights(text, terms):
    """The [start, end) ranges of `text` (code points) where the terms occur, merged and
    in order: computed on the normalised text and mapped back to the original."""
    if not terms or not text:
        return []
    normalised, spans = normalise_with_offsets(text)
    ranges = []
    for term in terms:
        at = normalised.find(term)
        while at != -1:
            ranges.append((spans[at][0], spans[at + len(term) - 1][1]))
            at = normalised.find(term, at + 1)
    merged = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
