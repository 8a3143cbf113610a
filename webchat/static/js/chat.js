// Chat page: wires the modules of chat/ to the page and to the room's socket events.
//
// chat/timeline.js   the messages by seq, gaps, pending sends (pure state)
// chat/view.js       the message list: render, the reader's place, new-messages button, divider
// chat/sync.js       open_room on each connect, the change feed (after_rev), older pages
// chat/outbox.js     pending sends, one at a time, resent after a reconnect, kept across
//                    reloads (lib/outboxstore.js: IndexedDB)
// chat/reads.js      my read pointer: mark_read for the newest message on screen
// chat/receipts.js   the others' read pointers under messages
// chat/people.js     members, online counts, typing
// chat/edits.js      editing my messages in place, "(edited)" and the edit history
// chat/reactions.js  the reaction bar and the React menu (chat/picker.js: the full picker)
// chat/replies.js    the reply bar above the composer, quotes and the jump to their original
// chat/autocomplete.js the @ list in the composer and the edit box; chat/everyone.js asks
//                    before @room/@here; chat/notifylevel.js the room's notification menu
// lib/tabbadge.js    the tab's title and favicon; lib/desktop.js desktop notifications, sound
// lib/drafts.js      the composer's draft per room, kept in the browser until the send is acked
// lib/connectionbanner.js the banner after 2 s without a connection, with "Retry now"
// chat/composer.js, chat/deletion.js, chat/membership.js, chat/uploads.js: the controls
// chat/sidebar.js    my rooms beside the chat (a drawer on a phone), live
// chat/roving.js     the message list as one Tab stop, arrow keys and the menu key in it
// chat/touchmenu.js  a message's menu on a tap or a long press
import { apiFetch } from "./lib/api.js";
import { announce, dataNumber, h } from "./lib/dom.js";
import { newClientId } from "./lib/clientid.js";
import { createConnectionBanner } from "./lib/connectionbanner.js";
import { createDesktop } from "./lib/desktop.js";
import { browserStorage, createDrafts, debounced } from "./lib/drafts.js";
import { errorText } from "./lib/errors.js";
import { t } from "./lib/i18n.js";
import { openOutboxStore } from "./lib/outboxstore.js";
import { connectChat } from "./lib/socket.js";
import { createTabBadge } from "./lib/tabbadge.js";
import { createAutocomplete } from "./chat/autocomplete.js";
import { createComposer } from "./chat/composer.js";
import { createDeletion } from "./chat/deletion.js";
import { createEdits } from "./chat/edits.js";
import { createMembership } from "./chat/membership.js";
import { createNotifyLevel } from "./chat/notifylevel.js";
import { createOutbox } from "./chat/outbox.js";
import { createPeople } from "./chat/people.js";
import { createReactions } from "./chat/reactions.js";
import { createReads } from "./chat/reads.js";
import { createReceipts } from "./chat/receipts.js";
import { createReplies } from "./chat/replies.js";
import { createRoving } from "./chat/roving.js";
import { createSidebar } from "./chat/sidebar.js";
import { createSync } from "./chat/sync.js";
import { createTimeline } from "./chat/timeline.js";
import { createTouchMenu } from "./chat/touchmenu.js";
import { createUploads } from "./chat/uploads.js";
import { createView } from "./chat/view.js";

const ACK_TIMEOUT_MS = 10000;
const DRAFT_SAVE_MS = 400;
const REMOVED_TEXT = {
  kicked: () => t("You were removed from this room."),
  left: () => t("You left this room."),
  deleted: () => t("This room was deleted."),
};
const STATUS_TEXT = {
  connecting: () => t("Connecting…"),
  connected: () => t("Connected"),
  reconnecting: () => t("Reconnecting…"),
  offline: () => t("Offline"),
};

const byId = (id) => document.getElementById(id);
const root = byId("chat");
const roomId = dataNumber(root, "roomId");
const me = dataNumber(root, "userId");
const roomsUrl = root.dataset.roomsUrl;
const roomUrl = (id) => `${roomsUrl.replace(/\/$/, "")}/${id}`;
const announcer = byId("chat-announcer");
const list = byId("message-list");
const outOfRoom = errorText({ code: "USER_NOT_IN_CHAT_ROOM" });
let closed = false;   // no longer a member: the page is read-only
const names = new Map();   // user id -> username, of the room's members (for who reacted, who is mentioned)
let members = [];          // the room's members now (for the @ autocomplete)
// A URL of one message's, from the page's pattern with "{id}" in it.
const messageUrl = (pattern, id) => pattern.replace("{id}", encodeURIComponent(id));

// The modules reach the socket through these; it connects once they are all made.
const ask = (event, payload) => socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
const connected = () => socket.connected;

/** The seq the page was asked to open at (`?seq=`, a search hit), else null. */
function landingSeq() {
  const seq = Number(new URLSearchParams(location.search).get("seq"));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

// Where the reader was in this room, kept for this tab (view.place()), so that coming
// back to the room puts them there again.
const placeKey = `webchat.place.${me}.${roomId}`;
function savedPlace() {
  try {
    return JSON.parse(sessionStorage.getItem(placeKey) ?? "null");
  } catch {
    return null;
  }
}
let placeTimer = null;
function savePlace() {
  clearTimeout(placeTimer);
  placeTimer = null;
  if (!timeline.started) return;
  try {
    sessionStorage.setItem(placeKey, JSON.stringify(view.place()));
  } catch {
    // No storage (private mode, quota): the room opens at the bottom next time.
  }
}
const savePlaceSoon = () => { if (placeTimer === null) placeTimer = setTimeout(savePlace, 300); };
window.addEventListener("pagehide", savePlace);

let searchHit = landingSeq();   // taken by the first open
let landed = null;              // why the page opens at a window: {kind: "hit"|"unread"|"place", ...}

/**
 * On the first open (sync.js asks): the seq to open at instead of the latest page, or
 * null. A search hit (?seq=); else the first unread message when it lies before the
 * latest page; else, with nothing unread, where I was when I left the room, if that is
 * before the latest page (in it, opened() puts me back there).
 */
function landingOf(ack) {
  const page = ack.messages ?? [];
  const firstLoaded = page.length ? page[0].seq : Infinity;
  const room = ack.room ?? {};
  landed = null;
  if (searchHit !== null) {
    landed = { kind: "hit", seq: searchHit };
    searchHit = null;
  } else if (room.unread_count > 0 && Number.isInteger(room.last_read_seq) && room.last_read_seq + 1 < firstLoaded) {
    landed = { kind: "unread", seq: room.last_read_seq + 1, pointer: room.last_read_message_id };
  } else if (!(room.unread_count > 0)) {
    const place = savedPlace();
    if (place && !place.atBottom && Number.isInteger(place.seq) && place.seq < firstLoaded) landed = { kind: "place", ...place };
  }
  return landed?.seq ?? null;
}

/** The window asked for by landingOf() is on the page (`seq` null: the latest page is instead). */
function landedAt(seq) {
  const why = landed;
  landed = null;
  if (seq === null || !why) {
    view.scrollToBottom();
    if (why?.kind === "hit") announce(announcer, t("That message is no longer here."));
  } else if (why.kind === "hit") {
    view.markHit(seq);
    if (!view.reveal(seq)) view.scrollToBottom();
  } else if (why.kind === "unread") {
    view.placeDivider(why.pointer);
  } else if (!view.restorePlace(why)) {
    view.scrollToBottom();
  }
  reads.noteSeen();
}

const timeline = createTimeline({ roomId, me });
const drafts = createDrafts({ storage: browserStorage(), me });
const saveDraft = debounced(() => drafts.save(roomId, composer.text()), DRAFT_SAVE_MS);
const view = createView({
  el: { scroller: byId("message-scroller"), list, newMessages: byId("new-messages"), firstUnread: byId("first-unread"), announcer },
  timeline,
  me,
  myName: root.dataset.username,
  nameOf: (userId) => names.get(userId),
  decorate: (slots, message) => {
    receipts.fillSlot(slots.receipts, message);
    edits.fillEdited(slots.edited, message);
    replies.fillQuote(slots.quote, message);
    edits.fillBody(slots.body, message);
    reactions.fillBar(slots.reactions, message);
    if (closed) return;
    // The message's menu: reply, react, edit, delete.
    replies.offer(slots.tools, message);
    reactions.offer(slots.tools, message);
    edits.offer(slots.tools, message);
    deletion.offer(slots.tools, message);
  },
  pendingQuote: (entry) => replies.pendingQuote(entry),
  typeInto: byId("composer-input"),
  thumbnailBox: { width: dataNumber(root, "thumbnailWidth"), height: dataNumber(root, "thumbnailHeight") },
  onLook: () => {
    reads.noteSeenSoon();
    savePlaceSoon();
  },
  onNearTop: () => sync.loadOlder(),
  onNearBottom: () => sync.loadNewer(),
  onJump: () => {
    sync.toLatest();
    reads.noteSeen();
    composer.focus();
  },
});
const receipts = createReceipts({
  me,
  messagesDesc: () => timeline.descending(),
  slotOf: (seq) => view.slot(seq, "receipts"),
});
const sync = createSync({
  connected,
  ask,
  roomId,
  timeline,
  messagesUrl: root.dataset.messagesUrl,
  changesUrl: root.dataset.changesUrl,
  loginUrl: root.dataset.loginUrl,
  pageSize: dataNumber(root, "pageSize"),
  catchUpPage: dataNumber(root, "pageMax"),
  changesPage: dataNumber(root, "changesMax"),
  history: { loadOlder: byId("load-older"), status: byId("history-status") },
  unfilled: () => view.unfilled(),
  show,
  onOpened: opened,
  onReset: () => view.reset(),
  onRemoved: () => close(outOfRoom),
  landing: landingOf,
  onLanded: landedAt,
});
const reads = createReads({ roomId, timeline, ask, isOpen: sync.isOpen, newestVisible: view.newestVisible });
const outbox = createOutbox({
  roomId,
  me,
  store: openOutboxStore({ userId: me, roomId }),
  timeline,
  view,
  ask,
  sync,
  onStored: (message) => {
    drafts.acked(roomId, message.client_id);
    show(timeline.merge([message]));
  },
  onDiscard: (entry) => {
    drafts.forget(roomId, entry.clientId);
    composer.focus();
  },
  onDeclined: (entry) => {
    drafts.forget(roomId, entry.clientId);
    composer.restore(entry.body);
  },
});
const deletion = createDeletion({
  me,
  windowMs: dataNumber(root, "deleteWindow") * 1000,
  ask,
  onDeleted: deleted,
  slotOf: (messageId, name) => view.slot(timeline.byId(messageId)?.seq, name),
  keepingPosition: view.keepingPosition,
  list,
  announcer,
  // The room's owner and site admins delete anyone's messages (membership is made below).
  moderates: () => root.dataset.isAdmin === "true" || membership.isOwner(),
});
const edits = createEdits({
  me,
  maxLength: dataNumber(root, "maxLength"),
  ask,
  timeline,
  onSaved: stored,
  redraw: (messageId) => { const message = timeline.byId(messageId); if (message) view.redraw(message); },
  node: (messageId) => view.node(timeline.byId(messageId)?.seq),
  historyUrl: (messageId) => messageUrl(root.dataset.historyUrl, messageId),
  onDone: () => composer.focus(),
  announcer,
  onEditor: (input) => autocomplete.attach(input),
});
const reactions = createReactions({
  me,
  ask,
  timeline,
  nameOf: (userId) => names.get(userId),
  onChanged: stored,
  slotOf: (messageId) => view.slot(timeline.byId(messageId)?.seq, "reactions"),
  keepingPosition: view.keepingPosition,
});
const replies = createReplies({
  el: { bar: byId("reply-bar") },
  timeline,
  reveal: (seq) => view.reveal(seq),
  loadAround: (seq) => sync.loadAround(seq),
  focusComposer: () => composer.focus(),
  slotOf: (messageId) => view.slot(timeline.byId(messageId)?.seq, "quote"),
  keepingPosition: view.keepingPosition,
});
const membership = createMembership({
  roomType: root.dataset.roomType,
  me,
  roomName: root.dataset.displayName,
  usernameMax: dataNumber(root, "usernameMax"),
  membersUrl: root.dataset.membersUrl,
  bansUrl: root.dataset.bansUrl,
  leaveUrl: root.dataset.leaveUrl,
  usersUrl: root.dataset.usersUrl,
  roomsUrl,
  status: byId("member-status"),
  announcer,
});
const people = createPeople({
  el: {
    memberList: byId("member-list"),
    memberCount: byId("member-count"),
    onlineCount: byId("online-count"),
    memberSummary: byId("member-summary-counts"),
    typing: byId("typing-indicator"),
  },
  me,
  memberTotal: dataNumber(root, "memberCount"),
  memberActions: (slot, member) => membership.memberActions(slot, member),
  emitTyping: () => socket.emit("typing", { room_id: roomId }, () => {}),
});
const autocomplete = createAutocomplete({
  members: () => members,
  me,
  maxLength: dataNumber(root, "usernameMax"),
});
const badge = createTabBadge();
const sidebar = createSidebar({
  el: {
    nav: byId("room-sidebar"),
    list: byId("sidebar-rooms"),
    empty: byId("sidebar-empty"),
    template: byId("sidebar-item-template"),
    toggle: byId("sidebar-toggle"),
    backdrop: byId("sidebar-backdrop"),
  },
  typeLabels: JSON.parse(root.dataset.typeLabels),
  roomUrl,
  currentId: roomId,
  drawerQuery: "(max-width: 999px)",
});
const desktop = createDesktop({ openRoomId: roomId, roomName: badge.nameOf, openRoom: (id) => location.assign(roomUrl(id)) });
const notifyLevel = createNotifyLevel({
  url: root.dataset.notifyUrl,
  level: root.dataset.notify,
  desktop,
  onChange: (level) => badge.notify(roomId, level),
});
const composer = createComposer({
  el: {
    composer: byId("composer"),
    input: byId("composer-input"),
    send: byId("send-button"),
    count: byId("composer-count"),
    counter: byId("composer-counter"),
    error: byId("composer-error"),
  },
  maxLength: dataNumber(root, "maxLength"),
  onSend: (body) => {
    sync.toLatest();   // a message goes at the bottom of the latest ones, not of a window far back
    const clientId = newClientId();
    saveDraft.cancel();
    drafts.sent(roomId, clientId, body);   // kept until the server acks it
    outbox.add(body, clientId, replies.target());
    replies.sent();
  },
  onInput: () => { if (composer.hasText() && sync.isOpen() && !closed) people.iAmTyping(); },
  onChange: () => saveDraft.soon(),
  onEditLast: () => !closed && edits.editLast(),
  onEscape: () => replies.cancel(),
});
const uploads = createUploads({
  url: root.dataset.uploadUrl,
  maxBytes: dataNumber(root, "maxUpload"),
  list: byId("upload-list"),
  dropZone: document.querySelector(".chat-main"),
  pasteTarget: byId("composer-input"),
  newClientId,
  canUpload: () => !closed,
  takeReplyTo: () => {
    const target = replies.target();
    replies.sent();
    return target?.id ?? null;
  },
  announce: (text) => announce(announcer, text),
  onUploaded: (message) => {
    if (timeline.hasNewer) {
      sync.toLatest();   // the latest page brings it
      return;
    }
    show(timeline.merge([message]));
    view.scrollToBottom();
  },
});

/**
 * Show what a timeline merge changed, keeping the reader's place; the new messages
 * also tell who stopped typing and where read pointers are. `live` ones are spoken.
 */
function show(change, { live = false } = {}) {
  if (!change.added.length && !change.changed.length && !change.settled.length) return;
  outbox.settled(change.settled);
  const pinned = view.keepingPosition(() => {
    view.show(change);
    for (const { id, sender } of change.added) {
      if (!sender) continue;
      people.stopTyping(sender.id);
      // Sending moves the sender's read pointer to the message (no receipt says so).
      if (sender.id === me) reads.notePointer(id);
      else receipts.update(sender.id, id);
    }
    if (change.added.length) receipts.refresh();
  });
  view.arrived(change, { pinned, live });
  if (pinned) reads.noteSeen();
}

/** A stored copy from an ack (an edit, a reaction) or a `message_updated` event, in place. */
function stored(message) {
  show(timeline.apply([message]));
}

/** A message was deleted (by me here, or a `message_deleted` event): its tombstone. */
function deleted(messageId) {
  const tombstone = timeline.markDeleted(messageId);
  if (tombstone) view.redraw(tombstone);
}

/** A members list (open_room, `members`), or only the counts. */
function showMembers(roster, memberCount, onlineCount) {
  if (Array.isArray(roster)) {
    for (const member of roster) names.set(member.id, member.username);
    members = roster.map(({ id, username }) => ({ id, username }));
    membership.setMembers(roster);
    reads.notePointer(roster.find((m) => m.id === me)?.last_read_message_id);
    view.keepingPosition(() => receipts.setMembers(roster));
  }
  people.showMembers(roster, memberCount, onlineCount);
}

/**
 * open_room answered: the room as it stands, its latest page, and what was waiting.
 * `landing`: the page opens at a message further back instead (sync.js loads it);
 * `jumped`: the reader asked for the latest messages, so no unread divider to land on.
 */
function opened(ack, { landing = false, jumped = false } = {}) {
  showMembers(ack.members, ack.room?.member_count, ack.room?.online_count);
  badge.setRoom(ack.room);
  // The other rooms' counts, once this one is open (it comes first): events may have been missed.
  loadRooms();
  const page = ack.messages ?? [];
  const first = !timeline.started;
  if (!landing) show(timeline.merge(page), { live: !first });
  // Once the outbox has put back what it kept (lib/outboxstore.js): those are held, not lost.
  if (first) outbox.ready.then(() => recoverDrafts(page));
  if (first && !landing) {
    timeline.start(page.length ? page[0].seq : 1, ack.has_more);
    sync.updateHistory();   // before the view is placed: the history line above takes room
    view.scrollToBottom();
    if (jumped) {
      // The reader asked for the latest: no divider to land on.
    } else if (ack.room?.unread_count > 0) {
      view.placeDivider(ack.room?.last_read_message_id);
    } else {
      const place = savedPlace();
      if (place && !place.atBottom) view.restorePlace(place);
    }
  }
  reads.notePointer(ack.room?.last_read_message_id);
  outbox.refresh();
  outbox.flush();
  reads.noteSeen();
  reads.flush();
}

/**
 * What this room's draft still holds as pending sends, once the room is open: a send the
 * room has (its ack was lost) is done, one the outbox holds stays, and one that went with
 * a closed page comes back into the composer. `page`: the latest messages (open_room).
 */
function recoverDrafts(page) {
  saveDraft.flush();
  const mine = (message) => message.sender?.id === me && message.client_id;
  const inRoom = new Set([...page, ...timeline.descending()].filter(mine).map((message) => message.client_id));
  const held = new Set(timeline.pending().map((entry) => entry.clientId));
  const text = drafts.recover(roomId, { stored: (id) => inRoom.has(id), held: (id) => held.has(id) });
  if (text !== null) composer.setText(text);
}

const banner = createConnectionBanner({ refocus: () => composer.focus() });
root.insertBefore(banner.element, byId("chat-notice"));

/** A status from lib/socket.js: the pill, the banner, and what waits for the connection. */
function showStatus(state, info) {
  banner.update(state, info);
  const status = byId("connection-status");
  status.dataset.state = state;
  status.querySelector(".connection-text").textContent = STATUS_TEXT[state]?.() ?? state;
  root.dataset.connection = state;
  outbox.refresh();
}

/** The room is closed to this user (removed, left elsewhere, deleted): read-only. */
function close(text) {
  if (closed) return;
  closed = true;
  root.classList.add("is-removed");
  // Who is in the room and online is no longer mine to know: no counts kept from before.
  for (const id of ["member-count", "online-count", "member-panel"]) byId(id).hidden = true;
  const notice = byId("chat-notice");
  notice.replaceChildren(h("span", { text }), " ", h("a", { attrs: { href: roomsUrl }, text: t("Back to your rooms") }));
  notice.hidden = false;
  deletion.disable();
  edits.disable();
  reactions.disable();
  replies.disable();
  outbox.disable(outOfRoom);
  reads.disable();
  sync.disable();
  membership.disable();
  uploads.disable();
  notifyLevel.disable();
  composer.disable();
}

const forThisRoom = (handler) => (data = {}) => { if (Number(data.room_id) === roomId) handler(data); };

/** Every room's counts, for the tab's title. */
async function loadRooms() {
  try {
    const since = badge.mark();
    const listSince = sidebar.mark();
    const { rooms } = await apiFetch(root.dataset.apiRoomsUrl);
    badge.replaceAll(rooms, since);
    sidebar.replaceAll(rooms, listSince);
  } catch {
    // The title waits for the next connect; the room itself works without it.
  }
}

const socketEvents = {
  connect: () => sync.connected(),
  disconnect: () => {
    sync.disconnected();
    people.stopAll();
    people.presenceUnknown();
    outbox.refresh();
  },
  new_message: ({ message } = {}) => {
    if (!message || Number(message.room_id) !== roomId) return;
    // My message is stored (sent from here or another tab of mine): its draft is done.
    if (message.sender?.id === me && message.client_id) drafts.acked(roomId, message.client_id);
    const revBefore = timeline.lastRev;
    show(timeline.merge([message]), { live: true });
    sync.noteArrival(revBefore);
  },
  // An edit, a delete, a reaction, a quote that followed its original: the message as it is now.
  message_updated: ({ message } = {}) => {
    if (!message || Number(message.room_id) !== roomId) return;
    const revBefore = timeline.lastRev;
    stored(message);
    sync.noteArrival(revBefore);
  },
  message_deleted: forThisRoom(({ message_id: messageId }) => deleted(messageId)),
  members: forThisRoom((data) => showMembers(data.members, data.member_count, data.online_count)),
  typing: forThisRoom(({ user }) => people.typing(user)),
  read_receipt: forThisRoom(({ user_id: userId, last_read_message_id: pointer }) => {
    if (Number(userId) === me) reads.notePointer(pointer);
    else receipts.update(userId, pointer);
  }),
  room_removed: (data = {}) => {
    badge.remove(data.room_id);
    sidebar.remove(data.room_id);
    if (Number(data.room_id) === roomId) close(REMOVED_TEXT[data.reason]?.() ?? outOfRoom);
  },
  // Every room of mine: the title's count, and notifications to close once read anywhere.
  unread: (data = {}) => {
    badge.unread(data);
    desktop.unread(data);
    sidebar.unread(data);
  },
  room_added: ({ room } = {}) => {
    badge.setRoom(room);
    sidebar.add(room);
  },
  notification: (data) => desktop.notification(data),
  notify_changed: ({ room_id: id, notify } = {}) => {
    badge.notify(id, notify);
    sidebar.notify(id, notify);
    if (Number(id) === roomId) notifyLevel.changed(notify);
  },
};
const socket = connectChat({ tokenUrl: root.dataset.tokenUrl, loginUrl: root.dataset.loginUrl, onStatus: showStatus });
for (const [event, handler] of Object.entries(socketEvents)) socket.on(event, handler);

// On a narrow screen the member list starts folded under the chat.
const memberPanel = byId("member-panel");
const narrow = window.matchMedia("(max-width: 760px)");
const fitMembers = () => { memberPanel.open = !narrow.matches; };
narrow.addEventListener("change", fitMembers);
fitMembers();

createTouchMenu({ list });
createRoving({ list, scroller: byId("message-scroller") });

byId("room-actions").append(notifyLevel.element);
membership.roomActions(byId("room-actions"));
autocomplete.attach(byId("composer-input"));
uploads.composerTools(byId("composer-tools"));

// The draft comes back, and is kept when the page is hidden or left (a room switch).
const draft = drafts.text(roomId);
if (draft) composer.setText(draft);
addEventListener("pagehide", () => saveDraft.flush());
document.addEventListener("visibilitychange", () => { if (document.hidden) saveDraft.flush(); });

// Opening a room puts the cursor in the composer, unless the primary pointer is coarse
// (a touch screen) or the screen is narrow: there it would pop the keyboard up over the
// messages. Not if something else has the focus already.
const touchy = window.matchMedia("(pointer: coarse)").matches || narrow.matches;
if (!touchy && (document.activeElement === document.body || !document.activeElement)) composer.focus();
