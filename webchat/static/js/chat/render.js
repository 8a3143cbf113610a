// How one message looks in the chat page's list, stored or pending, and how it is
// spoken to a screen reader. Text only: never HTML from user data.
import { h, srOnly } from "../lib/dom.js";
import { fullTime, linkify, parseTime, shortTime, systemText, truncate } from "../lib/format.js";
import { fileNode } from "./attachments.js";

const GROUP_MS = 5 * 60 * 1000;  // one sender's messages this close together share a header

function timeNode(iso, fallback) {
  const date = parseTime(iso) ?? fallback ?? null;
  return h("time", {
    className: "msg-time",
    text: shortTime(date),
    attrs: { datetime: date ? date.toISOString() : null, title: fullTime(date) },
  });
}

function senderNode(sender, me) {
  return h("span", { className: "msg-sender" }, sender?.username ?? "Unknown", sender?.id === me ? srOnly(" (you)") : null);
}

/**
 * Fill `li` with a stored message. `decorate(slots, message)` fills its `receipts` and
 * `actions` slots; `attachment` holds fileNode()'s options (attachments.js).
 */
export function fillMessage(li, message, { me, decorate, attachment }) {
  li.className = [
    "msg", `kind-${message.kind}`, message.sender?.id === me && "is-own", message.deleted && "is-deleted",
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
  if (message.deleted) body = h("p", { className: "msg-body is-deleted", text: "message deleted" });
  else if (message.kind === "file") body = h("div", { className: "msg-body" }, fileNode(message.file, attachment));
  else body = h("div", { className: "msg-body" }, linkify(message.body));
  const slots = {
    receipts: h("span", { className: "msg-slot msg-receipts", dataset: { slot: "receipts" } }),
    actions: h("span", { className: "msg-slot msg-actions", dataset: { slot: "actions" } }),
  };
  decorate(slots, message);
  li.replaceChildren(h("div", { className: "msg-bubble" },
    h("p", { className: "msg-head" }, senderNode(message.sender, me), " ", timeNode(message.created_at)),
    body,
    h("div", { className: "msg-extras" }, slots.receipts, slots.actions)));
  return li;
}

/**
 * Fill `li` with a message of mine still being sent. `status`: {text, failed, retry,
 * discard}; a failed one offers Retry and Discard.
 */
export function fillPending(li, entry, { me, myName, status }) {
  li.className = `msg kind-text is-own is-pending${status.failed ? " is-failed" : ""}`;
  li.dataset.clientId = entry.clientId;
  li.dataset.senderId = me;
  li.dataset.time = entry.createdAt.getTime();
  const line = status.failed
    ? h("p", { className: "msg-status is-error", attrs: { role: "alert" } },
      h("span", { text: status.text }), " ",
      h("button", { className: "link-button", attrs: { type: "button" }, text: "Retry", on: { click: status.retry } }),
      " ",
      h("button", { className: "link-button", attrs: { type: "button" }, text: "Discard", on: { click: status.discard } }))
    : h("p", { className: "msg-status", text: status.text });
  li.replaceChildren(h("div", { className: "msg-bubble" },
    h("p", { className: "msg-head" }, senderNode({ id: me, username: myName }, me), " ", timeNode(null, entry.createdAt)),
    h("div", { className: "msg-body" }, linkify(entry.body)),
    line));
  return li;
}

/** Hide the header of a message that follows its sender's previous one closely. */
export function regroup(li) {
  if (!li) return;
  const prev = li.previousElementSibling;
  const sender = li.classList.contains("kind-system") ? "" : li.dataset.senderId;
  const continued = Boolean(sender && prev && !prev.classList.contains("kind-system")
    && prev.dataset.senderId === sender
    && Math.abs(Number(li.dataset.time) - Number(prev.dataset.time)) < GROUP_MS);
  li.classList.toggle("is-continued", continued);
}

/** What a screen reader says for a message that just arrived. */
export function spoken(message) {
  if (message.kind === "system") return systemText(message);
  if (message.kind === "file") return `${message.sender?.username ?? "Someone"} sent a file: ${message.file?.name ?? "file"}`;
  return `${message.sender?.username ?? "Someone"}: ${truncate(message.body, 200)}`;
}
