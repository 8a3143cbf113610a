"""Formatting: a message body rendered once, when it is written, from a small Markdown
subset into sanitised HTML that the page may insert as is (`messages.html`).

The subset: `**bold**`, `*italic*` (or `_italic_`), `~~strike~~`, `` `code` ``, fenced
code blocks (``` or ~~~), `>` quotes, `-`/`+`/`*` and `1.`/`1)` lists, a newline as a
line break, backslash escapes, and autolinks for URLs written out with `http://`,
`https://` or `mailto:`. Everything else is text as typed: raw HTML and entities,
headings, tables, rules, indented code, images, `[text](url)` links (the text shown is
always the address linked) and reference definitions.

Two walls: markdown-it-py, configured with only the rules above and HTML off, escapes
whatever it does not turn into one of its own tags; nh3 (Ammonia) then keeps only the
tags and attributes the subset makes, links with an http, https or mailto address,
`rel="noopener noreferrer nofollow"` and `target="_blank"`. A plain message (no character
that the subset could read as markup or a link) skips both and gets the same HTML.
"""

import re

import nh3
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt

# Hangul (jamo, compatibility jamo, syllables, half-width forms): an autolink stops
# before it, so that `https://a.kr/doc에서` links `https://a.kr/doc`.
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uffa0-\uffdc]")


def _mask_hangul(text):
    """`text` with each Hangul character a space: the same length, so a link found in it
    has the same place (and, holding no Hangul, the same text) in the original."""
    return _HANGUL.sub(" ", text)


class _Linkify(LinkifyIt):
    """linkify-it with Hangul as a delimiter, for both of markdown-it's link finders (the
    inline rule at `://` and the pass over text for `mailto:`)."""

    def pretest(self, text):
        return super().pretest(_mask_hangul(text))

    def test(self, text):
        return super().test(_mask_hangul(text))

    def match(self, text):
        return super().match(_mask_hangul(text))

    def match_at_start(self, text):
        return super().match_at_start(_mask_hangul(text))


def _parser():
    md = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": True, "typographer": False})
    md.enable(["fence", "blockquote", "list"])  # and "paragraph", which "zero" has
    # "linkify" is two rules: inline at each `://`, and a pass over the text after (which
    # finds `mailto:`); enabling it by name enables both.
    md.enable(["newline", "escape", "backticks", "emphasis", "strikethrough", "linkify"])
    # Only links written with their scheme: no guessed `example.com` or `a@b.kr`, no
    # `ftp:` or scheme-relative `//host`.
    linkify = _Linkify(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
    md.linkify = linkify.add("ftp:", None).add("//", None)
    return md


_MD = _parser()
_CLEANER = nh3.Cleaner(
    tags={"p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"},
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, "ol": {"start"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)

# What sends a body through the parser: a character the subset reads as markup (or that
# HTML escapes), a URL's scheme, a line that starts like a list or a quote, and any
# whitespace but spaces and newlines or a control character (which the parser and the
# sanitiser normalise). Most chat messages have none of these.
_NEEDS_PARSER = re.compile(
    r"[*_`\\&<>]|~~|(?:https?|mailto):|^ *(?:[-+]|\d{1,9}[.)])|[^\S \n]|[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]",
    re.IGNORECASE | re.MULTILINE,
)
_BLANK_LINES = re.compile(r"\n(?: *\n)+")


def render(body):
    """The HTML of a text message's body: its `messages.html`, made once per write (the
    send path, an edit; the migration for older rows). "" for an empty body."""
    if not _NEEDS_PARSER.search(body):
        return render_plain(body)
    return render_markdown(body)


def render_markdown(body):
    """The full path: markdown-it for the subset, then the sanitiser."""
    # The newline after the last block is markup's, not the message's: a page would
    # count it as text.
    return _CLEANER.clean(_MD.render(body)).rstrip("\n")


def render_plain(body):
    """The fast path, for a body with nothing `_NEEDS_PARSER` finds: what the full path
    makes of it, without parsing. Paragraphs at blank lines, a line break at each
    newline, the spaces around lines dropped (as Markdown does); nothing to escape."""
    text = body.strip(" \n")
    if not text:
        return ""
    paragraphs = _BLANK_LINES.split(text)
    return "\n".join(
        "<p>" + "<br>\n".join(line.strip(" ") for line in paragraph.split("\n")) + "</p>" for paragraph in paragraphs
    )
