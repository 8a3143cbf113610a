// Room list page: live unread badges and previews, rooms added and removed without a
// reload, and starting a direct message from a user search.
import { ApiError, apiFetch, csrfToken } from "./lib/api.js";
import { announce, h, srOnly } from "./lib/dom.js";
import { errorText } from "./lib/errors.js";
import { fullTime, parseTime, plural, previewText, shortTime } from "./lib/format.js";
import { connectChat } from "./lib/socket.js";
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

function setTime(node, iso) {
  const date = parseTime(iso);
  if (date) {
    node.dateTime = iso;
    node.textContent = shortTime(date);
    node.title = fullTime(date);
  } else {
    node.removeAttribute("datetime");
    node.textContent = "";
    node.title = "";
  }
}

function setUnread(item, count) {
  const badge = item.querySelector(".unread-badge");
  badge.querySelector(".unread-count").textContent = count > 99 ? "99+" : String(count);
  badge.hidden = !count;
  item.classList.toggle("has-unread", count > 0);
}

function setMemberCount(item, count) {
  item.querySelector(".room-members").textContent = plural(count, "member");
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
    action.replaceChildren(h("a", { className: "button", attrs: { href: roomUrl(id) } }, "Open", srOnly(` ${name}`)));
  } else {
    action.replaceChildren(
      h("form", { className: "inline-form", attrs: { method: "post", action: `${roomUrl(id)}/join` } },
        h("input", { attrs: { type: "hidden", name: "csrf_token", value: csrfToken() } }),
        h("button", { className: "button primary", attrs: { type: "submit" } }, "Join", srOnly(` ${name}`))));
  }
}

function onUnread({ room_id: roomId, unread_count: count, last_message: message } = {}) {
  const item = findMine(roomId);
  if (!item) return;
  setUnread(item, count ?? 0);
  if (message !== undefined) setLastMessage(item, message);
  // Most recent activity first, as the server orders the list.
  if (message && myRooms.firstElementChild !== item) myRooms.prepend(item);
}

function onRoomAdded({ room } = {}) {
  if (!room || findMine(room.id)) return;
  myRooms.prepend(roomItem(room));
  updateEmpty();
  setPublicJoined(room.id, true);
  announce(announcer, `You were added to ${room.display_name}.`);
}

const REMOVED = { kicked: "You were removed from", left: "You left", deleted: "This room was deleted:" };

function onRoomRemoved({ room_id: roomId, reason } = {}) {
  const item = findMine(roomId);
  if (!item) return;
  const name = item.querySelector(".room-name").textContent;
  item.remove();
  updateEmpty();
  if (reason === "deleted") findPublic(roomId)?.remove();
  else setPublicJoined(roomId, false);
  announce(announcer, `${REMOVED[reason] ?? "You are no longer in"} ${name}.`);
}

/** After (re)connecting, events may have been missed: take the list from the API. */
async function resync() {
  let rooms;
  try {
    ({ rooms } = await apiFetch(page.dataset.apiRoomsUrl));
  } catch {
    return;
  }
  const items = rooms.map((room) => {
    const item = findMine(room.id);
    if (!item) return roomItem(room);
    setUnread(item, room.unread_count);
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

const socket = connectChat({
  tokenUrl: page.dataset.tokenUrl,
  loginUrl: page.dataset.loginUrl,
  onStatus: (state) => { page.dataset.connection = state; },
});
const socketEvents = { connect: resync, unread: onUnread, room_added: onRoomAdded, room_removed: onRoomRemoved };
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
      attrs: { type: "button", "aria-label": `Remove ${name}`, title: `Remove ${name}` },
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
  sayDirect(`${name} added.${chosen.size === 1 ? " Add more people, or start the conversation." : ""}`);
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
      sayDirect("Choose at least one person.", true);
      directInput.focus();
      return;
    }
    directStart.disabled = true;
    search.close();
    sayDirect("Opening the conversation…");
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
