// Chat page: the live message stream of one room, the composer, members and typing.
//
// Delivery: stored messages live in a Map by seq and render in seq order; a message
// being sent is "pending" under its client_id until the server's ack (or its own
// broadcast) brings the stored copy, which replaces it. After every (re)connect the
// room is opened again and the history after the last contiguous seq is fetched, and
// pending messages are resent with the same client_id (the server is idempotent on it).
//
// Read state: the newest message on screen is marked read (`mark_read`, throttled,
// forward only) while the tab is visible and focused; the old pointer puts a "New
// messages" divider in the first page; other members' pointers become receipts.
// Features with their own module: chat/membership.js (invite, leave, kick),
// chat/uploads.js (files in), chat/attachments.js (files shown), chat/receipts.js.
import { ApiError, apiFetch, goToLogin, serverNow } from "./lib/api.js";
import { confirmDialog } from "./lib/dialog.js";
import { announce, dataNumber, h, srOnly } from "./lib/dom.js";
import { errorText } from "./lib/errors.js";
import {
  charCount, fullTime, linkify, parseTime, plural, shortTime, systemText, truncate,
} from "./lib/format.js";
import { connectChat } from "./lib/socket.js";
import { fileNode } from "./chat/attachments.js";
import { createMembership } from "./chat/membership.js";
import { createReceipts } from "./chat/receipts.js";
import { createUploads } from "./chat/uploads.js";

const root = document.getElementById("chat");
const ROOM_ID = dataNumber(root, "roomId");
const ME = dataNumber(root, "userId");
const MY_NAME = root.dataset.username;
// The server's limits, as the page gives them.
const MAX_LENGTH = dataNumber(root, "maxLength");
const DELETE_WINDOW_MS = dataNumber(root, "deleteWindow") * 1000;
const MAX_UPLOAD_BYTES = dataNumber(root, "maxUpload");
const PAGE_SIZE = dataNumber(root, "pageSize");      // older history, one scroll-to-top at a time
const CATCH_UP_PAGE = dataNumber(root, "pageMax");   // the catch-up takes the largest pages
const MESSAGES_URL = root.dataset.messagesUrl;
const LOGIN_URL = root.dataset.loginUrl;
const ROOMS_URL = root.dataset.roomsUrl;
const ROOM_TYPE = root.dataset.roomType;
const ACK_TIMEOUT_MS = 10000;
const TYPING_EMIT_MS = 2000;     // emit `typing` at most this often
const TYPING_SHOW_MS = 3000;     // show "x is typing…" this long after their last `typing`
const BOTTOM_SLACK_PX = 48;      // this close to the bottom counts as "at the bottom"
const OLDER_TRIGGER_PX = 120;    // this close to the top loads older messages
const GROUP_MS = 5 * 60 * 1000;  // one sender's messages this close together share a header
const MARK_READ_MS = 1000;       // emit `mark_read` at most this often
const DELETE_MARGIN_MS = 2000;   // offer delete a little less long than the server allows
const NO_ANSWER = { code: "NO_ANSWER" };                 // an ack that did not come in time
const OUT_OF_ROOM = { code: "USER_NOT_IN_CHAT_ROOM" };

const el = {
  scroller: document.getElementById("message-scroller"),
  list: document.getElementById("message-list"),
  loadOlder: document.getElementById("load-older"),
  historyStatus: document.getElementById("history-status"),
  newMessages: document.getElementById("new-messages"),
  typing: document.getElementById("typing-indicator"),
  composer: document.getElementById("composer"),
  input: document.getElementById("composer-input"),
  send: document.getElementById("send-button"),
  count: document.getElementById("composer-count"),
  counter: document.getElementById("composer-counter"),
  error: document.getElementById("composer-error"),
  tools: document.getElementById("composer-tools"),
  roomActions: document.getElementById("room-actions"),
  memberPanel: document.getElementById("member-panel"),
  memberList: document.getElementById("member-list"),
  memberCount: document.getElementById("member-count"),
  onlineCount: document.getElementById("online-count"),
  memberSummary: document.getElementById("member-summary-counts"),
  memberStatus: document.getElementById("member-status"),
  uploads: document.getElementById("upload-list"),
  main: document.querySelector(".chat-main"),
  status: document.getElementById("connection-status"),
  notice: document.getElementById("chat-notice"),
  announcer: document.getElementById("chat-announcer"),
};

// ---------------------------------------------------------------------------
// Where the features plug in; the DOM slots they fill are marked data-slot="..." in
// room.html and below. The feature objects are made further down, once the socket is.
// ---------------------------------------------------------------------------
const hooks = {
  /** Read state: the newest stored message on screen. */
  messageSeen(message) { markRead(message); },
  /** Read receipts: a `read_receipt` event ({room_id, user_id, last_read_message_id}). */
  readReceipt(data) {
    if (Number(data.user_id) === ME) notePointer(data.last_read_message_id);
    else receipts.update(data.user_id, data.last_read_message_id);
  },
  /** Read receipts: fill a message's [data-slot=receipts]. */
  receipts(slot, message) { receipts.fillSlot(slot, message); },
  /** Delete own message within the window: fill a message's [data-slot=actions]. */
  messageActions(slot, message) { deleteAction(slot, message); },
  /** Invite and leave: fill the header's [data-slot=room-actions]. */
  roomActions(slot) { membership.roomActions(slot); },
  /** Kick (owner only): fill a member's [data-slot=member-actions]. */
  memberActions(slot, member) { membership.memberActions(slot, member); },
  /** File upload: fill the composer's [data-slot=composer-tools]. */
  composerTools(slot) { uploads.composerTools(slot); },
};

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------
const messages = new Map();   // seq -> stored message
const nodes = new Map();      // seq -> its <li>
const seqById = new Map();    // message id -> seq
const pending = new Map();    // client_id -> {clientId, body, createdAt, state, error, node}
const seqs = [];              // the seqs of `messages`, ascending
let lowSeq = null;            // lowest seq loaded; every seq from lowSeq to topSeq is here
let topSeq = 0;
let hasOlder = false;
let initialized = false;      // the first open_room has answered
let opened = false;           // open_room answered on the current connection
let connection = 0;           // counts connections, to drop answers meant for an old one
let removed = false;          // no longer a member: read-only
let stickToBottom = true;
let unseen = 0;               // new messages below the view
let lastTypingSent = 0;
const typers = new Map();     // user id -> {username, timer}
let myPointer = 0;            // my read pointer (a message id) as far as this page knows
let divider = null;           // the "New messages" <li>, placed once, on the first open

// ---------------------------------------------------------------------------
// Rendering messages (text only: never HTML from user data)
// ---------------------------------------------------------------------------
function timeNode(iso, fallback) {
  const date = parseTime(iso) ?? fallback ?? null;
  return h("time", {
    className: "msg-time",
    text: shortTime(date),
    attrs: { datetime: date ? date.toISOString() : null, title: fullTime(date) },
  });
}

function senderNode(sender) {
  const own = sender?.id === ME;
  return h("span", { className: "msg-sender" }, sender?.username ?? "Unknown", own ? srOnly(" (you)") : null);
}

/** A thumbnail that finishes loading must not leave a pinned view short of the bottom. */
function imageLoaded() {
  if (stickToBottom) scrollToBottom();
}

function extrasNode(message) {
  const receipts = h("span", { className: "msg-slot msg-receipts", dataset: { slot: "receipts" } });
  const actions = h("span", { className: "msg-slot msg-actions", dataset: { slot: "actions" } });
  hooks.receipts(receipts, message);
  hooks.messageActions(actions, message);
  return h("div", { className: "msg-extras" }, receipts, actions);
}

function fillMessage(li, message) {
  const own = message.sender?.id === ME;
  li.className = [
    "msg", `kind-${message.kind}`, own && "is-own", message.deleted && "is-deleted",
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
  else if (message.kind === "file") body = h("div", { className: "msg-body" }, fileNode(message.file, { onLoad: imageLoaded }));
  else body = h("div", { className: "msg-body" }, linkify(message.body));
  li.replaceChildren(h("div", { className: "msg-bubble" },
    h("p", { className: "msg-head" }, senderNode(message.sender), " ", timeNode(message.created_at)),
    body,
    extrasNode(message)));
  return li;
}

const STATE_TEXT = {
  sending: "Sending…",
  waiting: "Waiting for the connection…",
};

function fillPending(entry) {
  const li = entry.node;
  li.className = `msg kind-text is-own is-pending${entry.state === "failed" ? " is-failed" : ""}`;
  li.dataset.clientId = entry.clientId;
  li.dataset.senderId = ME;
  li.dataset.time = entry.createdAt.getTime();
  let status;
  if (entry.state === "failed") {
    status = h("p", { className: "msg-status is-error", attrs: { role: "alert" } },
      h("span", { text: `Not sent: ${entry.error}` }), " ",
      h("button", { className: "link-button", attrs: { type: "button" }, text: "Retry", on: { click: () => retry(entry) } }),
      " ",
      h("button", { className: "link-button", attrs: { type: "button" }, text: "Discard", on: { click: () => discard(entry) } }));
  } else {
    const waiting = entry.state === "queued" && !(socket.connected && opened);
    const text = waiting ? STATE_TEXT.waiting : (entry.state === "queued" && entry.note) || STATE_TEXT.sending;
    status = h("p", { className: "msg-status", text });
  }
  li.replaceChildren(h("div", { className: "msg-bubble" },
    h("p", { className: "msg-head" }, senderNode({ id: ME, username: MY_NAME }), " ", timeNode(null, entry.createdAt)),
    h("div", { className: "msg-body" }, linkify(entry.body)),
    status));
  if (li.isConnected) regroup(li);
}

/** Hide the header of a message that follows its sender's previous one closely. */
function regroup(li) {
  if (!li) return;
  const prev = li.previousElementSibling;
  const sender = li.classList.contains("kind-system") ? "" : li.dataset.senderId;
  const continued = Boolean(sender && prev && !prev.classList.contains("kind-system")
    && prev.dataset.senderId === sender
    && Math.abs(Number(li.dataset.time) - Number(prev.dataset.time)) < GROUP_MS);
  li.classList.toggle("is-continued", continued);
}

function placed(li) {
  regroup(li);
  regroup(li.nextElementSibling);
}

function removeNode(li) {
  const next = li.nextElementSibling;
  li.remove();
  regroup(next);
}

/** Index of the first seq in `seqs` greater than `seq`. */
function upperBound(seq) {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seqs[mid] <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Put a stored message's node in seq order, always above the pending ones. */
function insertNode(seq, node) {
  const index = upperBound(seq);
  seqs.splice(index, 0, seq);
  nodes.set(seq, node);
  const next = index + 1 < seqs.length ? nodes.get(seqs[index + 1]) : firstPendingNode();
  el.list.insertBefore(node, next ?? null);
  placed(node);
}

function firstPendingNode() {
  for (const entry of pending.values()) return entry.node;
  return null;
}

// ---------------------------------------------------------------------------
// Merging: every source (ack, event, history page) goes through mergeMessages
// ---------------------------------------------------------------------------
function advanceTop() {
  if (lowSeq === null) return;
  while (messages.has(topSeq + 1)) topSeq += 1;
}

const maxSeq = () => (seqs.length ? seqs[seqs.length - 1] : 0);

function settlePending(message) {
  if (!message.client_id || message.sender?.id !== ME) return;
  const entry = pending.get(message.client_id);
  if (!entry) return;
  removeNode(entry.node);
  pending.delete(message.client_id);
}

/** Add or update one stored message; true if it was new. */
function mergeOne(message) {
  if (!message || Number(message.room_id) !== ROOM_ID || !Number.isInteger(message.seq)) return false;
  const knownSeq = messages.has(message.seq) ? message.seq : seqById.get(message.id);
  settlePending(message);
  if (knownSeq !== undefined) {
    const known = messages.get(knownSeq);
    if (known.deleted !== message.deleted || known.body !== message.body) {
      messages.set(knownSeq, message);
      regroup(fillMessage(nodes.get(knownSeq), message));
    }
    return false;
  }
  messages.set(message.seq, message);
  seqById.set(message.id, message.seq);
  insertNode(message.seq, fillMessage(h("li"), message));
  advanceTop();
  if (message.sender) stopTyping(message.sender.id);
  // Sending moves the sender's read pointer to the message (no receipt says so).
  if (message.sender?.id === ME) notePointer(message.id);
  else if (message.sender) receipts.update(message.sender.id, message.id);
  return true;
}

/**
 * Merge a batch, keeping the view where the reader is: pinned to the bottom if it
 * was there, otherwise anchored on the first visible message. `live` messages from
 * others are announced to screen readers.
 */
function mergeMessages(batch, { live = false } = {}) {
  if (!Array.isArray(batch) || !batch.length) return [];
  const previousMax = maxSeq();
  const added = [];
  const pinned = keepingPosition(() => {
    for (const message of batch) if (mergeOne(message)) added.push(message);
    if (added.length) {
      positionDivider();
      receipts.refresh();
    }
  });
  const fresh = added.filter((m) => m.seq > previousMax && m.sender?.id !== ME);
  if (!pinned && initialized && fresh.length) showNewMessages(fresh.length);
  // One announcement per batch: a live region only reliably speaks its latest text.
  if (live && fresh.length === 1) announce(el.announcer, spoken(fresh[0]));
  else if (live && fresh.length > 1) announce(el.announcer, `${fresh.length} new messages`);
  if (pinned) noteSeen();
  return added;
}

function spoken(message) {
  if (message.kind === "system") return systemText(message);
  if (message.kind === "file") return `${message.sender?.username ?? "Someone"} sent a file: ${message.file?.name ?? "file"}`;
  return `${message.sender?.username ?? "Someone"}: ${truncate(message.body, 200)}`;
}

function applyDeletion(messageId) {
  const seq = seqById.get(Number(messageId));
  if (seq === undefined) return;
  const message = { ...messages.get(seq), deleted: true, body: "", file: null };
  messages.set(seq, message);
  keepingPosition(() => regroup(fillMessage(nodes.get(seq), message)));
}

// ---------------------------------------------------------------------------
// Scrolling: pinned to the bottom, "new messages" button, older history on top
// ---------------------------------------------------------------------------
function atBottom() {
  const s = el.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight <= BOTTOM_SLACK_PX;
}

function scrollToBottom() {
  el.scroller.scrollTop = el.scroller.scrollHeight;
  stickToBottom = true;
  hideNewMessages();
}

function firstVisibleNode() {
  const top = el.scroller.getBoundingClientRect().top;
  for (const node of el.list.children) if (node.getBoundingClientRect().bottom > top) return node;
  return null;
}

/** Run `mutate`, then restore the reader's place; returns whether it was pinned. */
function keepingPosition(mutate) {
  const pinned = stickToBottom || atBottom();
  const anchor = pinned ? null : firstVisibleNode();
  const before = anchor ? anchor.getBoundingClientRect().top : 0;
  mutate();
  if (pinned) scrollToBottom();
  else if (anchor?.isConnected) el.scroller.scrollTop += anchor.getBoundingClientRect().top - before;
  return pinned;
}

function showNewMessages(count) {
  unseen += count;
  el.newMessages.hidden = false;
  el.newMessages.firstChild.textContent = `${unseen === 1 ? "1 new message" : `${unseen} new messages`} `;
}

function hideNewMessages() {
  unseen = 0;
  el.newMessages.hidden = true;
}

/** The newest stored message with its node on screen, or null. */
function newestVisible() {
  const box = el.scroller.getBoundingClientRect();
  for (let i = seqs.length - 1; i >= 0; i -= 1) {
    const rect = nodes.get(seqs[i]).getBoundingClientRect();
    if (rect.bottom <= box.top) return null;   // this one and all older are above the view
    if (rect.top < box.bottom && rect.height > 0) return messages.get(seqs[i]);
  }
  return null;
}

/** The reader may have seen something new: mark the newest message on screen read. */
function noteSeen() {
  if (!initialized || removed || document.visibilityState !== "visible" || !document.hasFocus()) return;
  const message = newestVisible();
  if (message) hooks.messageSeen(message);
}

let seenFrame = 0;
function noteSeenSoon() {
  if (!seenFrame) seenFrame = requestAnimationFrame(() => { seenFrame = 0; noteSeen(); });
}

// ---------------------------------------------------------------------------
// Read pointer: `mark_read` forward only, at most once a second
// ---------------------------------------------------------------------------
let readWanted = 0;
let readTimer = null;
let readInFlight = false;
let lastReadSentAt = 0;

function notePointer(id) {
  const value = Number(id);
  if (Number.isFinite(value) && value > myPointer) myPointer = value;
}

function markRead(message) {
  if (!message || message.id <= myPointer || message.id <= readWanted) return;
  readWanted = message.id;
  flushRead();
}

function flushRead() {
  if (readTimer || readInFlight || readWanted <= myPointer) return;
  if (!opened || !socket.connected || removed) return;   // the next open or look tries again
  const wait = lastReadSentAt + MARK_READ_MS - Date.now();
  if (wait > 0) {
    readTimer = setTimeout(() => { readTimer = null; flushRead(); }, wait);
    return;
  }
  const id = readWanted;
  readInFlight = true;
  lastReadSentAt = Date.now();
  socket.timeout(ACK_TIMEOUT_MS).emit("mark_read", { room_id: ROOM_ID, message_id: id }, (err, ack) => {
    readInFlight = false;
    if (!err && ack?.ok) notePointer(ack.last_read_message_id ?? id);
    // A failure is not retried in a loop: the next message seen asks again.
    else if (readWanted === id) readWanted = myPointer;
    flushRead();
  });
}

// ---------------------------------------------------------------------------
// "New messages" divider at the pointer the room was opened with
// ---------------------------------------------------------------------------
let dividerPointer = 0;

/** Put the divider before the first loaded message after the old pointer. */
function positionDivider() {
  if (!divider) return;
  const firstUnread = seqs.find((seq) => messages.get(seq).id > dividerPointer);
  const node = firstUnread === undefined ? null : nodes.get(firstUnread);
  if (!node || divider.nextElementSibling === node) return;
  const after = divider.nextElementSibling;
  el.list.insertBefore(divider, node);
  regroup(node);
  regroup(after);
}

/** On the first open: a divider if others wrote after `pointer`; true if placed. */
function placeDivider(pointer) {
  dividerPointer = Number(pointer) || 0;
  if (!dividerPointer) return false;
  const unread = seqs.map((seq) => messages.get(seq))
    .filter((m) => m.id > dividerPointer && m.kind !== "system" && !m.deleted && m.sender?.id !== ME);
  if (!unread.length) return false;
  divider = h("li", { className: "unread-divider", attrs: { role: "separator", "aria-label": "New messages" } },
    h("span", { className: "unread-divider-label", text: "New messages" }));
  el.list.append(divider);
  positionDivider();
  return true;
}

/** Scroll the divider to the top of the view; offer the rest with the button. */
function revealDivider() {
  const box = el.scroller.getBoundingClientRect();
  el.scroller.scrollTop += divider.getBoundingClientRect().top - box.top - 8;
  stickToBottom = atBottom();
  if (stickToBottom) return;
  const newest = newestVisible();
  const below = seqs.map((seq) => messages.get(seq)).filter((m) => m.id > dividerPointer && (!newest || m.seq > newest.seq)
    && m.kind !== "system" && !m.deleted && m.sender?.id !== ME).length;
  if (below) showNewMessages(below);
}

// ---------------------------------------------------------------------------
// Deleting one's own message within the window
// ---------------------------------------------------------------------------
function windowText() {
  const seconds = Math.round(DELETE_WINDOW_MS / 1000);
  if (seconds % 60) return plural(seconds, "second");
  return plural(seconds / 60, "minute");
}

function deleteAction(slot, message) {
  if (removed || message.sender?.id !== ME || message.kind === "system" || message.deleted) return;
  const created = parseTime(message.created_at)?.getTime();
  if (!created) return;
  const left = created + DELETE_WINDOW_MS - DELETE_MARGIN_MS - serverNow();
  if (left <= 0) return;
  const button = h("button", { className: "link-button msg-delete", attrs: { type: "button" } },
    "Delete", srOnly(" this message"));
  button.addEventListener("click", () => deleteMessage(message, button));
  slot.append(button);
  // The window closes: the offer goes (the node may have been redrawn since; then it is gone already).
  setTimeout(() => { if (button.isConnected) keepingPosition(() => button.remove()); }, left);
}

async function deleteMessage(message, button) {
  const ok = await confirmDialog({
    title: "Delete this message?",
    text: "Everyone in the room will see “message deleted” in its place. This cannot be undone.",
    confirm: "Delete",
    danger: true,
  });
  if (!ok || removed || !button.isConnected) return;
  button.disabled = true;
  socket.timeout(ACK_TIMEOUT_MS).emit("delete_message", { message_id: message.id }, (err, ack) => {
    if (!err && ack?.ok) {
      applyDeletion(message.id);
      announce(el.announcer, "Message deleted.");
      return;
    }
    const code = ack?.error?.code;
    const text = errorText(err ? NO_ANSWER : ack?.error, { action: "delete", window: windowText() });
    const slot = nodes.get(seqById.get(message.id))?.querySelector("[data-slot=actions]");
    if (!slot) return;
    keepingPosition(() => {
      slot.querySelector(".msg-error")?.remove();
      const current = slot.querySelector(".msg-delete");
      if (code === "MESSAGE_DELETE_TIME_EXPIRED" || code === "FORBIDDEN" || code === "MESSAGE_NOT_FOUND") current?.remove();
      else if (current) current.disabled = false;
      slot.append(h("span", { className: "msg-error", attrs: { role: "alert" }, text }));
    });
  });
}

function updateHistoryControls() {
  el.loadOlder.hidden = !(initialized && hasOlder);
  if (initialized && !hasOlder && !el.historyStatus.textContent) {
    el.historyStatus.textContent = "This is the beginning of the room.";
  }
}

let loadingOlder = false;

async function loadOlder() {
  if (loadingOlder || !hasOlder || lowSeq === null) return;
  loadingOlder = true;
  el.loadOlder.disabled = true;
  el.historyStatus.textContent = "Loading earlier messages…";
  try {
    const data = await apiFetch(`${MESSAGES_URL}?before_seq=${lowSeq}&limit=${PAGE_SIZE}`);
    const page = data.messages ?? [];
    mergeMessages(page);
    if (page.length) lowSeq = Math.min(lowSeq, page[0].seq);
    hasOlder = Boolean(data.has_more) && page.length > 0;
    el.historyStatus.textContent = "";
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) goToLogin(LOGIN_URL);
    el.historyStatus.textContent = "Could not load earlier messages.";
  } finally {
    loadingOlder = false;
    el.loadOlder.disabled = false;
    updateHistoryControls();
  }
  // Still nothing to scroll: keep filling the view.
  if (hasOlder && el.scroller.scrollHeight <= el.scroller.clientHeight) loadOlder();
}

// ---------------------------------------------------------------------------
// Catching up: after a reconnect, or when a seq jumps
// ---------------------------------------------------------------------------
let catchingUp = null;
let catchUpAgain = false;
let catchUpRetry = null;

/** Fetch everything after the last contiguous seq, page by page, and merge it. */
function catchUp() {
  if (!initialized) return Promise.resolve();
  if (catchingUp) {
    catchUpAgain = true;
    return catchingUp;
  }
  clearTimeout(catchUpRetry);
  catchingUp = (async () => {
    try {
      do {
        catchUpAgain = false;
        let cursor = topSeq;
        for (;;) {
          const data = await apiFetch(`${MESSAGES_URL}?after_seq=${cursor}&limit=${CATCH_UP_PAGE}`);
          const page = data.messages ?? [];
          mergeMessages(page, { live: true });
          if (!data.has_more || !page.length) break;
          cursor = Math.max(topSeq, page[page.length - 1].seq);
        }
      } while (catchUpAgain);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) goToLogin(LOGIN_URL);
      else if (error instanceof ApiError && error.status === 403) showRemoved(errorText(OUT_OF_ROOM));
      // Otherwise the next reconnect or seq jump tries again; a gap we know of, sooner.
      else if (topSeq < maxSeq()) catchUpRetry = setTimeout(catchUp, 3000);
    } finally {
      catchingUp = null;
    }
  })();
  return catchingUp;
}

// ---------------------------------------------------------------------------
// Sending: pending messages, one in flight at a time so they keep their order
// ---------------------------------------------------------------------------
function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http on a LAN have no randomUUID; build a v4 UUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let inFlight = null;
let pausedUntil = 0;              // after RATE_LIMITED, the outbox waits

function setPendingState(entry, state, error = null, note = null) {
  entry.state = state;
  entry.error = error;
  entry.note = note;
  keepingPosition(() => fillPending(entry));
}

/** Send the oldest queued message, if the room is open; the ack sends the next. */
function flushOutbox() {
  if (inFlight || !opened || !socket.connected || removed || Date.now() < pausedUntil) return;
  const entry = [...pending.values()].find((e) => e.state === "queued");
  if (!entry) return;
  inFlight = entry;
  const sentOn = connection;
  setPendingState(entry, "sending");
  socket.timeout(ACK_TIMEOUT_MS).emit(
    "send_message",
    { room_id: ROOM_ID, body: entry.body, client_id: entry.clientId },
    (err, ack) => {
      inFlight = null;
      if (pending.get(entry.clientId) === entry) {
        if (err) {
          // Lost with the connection: resent, same client_id, once the room is open again.
          if (!socket.connected || sentOn !== connection) setPendingState(entry, "queued");
          else setPendingState(entry, "failed", errorText(NO_ANSWER));
        } else if (ack?.ok) {
          mergeMessages([ack.message]);
          if (pending.get(entry.clientId) === entry) dropPending(entry);
        } else if (ack?.error?.code === "RATE_LIMITED") {
          // Not lost: it goes again, first in line, once the window allows.
          const seconds = Math.max(1, Number(ack.error.retry_after) || 2);
          setPendingState(entry, "queued", null, errorText(ack.error, { action: "send", seconds }));
          pausedUntil = Date.now() + seconds * 1000;
          setTimeout(flushOutbox, seconds * 1000 + 50);
          return;
        } else {
          setPendingState(entry, "failed", errorText(ack?.error, { action: "send" }));
        }
      }
      flushOutbox();
    },
  );
}

function dropPending(entry) {
  keepingPosition(() => removeNode(entry.node));
  pending.delete(entry.clientId);
}

function retry(entry) {
  setPendingState(entry, "queued");
  flushOutbox();
}

function discard(entry) {
  dropPending(entry);
  el.input.focus();
}

function refreshPendingLabels() {
  for (const entry of pending.values()) if (entry.state === "queued") fillPending(entry);
}

// ---------------------------------------------------------------------------
// Composer
// ---------------------------------------------------------------------------
let wasOver = false;

function showComposerError(text) {
  el.error.textContent = text;
  el.input.setAttribute("aria-invalid", text ? "true" : "false");
}

function updateComposer() {
  const count = charCount(el.input.value.trim());
  const over = count > MAX_LENGTH;
  el.count.textContent = String(count);
  el.counter.classList.toggle("is-near", count > MAX_LENGTH * 0.9 && !over);
  el.counter.classList.toggle("is-over", over);
  el.send.disabled = removed || count === 0 || over;
  if (over !== wasOver) {
    showComposerError(over ? `Too long: ${count - MAX_LENGTH} characters over the ${MAX_LENGTH} limit.` : "");
    wasOver = over;
  }
  if (!CSS.supports("field-sizing", "content")) {
    el.input.style.height = "auto";
    el.input.style.height = `${Math.min(el.input.scrollHeight + 2, 200)}px`;
  }
}

function submit() {
  if (removed) return;
  const body = el.input.value.trim();
  const count = charCount(body);
  if (count === 0) {
    showComposerError("Write something first.");
    return;
  }
  if (count > MAX_LENGTH) {
    showComposerError(`Too long: ${count - MAX_LENGTH} characters over the ${MAX_LENGTH} limit.`);
    return;
  }
  const entry = { clientId: newClientId(), body, createdAt: new Date(), state: "queued", error: null, node: h("li") };
  pending.set(entry.clientId, entry);
  fillPending(entry);
  el.list.append(entry.node);
  placed(entry.node);
  scrollToBottom();
  el.input.value = "";
  wasOver = false;
  showComposerError("");
  updateComposer();
  lastTypingSent = 0;
  flushOutbox();
}

function sendTyping() {
  if (!el.input.value.trim() || !opened || !socket.connected || removed) return;
  const now = Date.now();
  if (now - lastTypingSent < TYPING_EMIT_MS) return;
  lastTypingSent = now;
  socket.emit("typing", { room_id: ROOM_ID }, () => {});
}

el.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
  el.input.focus();
});

el.input.addEventListener("keydown", (event) => {
  // While an IME composes (Korean, Japanese, ...), Enter confirms the syllable.
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  submit();
});

el.input.addEventListener("input", () => {
  if (el.error.textContent && !wasOver) showComposerError("");
  updateComposer();
  sendTyping();
});

// ---------------------------------------------------------------------------
// Typing indicator, members, status
// ---------------------------------------------------------------------------
function renderTyping() {
  const names = [...typers.values()].map((t) => t.username);
  let text = "";
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = `${names.length} people are typing…`;
  el.typing.textContent = text;
}

function stopTyping(userId) {
  const typer = typers.get(userId);
  if (!typer) return;
  clearTimeout(typer.timer);
  typers.delete(userId);
  renderTyping();
}

function onTyping({ room_id: roomId, user } = {}) {
  if (Number(roomId) !== ROOM_ID || !user || user.id === ME) return;
  clearTimeout(typers.get(user.id)?.timer);
  typers.set(user.id, { username: user.username, timer: setTimeout(() => stopTyping(user.id), TYPING_SHOW_MS) });
  renderTyping();
}

function memberNode(member) {
  const actions = h("span", { className: "member-actions", dataset: { slot: "member-actions" } });
  hooks.memberActions(actions, member);
  return h("li", { className: `member${member.online ? " is-online" : ""}`, dataset: { userId: member.id } },
    h("span", { className: "presence-dot", attrs: { "aria-hidden": "true" } }),
    h("span", { className: "member-name", attrs: { title: member.username }, text: member.username }),
    member.id === ME ? h("span", { className: "member-tag", text: "you" }) : null,
    member.role === "owner" ? h("span", { className: "member-tag is-owner", text: "owner" }) : null,
    srOnly(member.online ? ", online" : ", offline"),
    actions);
}

function applyCounts(memberCount, onlineCount) {
  if (!Number.isFinite(memberCount)) return;
  el.memberCount.textContent = plural(memberCount, "member");
  el.onlineCount.textContent = `${onlineCount ?? 0} online`;
  el.memberSummary.textContent = `${memberCount} · ${onlineCount ?? 0} online`;
}

/** A `members` event or the members of an open_room ack. */
function applyMembers(members, memberCount, onlineCount) {
  if (Array.isArray(members)) {
    membership.setMembers(members);
    notePointer(members.find((m) => m.id === ME)?.last_read_message_id);
    keepingPosition(() => receipts.setMembers(members));
    // Online first; otherwise the server's order (owner, then by join time).
    const sorted = members.map((m, i) => [m, i]).sort(([a, i], [b, j]) => (b.online - a.online) || (i - j));
    el.memberList.replaceChildren(...sorted.map(([m]) => memberNode(m)));
    memberCount ??= members.length;
    onlineCount ??= members.filter((m) => m.online).length;
  }
  applyCounts(memberCount, onlineCount);
}

const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

function showStatus(state) {
  el.status.dataset.state = state;
  el.status.querySelector(".connection-text").textContent = STATUS_TEXT[state] ?? state;
  root.dataset.connection = state;
  refreshPendingLabels();
}

/** The room is closed to this user (removed, left elsewhere, deleted): read-only. */
function showRemoved(text) {
  if (removed) return;
  removed = true;
  root.classList.add("is-removed");
  el.notice.replaceChildren(h("span", { text }), " ", h("a", { attrs: { href: ROOMS_URL }, text: "Back to your rooms" }));
  el.notice.hidden = false;
  el.input.disabled = true;
  el.input.placeholder = "You can no longer write in this room";
  for (const button of el.list.querySelectorAll(".msg-delete")) button.remove();
  for (const entry of pending.values()) if (entry.state !== "failed") setPendingState(entry, "failed", errorText(OUT_OF_ROOM));
  membership.disable();
  uploads.disable();
  updateComposer();
}

const REMOVED_TEXT = {
  kicked: "You were removed from this room.",
  left: "You left this room.",
  deleted: "This room was deleted.",
};

// ---------------------------------------------------------------------------
// The socket
// ---------------------------------------------------------------------------
const socket = connectChat({ tokenUrl: root.dataset.tokenUrl, loginUrl: LOGIN_URL, onStatus: showStatus });

function openRoom() {
  const mine = connection;
  socket.timeout(ACK_TIMEOUT_MS).emit("open_room", { room_id: ROOM_ID }, (err, ack) => {
    if (mine !== connection || !socket.connected) return;
    if (err || !ack?.ok) {
      const code = ack?.error?.code;
      if (code === "USER_NOT_IN_CHAT_ROOM" || code === "ROOM_NOT_FOUND") {
        showRemoved(errorText(OUT_OF_ROOM));
        return;
      }
      setTimeout(() => { if (mine === connection && socket.connected) openRoom(); }, 2000);
      return;
    }
    opened = true;
    applyMembers(ack.members, ack.room?.member_count, ack.room?.online_count);
    const page = ack.messages ?? [];
    mergeMessages(page, { live: initialized });
    if (!initialized) {
      initialized = true;
      lowSeq = page.length ? page[0].seq : 1;
      topSeq = lowSeq - 1;
      advanceTop();
      hasOlder = Boolean(ack.has_more);
      scrollToBottom();
      if (placeDivider(ack.room?.last_read_message_id)) revealDivider();
      updateHistoryControls();
    }
    notePointer(ack.room?.last_read_message_id);
    // Always, not only after a reconnect: it also covers a message committed between
    // the server reading this page and adding the socket to the room's stream.
    catchUp();
    refreshPendingLabels();
    flushOutbox();
    noteSeen();
    flushRead();
  });
}

socket.on("connect", () => {
  connection += 1;
  opened = false;
  if (!removed) openRoom();
});

socket.on("disconnect", () => {
  opened = false;
  for (const id of [...typers.keys()]) stopTyping(id);
  refreshPendingLabels();
});

socket.on("new_message", ({ message } = {}) => {
  if (!message || Number(message.room_id) !== ROOM_ID) return;
  mergeMessages([message], { live: true });
  if (initialized && topSeq < maxSeq()) catchUp();
});

socket.on("message_deleted", ({ room_id: roomId, message_id: messageId } = {}) => {
  if (Number(roomId) === ROOM_ID) applyDeletion(messageId);
});

socket.on("members", (data = {}) => {
  if (Number(data.room_id) !== ROOM_ID) return;
  applyMembers(data.members, data.member_count, data.online_count);
});

socket.on("typing", onTyping);

socket.on("read_receipt", (data = {}) => {
  if (Number(data.room_id) === ROOM_ID) hooks.readReceipt(data);
});

socket.on("room_removed", ({ room_id: roomId, reason } = {}) => {
  if (Number(roomId) === ROOM_ID) showRemoved(REMOVED_TEXT[reason] ?? errorText(OUT_OF_ROOM));
});

// ---------------------------------------------------------------------------
// Page wiring
// ---------------------------------------------------------------------------
let lastScrollTop = 0;
el.scroller.addEventListener("scroll", () => {
  const top = el.scroller.scrollTop;
  // Only the reader scrolling up unpins the view. A scroll event that is dispatched
  // after the view got shorter (the composer grew) but before the ResizeObserver has
  // scrolled down again must not: scrollTop did not move, the bottom did.
  if (top < lastScrollTop - 1 || !stickToBottom) stickToBottom = atBottom();
  lastScrollTop = top;
  if (stickToBottom) hideNewMessages();
  noteSeenSoon();
  if (el.scroller.scrollTop < OLDER_TRIGGER_PX) loadOlder();
}, { passive: true });

new ResizeObserver(() => { if (stickToBottom) scrollToBottom(); }).observe(el.scroller);

el.newMessages.addEventListener("click", () => {
  scrollToBottom();
  noteSeen();
  el.input.focus();
});

el.loadOlder.addEventListener("click", loadOlder);

document.addEventListener("visibilitychange", noteSeen);
window.addEventListener("focus", noteSeen);

// On a narrow screen the member list starts folded under the chat.
const narrow = window.matchMedia("(max-width: 760px)");
const fitMembers = () => { el.memberPanel.open = !narrow.matches; };
narrow.addEventListener("change", fitMembers);
fitMembers();

const membership = createMembership({
  roomType: ROOM_TYPE,
  me: ME,
  roomName: root.dataset.displayName,
  usernameMax: dataNumber(root, "usernameMax"),
  membersUrl: root.dataset.membersUrl,
  leaveUrl: root.dataset.leaveUrl,
  usersUrl: root.dataset.usersUrl,
  roomsUrl: ROOMS_URL,
  status: el.memberStatus,
  announcer: el.announcer,
});
const receipts = createReceipts({
  me: ME,
  messagesDesc: () => seqs.slice().reverse().map((seq) => messages.get(seq)),
  slotOf: (seq) => nodes.get(seq)?.querySelector("[data-slot=receipts]") ?? null,
});
const uploads = createUploads({
  url: root.dataset.uploadUrl,
  maxBytes: MAX_UPLOAD_BYTES,
  list: el.uploads,
  dropZone: el.main,
  pasteTarget: el.input,
  newClientId,
  canUpload: () => !removed,
  announce: (text) => announce(el.announcer, text),
  onUploaded: (message) => {
    mergeMessages([message]);
    scrollToBottom();
  },
});

hooks.roomActions(el.roomActions, { id: ROOM_ID, type: ROOM_TYPE, owner_id: Number(root.dataset.ownerId) });
hooks.composerTools(el.tools);
updateComposer();
