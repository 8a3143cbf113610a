// Room list page: live unread badges (grey) and mention badges (red), muted rooms greyed,
// previews, rooms added and removed without a reload, the tab's title and favicon
// (lib/tabbadge.js), desktop notifications and their controls (lib/desktop.js), the
// banner after a while without a connection (lib/connectionbanner.js), and starting a
// direct message from a user search.
import { ApiError, apiFetch, csrfToken } from "./lib/api.js";
import { announce, h } from "./lib/dom.js";
import { errorText } from "./lib/errors.js";
import { badgeText } from "./lib/attention.js";
import { createConnectionBanner } from "./lib/connectionbanner.js";
import { createDesktop } from "./lib/desktop.js";
import { fullTime, listTime, memberCount, parseTime, previewText } from "./lib/format.js";
import { t, tn } from "./lib/i18n.js";
import { connectChat } from "./lib/socket.js";
import { createTabBadge } from "./lib/tabbadge.js";
import { userSearch } from "./lib/usersearch.js";

const page = document.getElementById("rooms-page");
const myRooms = document.getElementById("my-rooms");
const emptyNote = document.getElementById("my-rooms-empty");
const publicRooms = document.getElementById("public-rooms");
const announcer = document.getElementById("rooms-announcer");
const itemTemplate = document.getElementById("room-item-template");
const roomsUrl = page.dataset.roomsUrl.replace(/\/$/, "");
const typeLabels = JSON.parse(page.dataset.typeLabels);

const roomUrl = (id) => `${roomsUrl}/${id}`;
const findMine = (id) => myRooms.querySelector(`.room-item[data-room-id="${Number(id)}"]`);
const findPublic = (id) => publicRooms?.querySelector(`.public-room[data-room-id="${Number(id)}"]`);

const RETIME_MS = 30 * 1000;   // how often "5분 전" moves on

function setTime(node, iso) {
  const date = parseTime(iso);
  if (date) {
    node.dateTime = iso;
    node.textContent = listTime(date);
    node.title = fullTime(date);
  } else {
    node.removeAttribute("datetime");
    node.textContent = "";
    node.title = "";
  }
}

function setUnread(item, count) {
  const badge = item.querySelector(".unread-badge");
  badge.querySelector(".unread-count").textContent = badgeText(count);
  badge.querySelector(".unread-spoken").textContent = tn("{count} unread message", "{count} unread messages", count);
  badge.hidden = !count;
  item.classList.toggle("has-unread", count > 0);
}

/** The red badge: unread messages that mention me (muted rooms too). */
function setMentions(item, count) {
  const badge = item.querySelector(".mention-badge");
  badge.querySelector(".mention-count").textContent = `@${badgeText(count)}`;
  badge.querySelector(".mention-spoken").textContent = tn("{count} mention", "{count} mentions", count);
  badge.hidden = !count;
  item.classList.toggle("has-mention", count > 0);
}

/** A muted room is greyed, its unread messages not bold; its mentions still show. */
function setNotify(item, notify) {
  item.dataset.notify = notify ?? "";
  item.classList.toggle("is-muted", notify === "mute");
  item.querySelector(".room-muted").hidden = notify !== "mute";
}

function setMemberCount(item, count) {
  item.querySelector(".room-members").textContent = memberCount(count);
}

function setLastMessage(item, message) {
  const preview = item.querySelector(".room-preview");
  preview.textContent = previewText(message);
  preview.classList.toggle("is-notice", Boolean(message && (message.kind === "system" || message.deleted)));
  setTime(item.querySelector(".room-time"), message?.created_at);
}

/** A room added live: the template's room_item markup, cloned and filled. */
function roomItem(room) {
  const item = itemTemplate.content.firstElementChild.cloneNode(true);
  item.dataset.roomId = room.id;
  item.querySelector(".room-link").href = roomUrl(room.id);
  item.querySelector(".room-name").textContent = room.display_name;
  const type = item.querySelector(".room-type");
  type.className = `room-type type-${room.type}`;
  type.textContent = typeLabels[room.type];
  setMemberCount(item, room.member_count);
  setUnread(item, room.unread_count);
  setMentions(item, room.mention_count ?? 0);
  setNotify(item, room.notify);
  setLastMessage(item, room.last_message);
  return item;
}

function updateEmpty() {
  emptyNote.hidden = myRooms.children.length > 0;
}

/** Show a public room as joined ("Open") or not ("Join" form). */
function setPublicJoined(id, joined) {
  const entry = findPublic(id);
  if (!entry || (entry.dataset.joined === "true") === joined) return;
  const name = entry.querySelector(".room-name").textContent;
  const action = entry.querySelector(".public-action");
  entry.dataset.joined = String(joined);
  if (joined) {
    action.replaceChildren(h("a", { className: "button", attrs: { href: roomUrl(id), "aria-label": t("Open {name}", { name }) }, text: t("Open") }));
  } else {
    action.replaceChildren(
      h("form", { className: "inline-form", attrs: { method: "post", action: `${roomUrl(id)}/join` } },
        h("input", { attrs: { type: "hidden", name: "csrf_token", value: csrfToken() } }),
        h("button", { className: "button primary", attrs: { type: "submit", "aria-label": t("Join {name}", { name }) }, text: t("Join") })));
  }
}

function onUnread(data = {}) {
  const { room_id: roomId, unread_count: count, mention_count: mentions, last_message: message } = data;
  badge.unread(data);
  desktop.unread(data);
  const item = findMine(roomId);
  if (!item) return;
  setUnread(item, count ?? 0);
  setMentions(item, mentions ?? 0);
  if (message !== undefined) setLastMessage(item, message);
  // Most recent activity first, as the server orders the list.
  if (message && myRooms.firstElementChild !== item) myRooms.prepend(item);
}

function onRoomAdded({ room } = {}) {
  if (!room || findMine(room.id)) return;
  badge.setRoom(room);
  myRooms.prepend(roomItem(room));
  updateEmpty();
  setPublicJoined(room.id, true);
  announce(announcer, t("You were added to {room}.", { room: room.display_name }));
}

const REMOVED = {
  kicked: (room) => t("You were removed from {room}.", { room }),
  left: (room) => t("You left {room}.", { room }),
  deleted: (room) => t("{room} was deleted.", { room }),
};
const NO_LONGER_IN = (room) => t("You are no longer in {room}.", { room });

function onRoomRemoved({ room_id: roomId, reason } = {}) {
  badge.remove(roomId);
  const item = findMine(roomId);
  if (!item) return;
  const name = item.querySelector(".room-name").textContent;
  item.remove();
  updateEmpty();
  if (reason === "deleted") findPublic(roomId)?.remove();
  else setPublicJoined(roomId, false);
  announce(announcer, (REMOVED[reason] ?? NO_LONGER_IN)(name));
}

/** After (re)connecting, events may have been missed: take the list from the API. */
async function resync() {
  let rooms;
  const since = badge.mark();
  try {
    ({ rooms } = await apiFetch(page.dataset.apiRoomsUrl));
  } catch {
    return;
  }
  badge.replaceAll(rooms, since);
  const items = rooms.map((room) => {
    const item = findMine(room.id);
    if (!item) return roomItem(room);
    setUnread(item, room.unread_count);
    setMentions(item, room.mention_count ?? 0);
    setNotify(item, room.notify);
    setLastMessage(item, room.last_message);
    setMemberCount(item, room.member_count);
    return item;
  });
  const current = [...myRooms.children];
  if (items.length !== current.length || items.some((item, i) => item !== current[i])) {
    myRooms.replaceChildren(...items);
  }
  updateEmpty();
}

// The server wrote each room's last message beside it: how it reads is format.js's.
for (const item of myRooms.children) {
  setLastMessage(item, JSON.parse(item.dataset.lastMessage));
  delete item.dataset.lastMessage;
}
// "5분 전" becomes "6분 전": the times are formatted again from their datetime.
setInterval(() => {
  for (const node of myRooms.querySelectorAll(".room-time[datetime]")) setTime(node, node.dateTime);
}, RETIME_MS);

/** `notify_changed`: a room's setting, changed in some tab of mine. */
function onNotifyChanged({ room_id: roomId, notify } = {}) {
  badge.notify(roomId, notify);
  const item = findMine(roomId);
  if (item) setNotify(item, notify);
}

const badge = createTabBadge();
const desktop = createDesktop({ roomName: badge.nameOf, openRoom: (id) => location.assign(roomUrl(id)) });
document.getElementById("desktop-settings").append(desktop.controls("list-notify"));

const banner = createConnectionBanner();
page.before(banner.element);
const socket = connectChat({
  tokenUrl: page.dataset.tokenUrl,
  loginUrl: page.dataset.loginUrl,
  onStatus: (state, info) => {
    page.dataset.connection = state;
    banner.update(state, info);
  },
});
const socketEvents = {
  connect: resync,
  unread: onUnread,
  room_added: onRoomAdded,
  room_removed: onRoomRemoved,
  notify_changed: onNotifyChanged,
  notification: (data) => desktop.notification(data),
};
for (const [event, handler] of Object.entries(socketEvents)) socket.on(event, handler);

// ---------------------------------------------------------------------------
// Start a direct message: choose people, then POST /rooms/direct. The same people
// again answer 409 DUPLICATE_DIRECT_ROOM with the room to open instead.
// ---------------------------------------------------------------------------
const directForm = document.getElementById("direct-form");
const directInput = document.getElementById("direct-input");
const directChosen = document.getElementById("direct-chosen");
const directStatus = document.getElementById("direct-status");
const directStart = document.getElementById("direct-start");
const chosen = new Map();   // lower-cased username -> username

function sayDirect(text, error = false) {
  directStatus.replaceChildren(text ? h("span", { className: error ? "error-text" : "hint-text", text }) : "");
}

function renderChosen() {
  directChosen.replaceChildren(...[...chosen.values()].map((name) => h("li", { className: "chip" },
    h("span", { className: "chip-name", text: name }),
    h("button", {
      className: "chip-remove",
      attrs: { type: "button", "aria-label": t("Take {name} off the list", { name }), title: t("Take {name} off the list", { name }) },
      text: "×",
      on: {
        click: () => {
          chosen.delete(name.toLowerCase());
          renderChosen();
          directInput.focus();
        },
      },
    }))));
  directChosen.hidden = chosen.size === 0;
  directStart.disabled = chosen.size === 0 && !directInput.value.trim();
}

function choose(name) {
  chosen.set(name.toLowerCase(), name);
  directInput.value = "";
  renderChosen();
  sayDirect(chosen.size === 1 ? t("{name} added. Add more people, or start the conversation.", { name }) : t("{name} added.", { name }));
}

if (directForm) {
  const search = userSearch({
    input: directInput,
    usersUrl: page.dataset.usersUrl,
    status: directStatus,
    exclude: () => new Set(chosen.keys()),
    onChoose: (user) => choose(user.username),
  });

  directInput.addEventListener("input", () => {
    directStart.disabled = chosen.size === 0 && !directInput.value.trim();
  });
  directInput.addEventListener("keydown", (event) => {
    // Backspace in an empty box takes the last person back out.
    if (event.key === "Backspace" && !directInput.value && chosen.size) {
      const last = [...chosen.keys()].pop();
      chosen.delete(last);
      renderChosen();
    }
  });

  directForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const typed = directInput.value.trim();
    const usernames = [...chosen.values()];
    if (typed && !chosen.has(typed.toLowerCase())) usernames.push(typed);
    if (!usernames.length) {
      sayDirect(t("Choose at least one person."), true);
      directInput.focus();
      return;
    }
    directStart.disabled = true;
    search.close();
    sayDirect(t("Opening the conversation…"));
    try {
      const { room } = await apiFetch(page.dataset.directUrl, { method: "POST", json: { usernames } });
      location.assign(roomUrl(room.id));
    } catch (error) {
      if (error instanceof ApiError && error.code === "DUPLICATE_DIRECT_ROOM" && error.details.room_id) {
        location.assign(roomUrl(error.details.room_id));
        return;
      }
      directStart.disabled = false;
      sayDirect(errorText(error), true);
    }
  });
}
