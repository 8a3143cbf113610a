"""Which origins may open a socket (the check itself; the real server is tested in
tests/integration/test_server_chat.py)."""

from webchat.chat.origins import origin_check, own_origins


def test_same_origin_only_by_default():
    assert origin_check([]) is None  # Engine.IO's own same-origin check


def test_configured_origins_add_to_our_own():
    allowed = origin_check(["https://chat.example.com"])
    environ = {
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "10.0.0.11:5000",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "chat.internal",
    }
    assert own_origins(environ) == {"http://10.0.0.11:5000", "https://chat.internal"}
    assert allowed("https://chat.example.com", environ)
    assert allowed("https://chat.internal", environ)
    assert not allowed("https://evil.example", environ)
    assert not allowed(None, environ)
