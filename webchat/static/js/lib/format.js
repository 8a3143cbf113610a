// How messages read as text: times, system notices, previews, and safe links.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/** A Date from the contract's ISO 8601 UTC timestamp, or null. */
export function parseTime(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Local time for a message: "14:05" today, "Mar 3, 14:05" on other days. */
export function shortTime(date, now = new Date()) {
  if (!date) return "";
  return sameDay(date, now) ? timeFormat.format(date) : dateTimeFormat.format(date);
}

/** The full local date and time, for a tooltip. */
export function fullTime(date) {
  return date ? fullFormat.format(date) : "";
}

/** Characters as the server counts them (code points, not UTF-16 units). */
export function charCount(text) {
  return Array.from(text).length;
}

/** At most `max` characters of `text` on one line, with an ellipsis when cut. */
export function truncate(text, max = 80) {
  const flat = String(text ?? "").replace(/\s+/g, " ").trim();
  const chars = Array.from(flat);
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join("").trimEnd()}…`;
}

/** "alice joined", "bob was removed by alice", ... for a system message's event. */
export function systemText(message) {
  const event = message?.event;
  const who = event?.user?.username ?? "Someone";
  const by = event?.by?.username;
  switch (event?.type) {
    case "created": return `${who} created the room`;
    case "joined": return `${who} joined`;
    case "left": return `${who} left`;
    case "invited": return by ? `${by} invited ${who}` : `${who} was invited`;
    case "kicked": return by ? `${who} was removed by ${by}` : `${who} was removed`;
    // An operator's announcement (`flask webchat announce`): its text is the body.
    case "announcement": return message.body;
    default: return message?.body || "Room update";
  }
}

/** One line for a room list: "alice: hello…", "alice joined", "alice: 보고서.pdf". */
export function previewText(message, max = 80) {
  if (!message) return "No messages yet";
  if (message.deleted) return "message deleted";
  if (message.kind === "system") return truncate(systemText(message), max);
  const sender = message.sender?.username ?? "Someone";
  if (message.kind === "file") return `${sender}: ${truncate(message.file?.name || "file", max)}`;
  return `${sender}: ${truncate(message.body, max)}`;
}

const sizeFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const SIZE_UNITS = ["KB", "MB", "GB", "TB"];

/** A byte count for people: "532 B", "12.4 KB", "3 MB" (units of 1024). */
export function fileSize(bytes) {
  const count = Number(bytes);
  if (!Number.isFinite(count) || count < 0) return "";
  if (count < 1024) return `${count} B`;
  let value = count / 1024;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${sizeFormat.format(value)} ${SIZE_UNITS[unit]}`;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'")\]}>]+$/;

/** A link only for http(s) URLs that parse; anything else stays text. */
export function safeUrl(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

/** Cut sentence punctuation off a URL's end, keeping a ")" that closes a "(" inside it. */
function trimUrl(raw) {
  let url = raw;
  let match;
  while ((match = url.match(TRAILING))) {
    const last = match[0].at(-1);
    const opens = (url.match(/\(/g) || []).length;
    const closes = (url.match(/\)/g) || []).length;
    if (last === ")" && opens >= closes) break;
    url = url.slice(0, -1);
  }
  return url;
}

/**
 * A fragment of text nodes and <a> elements for `text`: http(s) URLs become links
 * that open in a new tab without the opener; nothing is ever parsed as HTML.
 */
export function linkify(text) {
  const fragment = document.createDocumentFragment();
  const source = String(text ?? "");
  let last = 0;
  for (const match of source.matchAll(URL_PATTERN)) {
    const candidate = trimUrl(match[0]);
    const url = safeUrl(candidate);
    if (!url) continue;
    if (match.index > last) fragment.append(document.createTextNode(source.slice(last, match.index)));
    const link = document.createElement("a");
    link.href = url.href;
    link.textContent = candidate;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    fragment.append(link);
    last = match.index + candidate.length;
  }
  if (last < source.length) fragment.append(document.createTextNode(source.slice(last)));
  return fragment;
}

/** "1 member", "3 members". */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}
