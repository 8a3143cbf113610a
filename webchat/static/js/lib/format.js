// How messages read as text: times and days, system notices, previews, counts. Dates
// are formatted in the browser's time zone, in the page language.
import { locale, t, tn } from "./i18n.js";

const formatters = new Map();

/** An Intl formatter of the page language, made once per kind. */
function formatter(Kind, options) {
  const key = `${Kind.name}:${locale()}:${JSON.stringify(options)}`;
  if (!formatters.has(key)) formatters.set(key, new Kind(locale(), options));
  return formatters.get(key);
}

const CLOCK = { hour: "numeric", minute: "2-digit" };
const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;

/** A Date from the contract's ISO 8601 UTC timestamp, or null. */
export function parseTime(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The local calendar day of `date` as "2026-03-06": equal keys, same day for this reader. */
export function dayKey(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function daysBefore(date, now) {
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((midnight(now) - midnight(date)) / (24 * HOUR_MS));
}

/** The clock time: "오후 3:07", "3:07 PM". */
export function clockTime(date) {
  return date ? formatter(Intl.DateTimeFormat, CLOCK).format(date) : "";
}

/** The full local date and time, for a tooltip. */
export function fullTime(date) {
  return date ? formatter(Intl.DateTimeFormat, { dateStyle: "full", timeStyle: "short" }).format(date) : "";
}

/** A day divider's label: "3월 6일 (금)", "Fri, March 6" (with the year when not this one). */
export function dayLabel(date, now = new Date()) {
  const year = date.getFullYear() === now.getFullYear() ? {} : { year: "numeric" };
  return formatter(Intl.DateTimeFormat, { ...year, month: "long", day: "numeric", weekday: "short" }).format(date);
}

/**
 * A room list's time: "지금", "5분 전" within the hour, the clock today, "어제", then the
 * date. Relative ones go stale: the caller formats them again now and then.
 */
export function listTime(date, now = new Date()) {
  if (!date) return "";
  const age = now.getTime() - date.getTime();
  const relative = formatter(Intl.RelativeTimeFormat, { numeric: "auto" });
  if (age < MINUTE_MS) return relative.format(0, "second");
  if (age < HOUR_MS) return relative.format(-Math.floor(age / MINUTE_MS), "minute");
  const days = daysBefore(date, now);
  if (days <= 0) return clockTime(date);
  if (days === 1) return relative.format(-1, "day");
  const year = date.getFullYear() === now.getFullYear() ? {} : { year: "numeric" };
  return formatter(Intl.DateTimeFormat, { ...year, month: "short", day: "numeric" }).format(date);
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

const someone = () => t("Someone");

/** "alice님이 입장했습니다", "bob was removed by alice", ... for a system message's event. */
export function systemText(message) {
  const event = message?.event;
  const user = event?.user?.username ?? someone();
  const by = event?.by?.username;
  switch (event?.type) {
    case "created": return t("{user} created the room", { user });
    case "joined": return t("{user} joined", { user });
    case "left": return t("{user} left", { user });
    case "invited": return by ? t("{by} invited {user}", { by, user }) : t("{user} was invited", { user });
    case "kicked": return by ? t("{user} was removed by {by}", { user, by }) : t("{user} was removed", { user });
    // An operator's announcement (`flask webchat announce`): its text is the body.
    case "announcement": return message.body;
    default: return message?.body || t("Room update");
  }
}

/** A message that was deleted, where it stood. */
export const deletedText = () => t("message deleted");

/** One line for a room list: "alice: hello…", "alice joined", "alice: 보고서.pdf". */
export function previewText(message, max = 80) {
  if (!message) return t("No messages yet");
  if (message.deleted) return deletedText();
  if (message.kind === "system") return truncate(systemText(message), max);
  const sender = message.sender?.username ?? someone();
  const text = message.kind === "file" ? truncate(message.file?.name || t("file"), max) : truncate(message.body, max);
  return t("{sender}: {text}", { sender, text });
}

/** "1 member", "3 members"; "3명". */
export function memberCount(count) {
  return tn("{count} member", "{count} members", count);
}

/** "2 online"; "2명 접속 중". */
export function onlineCount(count) {
  return t("{count} online", { count });
}

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
  return `${formatter(Intl.NumberFormat, { maximumFractionDigits: 1 }).format(value)} ${SIZE_UNITS[unit]}`;
}
