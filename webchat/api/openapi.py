"""The OpenAPI 3 description of `/api/v1`, served at `/api/v1/openapi.json`.

Built here from a few shared pieces so that each shape is written once; a test checks that
every API route is described (and nothing else), and Schemathesis checks the running
server against it.
"""

from flask import jsonify

from ..errors import ERRORS
from ..services import audit
from . import bp


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required=(), **properties):
    return {"type": "object", "required": list(required or properties), "properties": properties}


ID = {"type": "integer", "minimum": 1}
TIMESTAMP = {"type": "string", "format": "date-time"}

SCHEMAS = {
    "User": obj(["id", "username"], id=ID, username={"type": "string"}, deactivated={"const": True}),
    "AdminUser": obj(
        id=ID,
        username={"type": "string"},
        is_admin={"type": "boolean"},
        active={"type": "boolean"},
        created_at=TIMESTAMP,
    ),
    "Me": obj(id=ID, username={"type": "string"}, locale=nullable({"enum": ["ko", "en"]})),
    "Session": obj(
        id=ID,
        kind={"enum": ["page", "token"]},
        device={"type": "string", "description": "The login's User-Agent as ua-parser reads it; empty if unknown."},
        address={"type": "string", "description": "The address the session was last seen from."},
        created_at=TIMESTAMP,
        last_seen_at=TIMESTAMP,
        current={"type": "boolean", "description": "The caller's own session."},
    ),
    "File": obj(
        id=ID,
        name={"type": "string"},
        size={"type": "integer"},
        content_type={"type": "string"},
        url={"type": "string"},
        thumbnail_url=nullable({"type": "string"}),
    ),
    "Event": obj(type={"type": "string"}, user=nullable(ref("User")), by=nullable(ref("User"))),
    "Message": obj(
        id=ID,
        room_id=ID,
        seq={"type": "integer", "minimum": 1},
        sender=nullable(ref("User")),
        kind={"enum": ["text", "system", "file"]},
        body={"type": "string"},
        html={
            "type": "string",
            "description": "The body rendered from a Markdown subset to sanitised HTML, safe to insert as is; "
            "empty for deleted, system and file messages.",
        },
        client_id=nullable({"type": "string"}),
        created_at=TIMESTAMP,
        deleted={"type": "boolean"},
        deleted_by=nullable({"enum": ["sender", "moderator"]}),
        file=nullable(ref("File")),
        event=nullable(ref("Event")),
        rev={"type": "integer", "minimum": 1},
        edited_at=nullable(TIMESTAMP),
        editable_until=nullable(TIMESTAMP),
        reactions={"type": "array", "items": ref("Reaction")},
        reply_to=nullable(ref("Quote")),
        mentions={"type": "array", "items": ID},
        mention_all=nullable({"enum": ["room", "here"]}),
    ),
    "Ban": obj(user=ref("User"), by=nullable(ref("User")), created_at=TIMESTAMP),
    "AdminRoom": obj(
        id=ID,
        name={"type": "string"},
        type={"enum": ["public", "private", "direct"]},
        owner_id=nullable(ID),
        member_count={"type": "integer", "minimum": 0},
        message_count={"type": "integer", "minimum": 0},
        last_activity_at=nullable(TIMESTAMP),
        created_at=TIMESTAMP,
    ),
    "AuditEntry": obj(
        id=ID,
        action={"enum": list(audit.ACTIONS)},
        actor=nullable(obj(id=nullable(ID), name=nullable({"type": "string"}))),
        target=nullable(obj(id=nullable(ID), name=nullable({"type": "string"}))),
        room=nullable(obj(id=nullable(ID), name=nullable({"type": "string"}))),
        message_id=nullable(ID),
        created_at=TIMESTAMP,
    ),
    "Reaction": obj(
        emoji={"type": "string"}, count={"type": "integer", "minimum": 1}, user_ids={"type": "array", "items": ID}
    ),
    "Quote": obj(
        id=ID,
        seq={"type": "integer", "minimum": 1},
        sender=nullable(ref("User")),
        body={"type": "string", "maxLength": 200},
        deleted={"type": "boolean"},
    ),
    "Room": obj(
        [
            "id",
            "name",
            "display_name",
            "type",
            "owner_id",
            "owner",
            "member_count",
            "online_count",
            "unread_count",
            "last_read_message_id",
            "last_read_seq",
            "last_message",
            "last_rev",
            "mention_count",
            "notify",
        ],
        id=ID,
        name={"type": "string"},
        display_name={"type": "string"},
        type={"enum": ["public", "private", "direct"]},
        owner_id=nullable(ID),
        owner=nullable(ref("User")),
        member_count={"type": "integer"},
        online_count={"type": "integer"},
        unread_count={"type": "integer"},
        last_read_message_id=nullable(ID),
        last_read_seq=nullable({"type": "integer", "minimum": 0}),
        last_message=nullable(ref("Message")),
        last_rev={"type": "integer", "minimum": 0},
        mention_count={"type": "integer", "minimum": 0},
        notify=nullable({"enum": ["all", "mentions", "mute"]}),
        joined={"type": "boolean"},
    ),
    "Member": obj(
        id=ID,
        username={"type": "string"},
        role={"enum": ["owner", "member"]},
        online={"type": "boolean"},
        last_read_message_id=nullable(ID),
    ),
    "Tokens": obj(
        ["access_token", "expires_in"],
        access_token={"type": "string"},
        refresh_token={"type": "string"},
        expires_in={"type": "integer"},
    ),
    "LoginTokens": obj(
        ["access_token", "refresh_token", "expires_in", "device_token"],
        access_token={"type": "string"},
        refresh_token={"type": "string"},
        expires_in={"type": "integer"},
        device_token={"type": "string"},
    ),
    "Error": obj(
        error=obj(
            ["code", "message"],
            code={"enum": sorted(ERRORS)},
            message={"type": "string"},
            fields={"type": "object"},
            room_id=ID,
            member_count={"type": "integer"},
            retry_after={"type": "integer"},
        )
    ),
}


def json_content(schema):
    return {"application/json": {"schema": schema}}


def ok(schema, status="200"):
    return {status: {"description": "Success", "content": json_content(schema)}}


def errors(*statuses):
    return {str(s): {"description": "Error", "content": json_content(ref("Error"))} for s in statuses}


def limited(setting):
    """The description of an operation limited per user by config `setting`."""
    return f"Limited per user ({setting}): beyond it, 429 RATE_LIMITED with Retry-After."


def operation(summary, responses, *, body=None, params=(), public=False, **extra):
    op = {"summary": summary, "responses": {**responses, **errors(400, 401, 429, 503)}, **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(body)}
    if params:
        op["parameters"] = list(params)
    if public:
        op["security"] = []
    return op


def path_param(name, schema=ID):
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_param(name, schema):
    return {"name": name, "in": "query", "required": False, "schema": schema}


ROOM_ID = path_param("room_id")
MESSAGE_ID = path_param("message_id")
MESSAGE = obj(message=ref("Message"))
MESSAGES = {"type": "array", "items": ref("Message")}
ROOM = obj(room=ref("Room"))
ROOMS = obj(rooms={"type": "array", "items": ref("Room")})
EMPTY = {"type": "object", "additionalProperties": False}
CREDENTIALS = obj(username={"type": "string"}, password={"type": "string"})

PATHS = {
    "/auth/signup": {
        "post": operation(
            "Create an account", {**ok(obj(user=ref("User")), "201"), **errors(409)}, body=CREDENTIALS, public=True
        )
    },
    "/users/available": {
        "get": operation(
            "Is a username free?",
            ok(obj(["available"], available={"type": "boolean"}, reason=nullable({"type": "string"}))),
            params=[query_param("username", {"type": "string"})],
            public=True,
        )
    },
    "/auth/token": {
        "post": operation(
            "Log in for tokens",
            ok(ref("LoginTokens")),
            body=obj(
                ["username", "password"],
                username={"type": "string"},
                password={"type": "string"},
                device_token={"type": "string"},
            ),
            public=True,
            description="`device_token` is the one the last login from this device answered: a known device "
            "skips the delays that failed logins from its address started (docs/protocol.md, Accounts).",
        )
    },
    "/auth/refresh": {"post": operation("Rotate a refresh token (sent as Bearer)", ok(ref("Tokens")))},
    "/auth/socket-token": {
        "post": operation(
            "The page's socket token",
            {**ok(ref("Tokens")), **errors(403)},
            description="For the page's session cookie (with X-CSRFToken) only: any Authorization header is "
            "refused 403 FORBIDDEN. API clients renew with /auth/refresh.",
        )
    },
    "/me": {
        "put": operation(
            "Change my settings: the UI language (null: follow the browser)",
            ok(obj(user=ref("Me"))),
            body=obj(locale=nullable({"enum": ["ko", "en"]})),
        )
    },
    "/me/sessions": {
        "get": operation(
            "My sessions, one per signed-in device",
            ok(obj(sessions={"type": "array", "items": ref("Session")})),
            description="Live sessions only (not ended, within the idle and absolute lifetimes), the most "
            "recently seen first. current marks the caller's own: the page's session, or the refresh "
            "family of the calling access token.",
        )
    },
    "/me/sessions/{session_id}": {
        "delete": operation(
            "End one of my sessions",
            {**ok(EMPTY), **errors(400, 404)},
            params=[path_param("session_id")],
            description="That device is signed out: its page cookie, access and refresh tokens stop working "
            "and its sockets are disconnected, on every node. Another user's session, or one no longer "
            "live, is 404 NOT_FOUND.",
        )
    },
    "/users": {
        "get": operation(
            "Find users whose name contains q",
            ok(obj(users={"type": "array", "items": ref("User")})),
            params=[query_param("q", {"type": "string"})],
        )
    },
    "/rooms": {
        "get": operation("My rooms", ok(ROOMS)),
        "post": operation(
            "Create a room",
            ok(ROOM, "201"),
            body=obj(["name"], name={"type": "string"}, type={"enum": ["public", "private"]}),
            description=limited("RATELIMIT_ROOMS_PER_USER"),
        ),
    },
    "/rooms/public": {"get": operation("Public rooms", ok(ROOMS))},
    "/rooms/direct": {
        "post": operation(
            "Start a direct room",
            {**ok(ROOM, "201"), **errors(409)},
            body=obj(usernames={"type": "array", "items": {"type": "string"}}),
            description=limited("RATELIMIT_DIRECT_ROOMS_PER_USER") + " An existing one (409) is not counted; "
            "rejoining it counts as a join (RATELIMIT_MEMBERSHIP_PER_USER).",
        )
    },
    "/rooms/{room_id}/join": {
        "post": operation(
            "Join a public room",
            {**ok(ROOM), **errors(404)},
            params=[ROOM_ID],
            description=limited("RATELIMIT_MEMBERSHIP_PER_USER") + " Joining a room one is in is not counted.",
        )
    },
    "/rooms/{room_id}/messages": {
        "get": operation(
            "A page of messages",
            {
                **ok(
                    obj(
                        ["messages", "has_more"],
                        messages=MESSAGES,
                        has_more={"type": "boolean"},
                        has_more_before={"type": "boolean"},
                        has_more_after={"type": "boolean"},
                    )
                ),
                **errors(403, 404),
            },
            params=[
                ROOM_ID,
                query_param("before_seq", {"type": "integer"}),
                query_param("after_seq", {"type": "integer"}),
                query_param("around_seq", {"type": "integer"}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
            description="No cursor: the latest page. before_seq pages back, after_seq catches up, around_seq "
            "(alone) centres the page on that seq and answers has_more_before and has_more_after.",
        )
    },
    "/rooms/{room_id}/changes": {
        "get": operation(
            "The room's change feed: messages changed after a rev, in their current state",
            {
                **ok(obj(messages=MESSAGES, last_rev={"type": "integer", "minimum": 0}, has_more={"type": "boolean"})),
                **errors(403, 404),
            },
            params=[
                ROOM_ID,
                {"name": "after_rev", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}},
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
            ],
            description="Ascending by rev, each message once; continue from last_rev while has_more.",
        )
    },
    "/rooms/{room_id}/notify": {
        "put": operation(
            "Choose what alerts me in a room",
            {**ok(ROOM), **errors(403, 404)},
            params=[ROOM_ID],
            body=obj(notify={"enum": ["all", "mentions", "mute"]}),
        )
    },
    "/rooms/{room_id}/members": {
        "get": operation(
            "Members of a room",
            {**ok(obj(members={"type": "array", "items": ref("Member")})), **errors(403, 404)},
            params=[ROOM_ID],
        ),
        "post": operation(
            "Invite someone",
            {**ok(ROOM), **errors(403, 404)},
            params=[ROOM_ID],
            body=obj(username={"type": "string"}),
            description=limited("RATELIMIT_INVITES_PER_USER") + " Inviting a member is not counted.",
        ),
    },
    "/rooms/{room_id}/members/{username}": {
        "delete": operation(
            "Remove a member (owner only); with ban=true keep them out",
            {**ok(ROOM), **errors(403, 404)},
            params=[
                ROOM_ID,
                path_param("username", {"type": "string"}),
                query_param("ban", {"enum": ["true", "false"]}),
            ],
            description="ban=true also bans someone who already left. Not the owner (403 FORBIDDEN).",
        )
    },
    "/rooms/{room_id}/bans": {
        "get": operation(
            "Who is banned from a room, newest first (owner only)",
            {**ok(obj(bans={"type": "array", "items": ref("Ban")})), **errors(403, 404)},
            params=[ROOM_ID],
        )
    },
    "/rooms/{room_id}/bans/{username}": {
        "delete": operation(
            "Lift a ban (owner only; idempotent)",
            {**ok(EMPTY), **errors(403, 404)},
            params=[ROOM_ID, path_param("username", {"type": "string"})],
        )
    },
    "/admin/users": {
        "get": operation(
            "Users, newest first (site admins only)",
            {
                **ok(obj(users={"type": "array", "items": ref("AdminUser")}, has_more={"type": "boolean"})),
                **errors(403),
            },
            params=[
                query_param("q", {"type": "string"}),
                query_param("before_id", ID),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
            description="q: part of the username. Page with before_id = the last user's id.",
        )
    },
    **{
        f"/admin/users/{{user_id}}/{verb}": {
            "post": operation(
                summary, {**ok(obj(user=ref("AdminUser"))), **errors(403, 404)}, params=[path_param("user_id")]
            )
        }
        for verb, summary in (
            ("deactivate", "Deactivate an account: its sessions, tokens and sockets end (site admins only)"),
            ("reactivate", "Reactivate an account (site admins only)"),
        )
    },
    "/admin/rooms": {
        "get": operation(
            "Rooms, newest first, with counts and last activity (site admins only)",
            {
                **ok(obj(rooms={"type": "array", "items": ref("AdminRoom")}, has_more={"type": "boolean"})),
                **errors(403),
            },
            params=[
                query_param("before_id", ID),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
        )
    },
    "/admin/rooms/{room_id}": {
        "delete": operation(
            "Delete a room with its messages and files (site admins only)",
            {**ok(EMPTY), **errors(403, 404)},
            params=[ROOM_ID],
        )
    },
    "/admin/audit": {
        "get": operation(
            "Every moderation and admin action, newest first (site admins only)",
            {
                **ok(obj(entries={"type": "array", "items": ref("AuditEntry")}, has_more={"type": "boolean"})),
                **errors(403),
            },
            params=[
                query_param("before_id", ID),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
        )
    },
    "/rooms/{room_id}/leave": {
        "post": operation(
            "Leave a room",
            {**ok(EMPTY), **errors(403, 404)},
            params=[ROOM_ID],
            description=limited("RATELIMIT_MEMBERSHIP_PER_USER") + " Counted with joins.",
        )
    },
    "/rooms/{room_id}/read": {
        "post": operation(
            "Move my read pointer forward",
            {**ok(obj(last_read_message_id=nullable(ID))), **errors(403, 404)},
            params=[ROOM_ID],
            body=obj(message_id=ID),
        )
    },
    "/rooms/{room_id}/files": {
        "post": {
            "summary": "Upload a file into a room",
            "parameters": [ROOM_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": obj(
                            ["file"],
                            file={"type": "string", "format": "binary"},
                            client_id={"type": "string"},
                            reply_to=ID,
                        )
                    }
                },
            },
            "responses": {**ok(obj(message=ref("Message")), "201"), **errors(400, 401, 403, 404, 413, 429, 503)},
            "description": "Images (PNG, JPEG, GIF, WebP) are stored without their metadata (EXIF with the GPS "
            "position, XMP, IPTC, PNG text), turned upright first, so file.size is the stored size. Images over "
            "MAX_IMAGE_PIXELS (25 megapixels by default) are 400 VALIDATION_ERROR with fields.file.",
        }
    },
    "/messages/{message_id}": {
        "delete": operation(
            "Delete a message: my own within the window, anyone's as the room's owner or a site admin",
            {**ok(EMPTY), **errors(403, 404)},
            params=[MESSAGE_ID],
        ),
        "patch": operation(
            "Edit my text message",
            {**ok(MESSAGE), **errors(403, 404, 409)},
            params=[MESSAGE_ID],
            body=obj(["body"], body={"type": "string"}, confirm={"type": "boolean"}),
            description="Mentions are resolved anew; only members newly mentioned are notified. An @room or @here "
            "added in a room of more than 5 members needs confirm: true (409 CONFIRMATION_REQUIRED otherwise).",
        ),
    },
    "/messages/{message_id}/history": {
        "get": operation(
            "Every version of a message's body, oldest first",
            {**ok(obj(versions={"type": "array", "items": obj(body={"type": "string"}, at=TIMESTAMP)})), **errors(404)},
            params=[MESSAGE_ID],
        )
    },
    "/messages/{message_id}/reactions/{emoji}": {
        method: operation(
            summary,
            {**ok(MESSAGE), **errors(404)},
            params=[MESSAGE_ID, path_param("emoji", {"type": "string"})],
            description="The emoji percent-encoded; idempotent.",
        )
        for method, summary in (("put", "Add my reaction"), ("delete", "Remove my reaction"))
    },
    "/search": {
        "get": operation(
            "Search the messages of my rooms, newest first",
            {
                **ok(
                    obj(
                        results={
                            "type": "array",
                            "items": obj(
                                message=ref("Message"),
                                room=obj(
                                    id=ID, name={"type": "string"}, type={"enum": ["public", "private", "direct"]}
                                ),
                                highlights={
                                    "type": "array",
                                    "items": {
                                        "type": "array",
                                        "items": {"type": "integer", "minimum": 0},
                                        "minItems": 2,
                                        "maxItems": 2,
                                    },
                                },
                            ),
                        },
                        has_more={"type": "boolean"},
                    )
                ),
                **errors(403, 404),
            },
            params=[
                {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 500}},
                query_param("room_id", ID),
                query_param("before_id", ID),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 50}),
            ],
            description='Terms match any part of a message\'s text (NFKC, case-insensitive); "phrases", -exclusions, '
            "from:<username>, has:file, has:link, is:mention, before:<date>, after:<date> (2026-03-05 or 2026.3.5, "
            "UTC). Only rooms I am an active member of now; never deleted or system messages. highlights are "
            "[start, end) code-point ranges of the message's body (a file message: its file's name). Page with "
            "before_id = the last result's message id.",
        )
    },
}

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "webchat API",
        "version": "1",
        "description": "See docs/protocol.md. A JSON body nested deeper than 32 levels, or holding a lone "
        "surrogate escape (\\ud800 to \\udfff), is 400 VALIDATION_ERROR (fields.body).",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    },
    "paths": PATHS,
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
