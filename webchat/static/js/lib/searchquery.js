// The search query as the search page edits it (pure, unit-tested in
// tests/js/searchquery.test.mjs): its filter tokens, turned on and off as chips, and the
// snippet of a hit with its highlighted ranges. The server parses the query for real
// (services/search.py); this only finds the same tokens to show and remove them.

const TOKEN = /(-?)(?:"([^"]*)"?|([^\s"]+))/g;
const FILTER = /^([A-Za-z]+):(.+)$/s;
export const FILTERS = ["from", "has", "is", "before", "after"];

/** The filters written in `q`: [{name, value, text, start, end}] (end exclusive, UTF-16). */
export function filtersOf(q) {
  const found = [];
  for (const match of (q ?? "").matchAll(TOKEN)) {
    const [text, negated, phrase, word] = match;
    if (negated || phrase !== undefined || !word) continue;
    const filter = FILTER.exec(word);
    if (!filter || filter[2].startsWith("//")) continue;
    const name = filter[1].toLowerCase();
    if (!FILTERS.includes(name)) continue;
    found.push({ name, value: filter[2], text, start: match.index, end: match.index + text.length });
  }
  return found;
}

/** `q` without the characters from `start` to `end`, spaces tidied. */
export function without(q, start, end) {
  return `${q.slice(0, start)} ${q.slice(end)}`.replace(/\s+/g, " ").trim();
}

/** Whether `q` holds filter `token` ("has:file"), case-insensitively. */
export function hasToken(q, token) {
  const wanted = token.toLowerCase();
  return filtersOf(q).some((f) => f.text.toLowerCase() === wanted);
}

/** `q` with filter `token` added at the end, or every copy of it taken out. */
export function toggleToken(q, token) {
  const wanted = token.toLowerCase();
  const copies = filtersOf(q).filter((f) => f.text.toLowerCase() === wanted);
  if (!copies.length) return `${(q ?? "").trim()} ${token}`.trim();
  let result = q;
  for (const copy of copies.reverse()) result = without(result, copy.start, copy.end);
  return result;
}

/**
 * Pieces of `text` to show for a hit: [{text, mark}] where `mark` is a highlighted range.
 * `ranges` are [start, end) in code points (the server's), merged and in order. A long
 * text is cut to about `max` code points around the first highlight, with "…" at a cut.
 */
export function snippet(text, ranges, max = 180) {
  const chars = Array.from(text ?? "");
  const valid = (ranges ?? []).filter(([s, e]) => Number.isInteger(s) && Number.isInteger(e) && s >= 0 && e > s && e <= chars.length);
  let from = 0;
  let to = chars.length;
  if (chars.length > max) {
    const first = valid.length ? valid[0][0] : 0;
    from = Math.max(0, Math.min(first - Math.floor(max / 3), chars.length - max));
    to = Math.min(chars.length, from + max);
  }
  const pieces = [];
  const push = (start, end, mark) => {
    if (end > start) pieces.push({ text: chars.slice(start, end).join(""), mark });
  };
  let at = from;
  for (const [start, end] of valid) {
    if (end <= from || start >= to) continue;
    push(at, Math.max(at, start), false);
    push(Math.max(at, start), Math.min(end, to), true);
    at = Math.min(end, to);
  }
  push(at, to, false);
  if (from > 0) pieces.unshift({ text: "…", mark: false });
  if (to < chars.length) pieces.push({ text: "…", mark: false });
  return pieces;
}
