"""How guessable a new password is: zxcvbn's estimate (as Zulip uses it), with its reason
said in our words, in the reader's language.

zxcvbn scores 0 to 4 by the guesses an attacker would need, from its lists of common
passwords, words and names, keyboard patterns, repeats, sequences and dates, and from the
user's own inputs (the username). Its feedback is English text, so the reason is taken
from the match it would have spoken about (the longest) and said with our own messages.
It knows no Korean words: a Korean password is judged by its length and patterns."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import matching, scoring, time_estimates

from .. import offload

# Only the first 40 characters are estimated: zxcvbn's cost grows fast with the length
# (measured, bench/account_checks_cost.py: random text costs about 20 ms at 40 characters,
# up to 0.5 s at 72, its own limit), and 40 characters that are hard to guess are a
# strong password whatever follows.
ESTIMATED_LENGTH = 40
NAMES = ("surnames", "male_names", "female_names")
WORDS = ("english_wikipedia", "us_tv_and_film")

REASONS = {
    "common": _l(
        "This is one of the most used passwords. Choose something less common, such as a few unrelated words."
    ),
    "near_common": _l(
        "This is a common password with small changes, which guessers try early. Choose something less common, "
        "such as a few unrelated words."
    ),
    "username": _l("The password is too close to your username. Choose something unrelated to it."),
    "names": _l("Names are easy to guess. Add a few unrelated words."),
    "words": _l("A common word or two is easy to guess. Add another, uncommon word."),
    "keyboard": _l("Keyboard patterns like “qwerty” are easy to guess. Use a few unrelated words instead."),
    "repeat": _l("Repeated characters or words are easy to guess. Use a few unrelated words instead."),
    "sequence": _l("Sequences like “abc” or “6543” are easy to guess. Use a few unrelated words instead."),
    "date": _l("Dates and years are easy to guess. Use a few unrelated words instead."),
    "short": _l("This password is easy to guess. Make it longer, for example with a few unrelated words."),
}


def weakness(password, username=None):
    """Why `password` is too easy to guess (its score is below PASSWORD_MIN_SCORE), or None.
    Computed off the event loop (tens of milliseconds of CPU at most)."""
    inputs = [username, "webchat"] if username else ["webchat"]
    score, sequence = offload.run(estimate, password[:ESTIMATED_LENGTH], inputs)
    if score >= current_app.config["PASSWORD_MIN_SCORE"]:
        return None
    # zxcvbn may explain "carol2026" by its list of names rather than by the username carol.
    if username and len(username) >= 3 and username.casefold() in password.casefold():
        return REASONS["username"]
    return REASONS[_kind(sequence)]


def estimate(password, user_inputs):
    """(score, matches): what `zxcvbn.zxcvbn` computes, without the feedback's English.
    zxcvbn() itself puts the user inputs in a module-level dictionary, which two estimates
    at once on the offload pool's threads would share; this passes its own instead."""
    dictionaries = {
        **matching.RANKED_DICTIONARIES,
        "user_inputs": matching.build_ranked_dict([text.lower() for text in user_inputs]),
    }
    result = scoring.most_guessable_match_sequence(password, matching.omnimatch(password, dictionaries))
    return time_estimates.guesses_to_score(result["guesses"]), result["sequence"]


def _kind(sequence):
    """What makes the password guessable: the kind of its longest match (the one zxcvbn's
    own feedback speaks about)."""
    if not sequence:
        return "short"
    match = max(sequence, key=lambda m: len(m["token"]))
    pattern = match["pattern"]
    if pattern == "dictionary":
        dictionary = match["dictionary_name"]
        if dictionary == "user_inputs":
            return "username"
        if dictionary == "passwords":
            plain = len(sequence) == 1 and not match.get("l33t") and not match.get("reversed")
            return "common" if plain else "near_common"
        return "names" if dictionary in NAMES else "words" if dictionary in WORDS else "short"
    return {"spatial": "keyboard", "repeat": "repeat", "sequence": "sequence", "date": "date", "regex": "date"}.get(
        pattern, "short"
    )
