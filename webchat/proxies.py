"""The client's address and scheme behind the reverse proxies of TRUSTED_PROXIES.

Behind nginx every request comes from nginx's address: per-IP rate limits would count
everyone as one client, and `request.is_secure` would be false behind TLS. The proxy
says who it serves in X-Forwarded-For and X-Forwarded-Proto, but anyone can send those
headers, so they are believed only from a trusted proxy's address.
"""

import ipaddress

from .metrics import parse_allow_list


class TrustedProxies:
    """WSGI middleware. A request whose TCP peer is in `trusted` (comma-separated
    addresses or networks) gets as its REMOTE_ADDR the rightmost X-Forwarded-For address
    that is not itself a trusted proxy (each proxy appends the address it was reached
    from, so what a client wrote is to the left of it and never chosen over it), and as
    its scheme the nearest proxy's X-Forwarded-Proto. From any other peer both headers
    are ignored. Werkzeug's ProxyFix trusts a fixed number of hops from whoever
    connects; this trusts addresses, so a client that reaches a node directly cannot
    name its own address."""

    def __init__(self, wsgi_app, trusted):
        self.wsgi_app = wsgi_app
        self.trusted = parse_allow_list(trusted)

    def is_trusted(self, address):
        address = _address(address)
        return address is not None and any(address in network for network in self.trusted)

    def __call__(self, environ, start_response):
        if self.is_trusted(environ.get("REMOTE_ADDR", "")):
            environ["webchat.proxy_addr"] = environ.get("REMOTE_ADDR")
            hops = [hop.strip() for hop in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
            client = next((hop for hop in reversed(hops) if not self.is_trusted(hop)), hops[0] if hops else None)
            if _address(client) is not None:
                environ["REMOTE_ADDR"] = client
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", "").rpartition(",")[2].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
        return self.wsgi_app(environ, start_response)


def _address(text):
    """The IP address `text` names, or None."""
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
