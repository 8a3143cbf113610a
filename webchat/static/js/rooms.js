// Room list page: my rooms kept live (lib/roomlist.js: unread badges (grey) and
// mention badges (red), muted rooms greyed, previews, rooms added and removed without a
// reload), the tab's title and favicon (lib/tabbadge.js), desktop notifications and
// their controls (lib/desktop.js), the banner after a while without a connection
// (lib/connectionbanner.js), and starting a direct message from a user search.
import { ApiError, apiFetch, csrfToken } from "./lib/api.js";
import { announce, h } from "./lib/dom.js";
import { errorText } from "./lib/errors.js";
import { createConnectionBanner } from "./lib/connectionbanner.js";
import { createDesktop } from "./lib/desktop.js";
import { t } from "./lib/i18n.js";
import { createRoomList } from "./lib/roomlist.js";
import { connectChat } from "./lib/socket.js";
import { createTabBadge } from "./lib/tabbadge.js";
import { userSearch } from "./lib/usersearch.js";

const page = document.getElementById("rooms-page");
const myRooms = document.getElementById("my-rooms");
const emptyNote = document.getElementById("my-rooms-empty");
const publicRooms = document.getElementById("public-rooms");
const announcer = document.getElementById("rooms-announcer");
const roomsUrl = page.dataset.roomsUrl.replace(/\/$/, "");

const roomUrl = (id) => `${roomsUrl}/${id}`;
const findPublic = (id) => publicRooms?.querySelector(`.public-room[data-room-id="${Number(id)}"]`);

const RETIME_MS = 30 * 1000;   // how often "5분 전" moves on

const mine = createRoomList({
  list: myRooms,
  template: document.getElementById("room-item-template"),
  typeLabels: JSON.parse(page.dataset.typeLabels),
  roomUrl,
  onChange: () => { emptyNote.hidden = myRooms.children.length > 0; },
});

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
  badge.unread(data);
  desktop.unread(data);
  mine.unread(data);
}

function onRoomAdded({ room } = {}) {
  if (!room || mine.find(room.id)) return;
  badge.setRoom(room);
  mine.add(room);
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
  const name = mine.remove(roomId);
  if (name === null) return;
  if (reason === "deleted") findPublic(roomId)?.remove();
  else setPublicJoined(roomId, false);
  announce(announcer, (REMOVED[reason] ?? NO_LONGER_IN)(name));
}

/** After (re)connecting, events may have been missed: take the list from the API. */
async function resync() {
  let rooms;
  const since = badge.mark();
  const listSince = mine.mark();
  try {
    ({ rooms } = await apiFetch(page.dataset.apiRoomsUrl));
  } catch {
    return;
  }
  badge.replaceAll(rooms, since);
  mine.replaceAll(rooms, listSince);
}

setInterval(() => mine.retime(), RETIME_MS);

/** `notify_changed`: a room's setting, changed in some tab of mine. */
function onNotifyChanged({ room_id: roomId, notify } = {}) {
  badge.notify(roomId, notify);
  mine.notify(roomId, notify);
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
