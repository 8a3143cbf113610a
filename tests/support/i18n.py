"""What the browser tests check on a page in Korean: that no text a user can see or hear is
English the catalog has a Korean translation for (a string the page forgot to translate),
nor English-looking words that no catalog knows (a string never passed through it)."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

KO_PO = Path(__file__).resolve().parents[2] / "webchat" / "translations" / "ko" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")
# Latin words a Korean page may show: the product's name, each language's own name, key
# names, file types and units, the UTC of a time's fallback.
LATIN_OK = {"webchat", "English", "Enter", "Shift", "Ctrl", "K"}
LATIN_OK |= {"B", "KB", "MB", "GB", "TB", "PNG", "PDF", "TXT", "UTC"}

# Every text node, and the texts of attributes read to a user, of what the page shows (an
# element hidden, or in a <template>, shows nothing; a screen reader's sr-only text counts;
# what is marked translate="no", an error code, is the same in every language).
_TEXTS_JS = """() => {
  const texts = [];
  const shown = (el) => el.checkVisibility({ visibilityProperty: true });
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.trim();
    const el = node.parentElement;
    if (text && el && !el.closest("script, style, [translate=no]") && shown(el)) texts.push(text);
  }
  for (const el of document.body.querySelectorAll("[placeholder], [aria-label], [title], img[alt]")) {
    if (!shown(el)) continue;
    for (const name of ["placeholder", "aria-label", "title", "alt"]) {
      const value = el.getAttribute(name)?.trim();
      if (value) texts.push(value);
    }
  }
  texts.push(document.title);
  return texts;
}"""


def _english_patterns():
    """A full-match regex for each English msgid (and plural) whose Korean differs; a
    msgid that is only placeholders and punctuation ("{sender}: {text}") matches anything
    and is left out."""
    with open(KO_PO, "rb") as handle:
        catalog = read_po(handle, locale="ko")
    patterns = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for english in ids:
            if english in strings or not re.search(r"[A-Za-z]{2}", PLACEHOLDER.sub("", english)):
                continue
            parts = PLACEHOLDER.split(english.strip())
            patterns.append((english, re.compile(".+?".join(re.escape(part) for part in parts))))
    return patterns


ENGLISH = _english_patterns()


def untranslated(page, allow=()):
    """The texts on `page` that read as English: a catalog msgid, or Latin words that are
    neither in LATIN_OK nor in `allow` (the names, bodies and files the test made)."""
    allowed = sorted((a for a in allow if a), key=len, reverse=True)
    problems = []
    for text in page.evaluate(_TEXTS_JS):
        for english, pattern in ENGLISH:
            if pattern.fullmatch(text):
                problems.append(f"{text!r} is the msgid {english!r}")
                break
        else:
            rest = text
            for name in allowed:
                rest = rest.replace(name, " ")
            words = [word for word in re.findall(r"[A-Za-z]+", rest) if word not in LATIN_OK]
            if words:
                problems.append(f"{text!r} has English-looking words {words}")
    return problems
