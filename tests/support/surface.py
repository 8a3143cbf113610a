"""The app's surface, read from the app itself: its HTTP routes and the /chat events a
client may send. The tests that must cover all of it (the authorization matrix, the
fuzzing, the bad input) compare against these, so a new route or event cannot be forgotten."""

from webchat.chat.namespace import ChatNamespace


def routes(app):
    """{(method, rule)} of every route, HEAD and OPTIONS aside."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def client_events():
    """The names of the namespace's client events (the handlers marked `client_event`)."""
    return {
        name[3:]
        for name in dir(ChatNamespace)
        if name.startswith("on_") and getattr(getattr(ChatNamespace, name), "client_event", False)
    }
