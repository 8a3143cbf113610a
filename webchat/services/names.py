"""What a name may hold, for every name a person sets (usernames, room names): no control,
format or other invisible character, and, for usernames, nothing that imitates another
user's name with look-alike letters.

Invisible characters are Unicode's own classes, not a list of ours: every "other" (C*:
controls such as NUL, format characters such as right-to-left overrides and zero-width
spaces, surrogates, private use, unassigned) and every Default_Ignorable_Code_Point (the
Hangul fillers, which show as nothing, variation selectors). Inside an emoji sequence the
zero-width joiner and the variation selectors are what build the emoji (family, ❤️), so
emoji, by the `emoji` package's list, are taken out before the check.

Look-alikes use Unicode's confusables table (UTS #39) as the `confusable_homoglyphs`
package ships it: each character maps to its class's representative, so `skeleton("раypal")`
(Cyrillic р and а) equals `skeleton("paypal")`."""

import functools
import hashlib
import json
import unicodedata
from importlib import resources

import emoji
import regex
from confusable_homoglyphs import confusables
from flask_babel import lazy_gettext as _l

LRM = "\u200e"
HIDDEN = regex.compile(r"[\p{C}\p{Default_Ignorable_Code_Point}]")
HIDDEN_CHARACTERS = _l("Remove the invisible or control characters (such as zero-width spaces or direction marks).")
MIXED_SCRIPTS = _l("Do not mix letters of different scripts that look alike (such as a Latin “a” and a Cyrillic “а”).")


def hidden_problem(text):
    """Why `text`, a name, cannot be shown as typed (it holds an invisible or control
    character outside an emoji), or None."""
    return HIDDEN_CHARACTERS if HIDDEN.search(emoji.replace_emoji(text, "")) else None


def mixed_script_problem(name):
    """Why `name` imitates one script with another's letters (a Latin name with a Cyrillic
    "а" in it), or None. A name may mix scripts that do not look alike (kim준호)."""
    scripts = confusables.unique_aliases(name) - {"COMMON"}
    if len(scripts) < 2:
        return None
    for script in scripts:
        # Letters of the name's other scripts that look like one of this script's; digits
        # and punctuation (COMMON) belong to every script and imitate none.
        found = confusables.is_confusable(name, greedy=True, preferred_aliases=[script]) or []
        if any(char["alias"] != "COMMON" for char in found):
            return MIXED_SCRIPTS
    return None


@functools.cache
def _prototypes():
    """{character: what it looks like}, from the confusables table. The table lists, for a
    character that imitates another, the one it imitates (sometimes two characters: "m"
    looks like "rn"), and for an imitated one, its imitators. Each class of characters that
    look alike is named by its least code point; a character that imitates a sequence
    maps to that sequence."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    parent, sequences = {}, {}

    def find(c):
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    for key, glyphs in data.items():
        char = key.strip(LRM)  # the table wraps right-to-left characters in marks
        for glyph in glyphs:
            other = glyph["c"].strip(LRM)
            if len(other) > 1:
                sequences[char] = other
            else:
                a, b = find(char), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    mapping = {c: find(c) for c in parent}
    mapping.update({c: "".join(find(x) for x in seq) for c, seq in sequences.items()})
    return mapping


def skeleton(text):
    """UTS #39's skeleton: what `text` looks like, for comparing names. Two names with one
    skeleton are confusable."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


def lookalike_key(name):
    """What `name` looks like, case aside, as a fixed-size key for an index (the SHA-256,
    hex, of its skeleton): the skeleton of the case-folded skeleton, so that "AIice" (a
    capital I) and "alice" meet, as do "Alice" and "alice"."""
    shown = skeleton(unicodedata.normalize("NFKC", name)).casefold()
    return hashlib.sha256(skeleton(shown).encode("utf-8")).hexdigest()
