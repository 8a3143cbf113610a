// The page scripts' words, from the same catalog as the server's (webchat/translations).
// base.html names the page language's catalog in <meta name="i18n-catalog">; this module
// loads it with a top-level await, so that every module importing it runs only once the
// catalog is here, before any of them writes a word. Without it (the unit tests, or a
// failed load) the msgids themselves are shown: they are the English text.
//
// Extraction (`make messages`) finds the literal first arguments of t() and tn(): pass
// whole sentences, never pieces glued together, with named {placeholders}.

// CLDR's order of plural categories, which is gettext's order of forms (English: one,
// other; Korean has one category and one form).
const CATEGORY_ORDER = ["zero", "one", "two", "few", "many", "other"];

let catalog = { locale: "en", messages: {} };
let plurals = new Intl.PluralRules("en");
let categories = ["one", "other"];

/** Use `data` ({locale, messages: {msgid: text | [forms]}}) from now on. */
export function setCatalog(data) {
  catalog = { locale: data?.locale || "en", messages: data?.messages ?? {} };
  plurals = new Intl.PluralRules(catalog.locale);
  const known = new Set(plurals.resolvedOptions().pluralCategories);
  categories = CATEGORY_ORDER.filter((category) => known.has(category));
}

/** The page language ("ko", "en"): for Intl formatters and plural rules. */
export function locale() {
  return catalog.locale;
}

/** `text` with each {name} replaced by params[name]; an unknown name stays as written. */
export function fill(text, params = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] === undefined ? whole : String(params[name])));
}

/** The translation of `msgid`, its {placeholders} filled from `params`. */
export function t(msgid, params) {
  const text = catalog.messages[msgid];
  return fill(typeof text === "string" && text ? text : msgid, params);
}

/**
 * The form of a plural message for the count `n` (also given to the text as {count},
 * unless `params` says otherwise), chosen by the page language's plural rules. A list of
 * one form (Korean) serves every count.
 */
export function tn(singular, plural, n, params = {}) {
  const forms = catalog.messages[singular];
  const values = { count: n, ...params };
  if (!Array.isArray(forms) || !forms.length) return fill(n === 1 ? singular : plural, values);
  if (forms.length === 1) return fill(forms[0], values);
  const index = categories.indexOf(plurals.select(n));
  return fill(forms[Math.min(Math.max(index, 0), forms.length - 1)], values);
}

/** Fetch the catalog named by the page; on failure keep the msgids (English). */
async function loadPageCatalog() {
  const url = document.querySelector('meta[name="i18n-catalog"]')?.content;
  const lang = document.documentElement.lang || "en";
  if (!url) {
    setCatalog({ locale: lang });
    return;
  }
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    setCatalog(await response.json());
  } catch (error) {
    console.warn(`The ${lang} catalog did not load (${error}); showing English.`);
    setCatalog({ locale: lang });
  }
}

if (typeof document !== "undefined") await loadPageCatalog();
