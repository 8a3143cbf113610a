"""API: signup, username availability, tokens, my sessions."""

from flask import g, jsonify, request
from flask_babel import lazy_gettext as _l

from ..callers import bearer_token, caller_family, current_session, session_user
from ..errors import ChatError, validation_error
from ..payloads import own_user_payload, session_payload, user_payload
from ..ratelimit import per_ip
from ..services import accounts, sessions
from . import bp
from .auth import authenticated, json_body


@bp.post("/auth/signup")
@per_ip("RATELIMIT_SIGNUP_PER_IP")
def signup():
    data = json_body()
    user = accounts.signup(data.get("username"), data.get("password"))
    return jsonify(user=user_payload(user)), 201


@bp.get("/users/available")
def username_available():
    problem = accounts.new_username_problem(request.args.get("username", ""))
    return jsonify(available=problem is None, reason=problem)


def from_known_device():
    data = request.get_json(silent=True)
    return isinstance(data, dict) and accounts.is_known_device(data.get("device_token"), data.get("username"))


@bp.post("/auth/token")
@per_ip("RATELIMIT_LOGIN_PER_IP", exempt_when=from_known_device)
def token():
    """Log in for tokens. `device_token`, optional, is the one the last login from this
    device answered: a known device skips the delays failures from its address started."""
    data = json_body()
    device = data.get("device_token")
    user = accounts.authenticate(data.get("username"), data.get("password"), address=request.remote_addr, device=device)
    tokens = accounts.issue_tokens(user, request.user_agent.string, request.remote_addr)
    return jsonify(**tokens, device_token=accounts.device_token(user, device))


@bp.post("/auth/refresh")
@per_ip("RATELIMIT_REFRESH_PER_IP")
def refresh():
    if not request.headers.get("Authorization"):
        raise ChatError("UNAUTHENTICATED", _l("Send the refresh token as a Bearer token."))
    # A header that is not a Bearer token is a malformed token, as for every other call.
    return jsonify(accounts.rotate_refresh_token(bearer_token()))


@bp.post("/auth/socket-token")
def socket_token():
    """A page's socket token, for its session only: a token minted for a Bearer token
    would let a stolen access token renew itself for ever, past its family's revocation.
    API clients renew with /auth/refresh, whose rotation detects a thief."""
    if request.headers.get("Authorization"):
        raise ChatError(
            "FORBIDDEN",
            _l(
                "This endpoint serves the page's session. With an access token, connect "
                "the socket with it and renew it with POST /api/v1/auth/refresh."
            ),
        )
    user = session_user()
    # It carries this browser's session family: ending the session disconnects it.
    return jsonify(accounts.issue_access_token(user, current_session().family))


@bp.put("/me")
@authenticated
def update_me():
    """The caller's own settings: today the UI language (`locale`: "ko", "en" or null)."""
    data = json_body()
    if "locale" not in data:
        raise validation_error(locale=_l('Expected "ko", "en" or null.'))
    user = accounts.set_locale(g.user, data["locale"])
    return jsonify(user=own_user_payload(user))


@bp.get("/me/sessions")
@authenticated
def my_sessions():
    """The caller's live sessions, one per device; `current` marks the caller's own."""
    family = caller_family()
    return jsonify(sessions=[session_payload(record, family) for record in sessions.list_sessions(g.user)])


@bp.delete("/me/sessions/<int:session_id>")
@authenticated
def end_my_session(session_id):
    """End one of the caller's sessions: that device is signed out and its sockets
    disconnected on every node. Another user's session is NOT_FOUND."""
    sessions.end_session(g.user, session_id)
    return jsonify({})
