// How one message looks in the chat page's list, stored or pending, and how it is
// spoken to a screen reader. A stored text's body is the server's sanitised `html`
// (lib/richtext.js); everything else is text: never HTML from user data.
import { h, srOnly } from "../lib/dom.js";
import { clockTime, dayKey, dayLabel, deletedText, fullTime, parseTime, systemText, truncate } from "../lib/format.js";
import { t } from "../lib/i18n.js";
import { mentionPieces, mentionsMe, nameKey } from "../lib/mentions.js";
import { sanitisedFragment, splitText } from "../lib/richtext.js";
import { fileNode } from "./attachments.js";

const GROUP_MS = 5 * 60 * 1000;  // one sender's messages this close together share a header

/** The clock time alone ("오후 3:07"): the day divider above says which day. */
function timeNode(iso) {
  const date = parseTime(iso);
  return h("time", {
    className: "msg-time",
    text: clockTime(date),
    attrs: { datetime: date ? date.toISOString() : null, title: fullTime(date) },
  });
}

function senderNode(sender, me) {
  return h("span", { className: "msg-sender" }, sender?.username ?? t("Unknown"), sender?.id === me ? srOnly(t(" (you)")) : null,
    // A deactivated account's messages stay under its name, marked.
    sender?.deactivated ? h("span", { className: "msg-deactivated", text: t(" (deactivated)") }) : null);
}

/** The slots of a message that the controls fill (decorate), each a [data-slot=<name>]. */
function slot(name, className, tag = "span") {
  return h(tag, { className: `msg-slot ${className}`, dataset: { slot: name } });
}

/**
 * A text message's body: the server's formatted `html`, with the people it mentions
 * highlighted in its text (not in code or links): `.mention`, `.is-me` when it alerts
 * me (my name, or @room / @here from someone else). `nameOf(id)` is a member's
 * username: a mention of someone the page does not know stays text.
 */
export function bodyNodes(message, { me, nameOf = () => null }) {
  const fragment = sanitisedFragment(message.html);
  const ids = message.mentions ?? [];
  if (!ids.length && !message.mention_all) return fragment;
  const known = new Map();
  for (const id of ids) {
    const name = nameOf(id);
    if (name) known.set(nameKey(name), id);
  }
  const forMe = message.sender?.id !== me;
  return splitText(fragment, (text) => mentionPieces(text, known, message.mention_all), (piece) => {
    const mine = piece.all ? forMe : piece.userId === me;
    return h("span", {
      className: `mention${mine ? " is-me" : ""}${piece.all ? " is-everyone" : ""}`,
      dataset: piece.all ? { mentionAll: piece.all } : { userId: piece.userId },
      text: piece.mention,
    });
  });
}

/**
 * Fill `li` with a stored message. `decorate(slots, message)` fills its slots: `edited`
 * (at the foot), `quote` (above the body), `body` (holding the body: an editor may take
 * its place), `reactions` (below it), `receipts` and `actions` (at the foot) and `tools`
 * (the message's menu); `attachment` holds fileNode()'s options (attachments.js);
 * `nameOf(id)` names members (bodyNodes). A message that alerts me is `.is-mention`.
 */
export function fillMessage(li, message, { me, decorate, attachment, nameOf }) {
  // A highlight or an open menu outlives a redraw.
  const kept = ["is-highlighted", "is-hit", "is-active"].filter((name) => li.classList.contains(name));
  li.className = [
    "msg", `kind-${message.kind}`, message.sender?.id === me && "is-own", message.deleted && "is-deleted",
    message.reply_to && "is-reply", message.kind === "text" && mentionsMe(message, me) && "is-mention", ...kept,
  ].filter(Boolean).join(" ");
  li.dataset.seq = message.seq;
  li.dataset.id = message.id;
  li.dataset.senderId = message.sender?.id ?? "";
  li.dataset.time = parseTime(message.created_at)?.getTime() ?? "";
  if (message.client_id) li.dataset.clientId = message.client_id;

  if (message.kind === "system") {
    li.replaceChildren(h("p", { className: "system-line" },
      h("span", { className: "system-text", text: systemText(message) }), " ", timeNode(message.created_at)));
    return li;
  }
  let body;
  if (message.deleted) {
    const text = message.deleted_by === "moderator" ? t("removed by a moderator") : deletedText();
    body = h("p", { className: "msg-body is-deleted", text });
  }
  else if (message.kind === "file") body = h("div", { className: "msg-body" }, fileNode(message.file, attachment));
  else body = h("div", { className: "msg-body is-formatted" }, bodyNodes(message, { me, nameOf }));
  const slots = {
    edited: slot("edited", "msg-edited-slot"),
    quote: slot("quote", "msg-quote-slot", "div"),
    body: h("div", { className: "msg-main", dataset: { slot: "body" } }, body),
    reactions: slot("reactions", "msg-reactions", "div"),
    receipts: slot("receipts", "msg-receipts"),
    actions: slot("actions", "msg-actions"),
    tools: slot("tools", "msg-tools", "div"),
  };
  decorate(slots, message);
  li.replaceChildren(h("div", { className: "msg-bubble" },
    h("p", { className: "msg-head" }, senderNode(message.sender, me), " ", timeNode(message.created_at)),
    slots.quote,
    slots.body,
    slots.reactions,
    // "(edited)" at the foot: a message that follows its sender's shows no header.
    h("div", { className: "msg-extras" }, slots.edited, slots.receipts, slots.actions),
    slots.tools));
  return li;
}

/**
 * Fill `li` with a message of mine still being sent: no time yet, since the server gives
 * it one when it is stored. `status`: {text, failed, retry, discard}; a failed one offers
 * Retry (when it may be sent again) and Discard. `quote(entry)`: the quote above a reply.
 */
export function fillPending(li, entry, { me, myName, status, quote = () => null }) {
  li.className = `msg kind-text is-own is-pending${status.failed ? " is-failed" : ""}`;
  li.dataset.clientId = entry.clientId;
  li.dataset.senderId = me;
  li.dataset.time = entry.createdAt.getTime();
  const line = status.failed
    ? h("p", { className: "msg-status is-error", attrs: { role: "alert" } },
      h("span", { text: status.text }), " ",
      status.retry ? h("button", { className: "link-button", attrs: { type: "button" }, text: t("Retry"), on: { click: status.retry } }) : null,
      status.retry ? " " : null,
      h("button", { className: "link-button", attrs: { type: "button" }, text: t("Discard"), on: { click: status.discard } }))
    : h("p", { className: "msg-status", text: status.text });
  li.replaceChildren(h("div", { className: "msg-bubble" },
    h("p", { className: "msg-head" }, senderNode({ id: me, username: myName }, me)),
    quote(entry),
    // Not stored yet, so no html: its text as typed.
    h("div", { className: "msg-body", text: entry.body }),
    line));
  return li;
}

/** The message node before `li`, past the unread divider. */
function previousMessage(li) {
  let node = li.previousElementSibling;
  while (node && !node.classList.contains("msg")) node = node.previousElementSibling;
  return node;
}

/** A message's data-time as a Date, or null. */
function timeOf(li) {
  const time = Number(li?.dataset.time);
  return time ? new Date(time) : null;
}

/**
 * Give `li` the day divider ("3월 6일 (금)") when it is the first message of its day in
 * the reader's time zone, and take it away when it no longer is.
 */
function placeDay(li, date) {
  let divider = li.querySelector(":scope > .day-divider");
  if (!date) {
    divider?.remove();
    return;
  }
  if (!divider) {
    divider = h("p", { className: "day-divider", attrs: { role: "separator" } }, h("time"));
    li.prepend(divider);
  }
  const label = dayLabel(date);
  const time = divider.firstChild;
  if (time.textContent !== label) time.textContent = label;
  time.dateTime = dayKey(date);
  divider.setAttribute("aria-label", label);
}

/**
 * Fit `li` to the message before it: a day divider when the local day changes, and its
 * header hidden when it follows its sender's previous one closely on the same day.
 */
export function regroup(li) {
  if (!li?.classList.contains("msg")) return;
  const date = timeOf(li);
  const before = previousMessage(li);
  const newDay = Boolean(date) && (!before || !timeOf(before) || dayKey(timeOf(before)) !== dayKey(date));
  placeDay(li, newDay ? date : null);
  const prev = li.previousElementSibling;
  const sender = li.classList.contains("kind-system") ? "" : li.dataset.senderId;
  const continued = Boolean(!newDay && sender && prev && !prev.classList.contains("kind-system")
    && prev.dataset.senderId === sender
    && Math.abs(Number(li.dataset.time) - Number(prev.dataset.time)) < GROUP_MS);
  li.classList.toggle("is-continued", continued);
}

/** What a screen reader says for a message that just arrived. */
export function spoken(message) {
  if (message.kind === "system") return systemText(message);
  const sender = message.sender?.username ?? t("Someone");
  if (message.kind === "file") return t("{sender} sent a file: {name}", { sender, name: message.file?.name ?? t("file") });
  return t("{sender}: {text}", { sender, text: truncate(message.body, 200) });
}
