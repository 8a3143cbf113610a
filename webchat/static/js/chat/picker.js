// The full emoji picker for reactions: the vendored emoji-picker-element (loaded on first
// use), its data in the page language from our own static files, in a modal dialog.
//
// Under the page's Content-Security-Policy (style-src 'self') the picker's own <style>
// element would be refused: its text goes into a constructable stylesheet instead,
// before the element is connected (see static/vendor/emoji-picker-element/README.md for
// the other half, its style attributes).
import { infoDialog } from "../lib/dialog.js";
import { h } from "../lib/dom.js";
import { locale, t } from "../lib/i18n.js";

const VENDOR = new URL("../../vendor/", import.meta.url);
const DATA_LOCALES = new Set(["en", "ko"]);
let loading = null;

function loadPicker() {
  loading ??= import(new URL("emoji-picker-element/picker.js", VENDOR).href).then((module) => module.default);
  return loading;
}

/** The picker's words, from our catalog. */
function words() {
  return {
    categoriesLabel: t("Categories"),
    emojiUnsupportedMessage: t("Your browser does not show color emoji."),
    favoritesLabel: t("Frequently used"),
    loadingMessage: t("Loading…"),
    networkErrorMessage: t("Could not load the emoji."),
    regionLabel: t("Emoji picker"),
    searchDescription: t("When search results are shown, press Up or Down to pick one and Enter to choose it."),
    searchLabel: t("Search emoji"),
    searchResultsLabel: t("Search results"),
    skinToneDescription: t("When the list is open, press Up or Down to pick a skin tone and Enter to choose it."),
    skinToneLabel: t("Choose a skin tone (now {skinTone})"),
    skinTonesLabel: t("Skin tones"),
    skinTones: [t("Default"), t("Light"), t("Medium-light"), t("Medium"), t("Medium-dark"), t("Dark")],
    categories: {
      custom: t("Custom"),
      "smileys-emotion": t("Smileys and emotion"),
      "people-body": t("People and body"),
      "animals-nature": t("Animals and nature"),
      "food-drink": t("Food and drink"),
      "travel-places": t("Travel and places"),
      activities: t("Activities"),
      objects: t("Objects"),
      symbols: t("Symbols"),
      flags: t("Flags"),
    },
  };
}

/** Move the shadow root's <style> into an adopted, constructable stylesheet. */
function adoptStyles(picker) {
  const style = picker.shadowRoot?.querySelector("style");
  if (!style) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(style.textContent);
  style.remove();
  picker.shadowRoot.adoptedStyleSheets = [...picker.shadowRoot.adoptedStyleSheets, sheet];
}

/** A new <emoji-picker> in the page language, its data from our static files. */
export async function createPicker() {
  const Picker = await loadPicker();
  const lang = DATA_LOCALES.has(locale()) ? locale() : "en";
  const picker = new Picker({
    locale: lang,
    dataSource: new URL(`emoji-picker-element-data/${lang}/data.json`, VENDOR).href,
    i18n: words(),
  });
  adoptStyles(picker);
  // No "light" or "dark" class: chat.css sets the picker's colour variables from the
  // page's own, which follow the theme (css/dark.css).
  return picker;
}

/** Open the picker in a dialog; `onPick(emoji)` hears the one chosen (the dialog closes). */
export async function pickEmoji({ title, onPick }) {
  const picker = await createPicker();
  const dialog = infoDialog({ title, body: h("div", { className: "picker-box" }, picker), className: "picker-dialog" });
  // Escape closes the dialog even from the search box (which takes Escape for itself).
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    dialog.close();
  }, true);
  picker.addEventListener("emoji-click", (event) => {
    const emoji = event.detail?.unicode;
    dialog.close();
    if (emoji) onPick(emoji);
  });
  // The search box first, as in every picker; the dialog focused Close.
  requestAnimationFrame(() => picker.shadowRoot?.querySelector("input.search")?.focus());
  return dialog;
}
