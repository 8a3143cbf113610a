"""WCAG AA contrast of the pages' colours in both themes (issue 22), read from the
stylesheets themselves: app.css and chat.css define the colour variables of the light
theme in `:root`, dark.css redefines them. Each pair below is a colour the pages show on
a background they show it on: text needs 4.5:1 (all of it, large or not), the boundary
of a control or a state (a field's border, the focus ring, a presence dot) 3:1. A colour
change that breaks AA fails here; so does a rule that names a colour of its own instead
of a variable, which no theme could redefine."""

import re
from pathlib import Path

import pytest

import webchat

CSS = Path(webchat.__file__).resolve().parent / "static" / "css"
LIGHT_SHEETS = ("app.css", "chat.css")
DARK_SHEET = "dark.css"

TEXT, UI = 4.5, 3.0
# (foreground, background, minimum, where the pages show it)
PAIRS = [
    ("text", "bg", TEXT, "the page"),
    ("text", "surface", TEXT, "cards, dialogs, the header"),
    ("muted", "bg", TEXT, "the language switch, the search box's placeholder"),
    ("muted", "surface", TEXT, "hints, times, counts"),
    ("text", "field-bg", TEXT, "what is typed in a field"),
    ("muted", "field-bg", TEXT, "placeholders"),
    ("primary", "surface", TEXT, "links and link buttons"),
    ("primary", "bg", TEXT, "links on the page's background"),
    ("danger", "surface", TEXT, "a field's error, the unread divider"),
    ("ok", "surface", TEXT, "the signup's “available”"),
    ("on-primary", "primary-fill", TEXT, "primary buttons, the chosen suggestion"),
    ("on-primary", "primary-fill-hover", TEXT, "a primary button under the pointer"),
    ("on-danger", "danger-fill", TEXT, "mention badges, the danger button"),
    ("on-danger", "danger-fill-hover", TEXT, "the danger button under the pointer"),
    ("danger", "danger-bg", TEXT, "a form's alert, the offline pill"),
    ("text", "danger-bg", TEXT, "a message that failed"),
    ("ok", "ok-bg", TEXT, "the flash after a save"),
    ("online", "ok-bg", TEXT, "the connected pill"),
    ("warn", "warn-bg", TEXT, "the reconnecting pill, the chat's notice"),
    ("primary-dark", "tint", TEXT, "mentions, chosen reactions and filters"),
    ("primary-dark", "tint-soft", TEXT, "chips, the owner tag, the reply bar's label"),
    ("primary-dark", "bg", TEXT, "a message tool under the pointer"),
    ("muted", "tint-soft", TEXT, "the reply bar's snippet"),
    ("text", "badge-bg", TEXT, "unread badges"),
    ("private-text", "private-bg", TEXT, "the “Private” badge"),
    ("mention-me-text", "mention-me-bg", TEXT, "a mention of me"),
    ("text", "mention-msg-bg", TEXT, "a message that mentions me"),
    ("muted", "mention-msg-bg", TEXT, "its time"),
    ("text", "bubble", TEXT, "others' messages"),
    ("muted", "bubble", TEXT, "their times"),
    ("primary", "bubble", TEXT, "links in them"),
    ("text", "bubble-own", TEXT, "my messages"),
    ("muted", "bubble-own", TEXT, "their times"),
    ("primary", "bubble-own", TEXT, "links in them"),
    ("primary-dark", "bubble-own", TEXT, "my name on them"),
    ("notice", "bg", TEXT, "system notices"),
    ("mark-text", "mark-bg", TEXT, "search marks"),
    ("text", "highlight-bg", TEXT, "a message jumped to"),
    ("viewer-text", "viewer-bar", TEXT, "the image viewer's title"),
    ("viewer-muted", "viewer-bar", TEXT, "the image viewer's caption"),
    ("viewer-text", "viewer-button", TEXT, "the image viewer's buttons"),
    ("field-border", "surface", UI, "a text field's border on a card"),
    ("field-border", "bg", UI, "a text field's border on the page"),
    ("field-border", "field-bg", UI, "a text field's border against its inside"),
    ("primary", "surface", UI, "the focus ring, a focused field's border"),
    ("primary", "bg", UI, "the focus ring on the page's background"),
    ("danger", "field-bg", UI, "the border of a field in error"),
    ("online", "surface", UI, "an online member's dot"),
    ("offline", "surface", UI, "an offline member's ring"),
]

COMMENT = re.compile(r"/\*.*?\*/", re.S)
ROOT_BLOCK = re.compile(r"(?<![\w:-]):root\s*\{([^{}]*)\}")
DECLARATION = re.compile(r"(--[\w-]+)\s*:\s*([^;]+);")
COLOUR_LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(\s*\d|\bhsla?\(\s*\d")


def stylesheet(name):
    return COMMENT.sub("", (CSS / name).read_text(encoding="utf-8"))


def root_variables(name):
    """The custom properties of a sheet's `:root` rules (outside @media there are none)."""
    variables = {}
    for block in ROOT_BLOCK.findall(stylesheet(name)):
        variables.update((key, value.strip()) for key, value in DECLARATION.findall(block))
    return variables


def themes():
    light = {}
    for name in LIGHT_SHEETS:
        light.update(root_variables(name))
    return {"light": light, "dark": {**light, **root_variables(DARK_SHEET)}}


def colour(variables, name, seen=()):
    """(r, g, b) of variable `name`, following var() references."""
    value = variables[f"--{name}"]
    if match := re.fullmatch(r"var\(--([\w-]+)\)", value):
        assert match.group(1) not in seen, f"--{name} refers to itself"
        return colour(variables, match.group(1), (*seen, name))
    match = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value)
    assert match, f"--{name}: {value!r} is not an opaque #rgb or #rrggbb colour"
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))


def luminance(rgb):
    """WCAG 2's relative luminance."""

    def channel(value):
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast((255, 255, 255), (255, 255, 255)) == pytest.approx(1)
    # #767676 on white is the well-known lightest grey that passes 4.5:1.
    assert contrast((0x76, 0x76, 0x76), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def test_the_dark_theme_redefines_only_known_variables():
    light = themes()["light"]
    unknown = set(root_variables(DARK_SHEET)) - set(light)
    assert not unknown, f"dark.css defines variables no light sheet has: {sorted(unknown)}"
    assert len(root_variables(DARK_SHEET)) >= 40


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("fg, bg, minimum, where", PAIRS, ids=[f"{f} on {b}" for f, b, _m, _w in PAIRS])
def test_contrast(theme, fg, bg, minimum, where):
    variables = themes()[theme]
    ratio = contrast(colour(variables, fg), colour(variables, bg))
    assert ratio >= minimum, f"{theme}: --{fg} on --{bg} ({where}) is {ratio:.2f}:1, under {minimum}:1"


@pytest.mark.parametrize("name", [*LIGHT_SHEETS, DARK_SHEET])
def test_rules_name_no_colour_of_their_own(name):
    """Outside `:root`, colours are variables (`rgba(var(--shadow-rgb), .2)` is one too)."""
    rules = ROOT_BLOCK.sub("", stylesheet(name))
    found = sorted(set(COLOUR_LITERAL.findall(rules)))
    assert not found, f"{name} names colours outside :root: {found}"


@pytest.mark.parametrize("name", sorted(path.name for path in CSS.glob("*.css")))
def test_every_block_is_closed_where_it_should_be(name):
    """An unclosed `@media (max-width: 600px) {` once put every rule after it, the admin
    area's, inside it: styled on phones only. No block of a sheet stays open past its end,
    and only at-rules (`@media`, `@supports`, `@keyframes`...) hold blocks (no rule nested in a rule)."""
    text = re.sub(r"/\*.*?\*/", "", stylesheet(name), flags=re.S)
    text = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'", '""', text)
    open_blocks = []
    for match in re.finditer(r"([^{};]*)\{|\}", text):
        if match.group(0) == "}":
            assert open_blocks, f"{name}: a }} closes nothing near offset {match.start()}"
            open_blocks.pop()
            continue
        prelude = match.group(1).strip()
        parent = open_blocks[-1] if open_blocks else None
        assert parent is None or parent.startswith(("@media", "@supports", "@keyframes", "@layer", "@container")), (
            f"{name}: {prelude!r} opens inside {parent!r}: is a block above it unclosed?"
        )
        open_blocks.append(prelude)
    assert not open_blocks, f"{name}: {open_blocks} never closed"
