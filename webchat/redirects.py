"""Where a page may send the browser next: for `next=` parameters (login, the language
switch), never to another site."""
import unicodedata
from urllib.parse import urlsplit


def safe_next(target):
    """`next` only when it is a path on this site (no scheme, no host, no `//`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    # Browsers drop tabs and newlines from URLs, and a newline cannot go into the
    # Location header at all: a target with any control character or space is refused.
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
