// A list of my rooms, kept live from the socket's events: the room list page's "Your
// rooms" (rooms.js) and the chat page's sidebar (chat/sidebar.js). Each item is the
// server's room_item markup (templates/rooms/_room_item.html), cloned from the list's
// <template> for a room added live: unread counts (grey) and mentions (red), muted rooms
// greyed, the last message's preview and time where the item shows them, and what tells
// two rooms of one name apart. Most recent activity first, as the server orders it.
import { badgeText } from "./attention.js";
import { fullTime, listTime, memberCount, parseTime, previewText } from "./format.js";
import { t, tn } from "./i18n.js";
import { sharedNames } from "./roomnames.js";

/** A list item's <time>: "5분 전", the full date in its tooltip. */
export function setTime(node, iso) {
  if (!node) return;
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
  item.dataset.unread = count;
}

/** The red badge: unread messages that mention me (muted rooms too). */
function setMentions(item, count) {
  const badge = item.querySelector(".mention-badge");
  badge.querySelector(".mention-count").textContent = `@${badgeText(count)}`;
  badge.querySelector(".mention-spoken").textContent = tn("{count} mention", "{count} mentions", count);
  badge.hidden = !count;
  item.classList.toggle("has-mention", count > 0);
  item.dataset.mentions = count;
}

/** A muted room is greyed, its unread messages not bold; its mentions still show. */
function setNotify(item, notify) {
  item.dataset.notify = notify ?? "";
  item.classList.toggle("is-muted", notify === "mute");
  item.querySelector(".room-muted").hidden = notify !== "mute";
}

function setDetails(item, room) {
  item.querySelector(".room-members").textContent = memberCount(room.member_count);
  const owner = item.querySelector(".room-owner");
  owner.textContent = room.owner ? t("Owner: {name}", { name: room.owner.username }) : "";
  owner.hidden = !room.owner;
}

function setLastMessage(item, message) {
  const preview = item.querySelector(".room-preview");
  if (!preview) return;   // the sidebar shows no preview
  preview.textContent = previewText(message);
  preview.classList.toggle("is-notice", Boolean(message && (message.kind === "system" || message.deleted)));
  setTime(item.querySelector(".room-time"), message?.created_at);
}

/**
 * `list`: the <ul>; `template`: its <template> of one blank item; `typeLabels`: the
 * server's labels of room types; `roomUrl(id)`; `currentId`: the room open on this page
 * (marked as the current page), or null; `onChange()` after items came or went.
 */
export function createRoomList({ list, template, typeLabels, roomUrl, currentId = null, onChange = () => {} }) {
  let changes = 0;   // events applied so far: what a list fetched earlier may not know
  const changed = new WeakMap();   // item -> the event count when an event last changed it

  const find = (id) => list.querySelector(`.room-item[data-room-id="${Number(id)}"]`);
  const touch = (item) => changed.set(item, ++changes);

  /** Mark the rooms whose name another of mine has: they show their details. */
  function markShared() {
    const items = [...list.children];
    const shared = sharedNames(items.map((item) => item.querySelector(".room-name").textContent));
    for (const item of items) item.classList.toggle("is-shared", shared.has(item.querySelector(".room-name").textContent));
  }

  function fill(item, room) {
    setUnread(item, room.unread_count ?? 0);
    setMentions(item, room.mention_count ?? 0);
    setNotify(item, room.notify);
    setLastMessage(item, room.last_message);
    setDetails(item, room);
  }

  /** A room added live: the template's markup, cloned and filled. */
  function itemFor(room) {
    const item = template.content.firstElementChild.cloneNode(true);
    const current = Number(room.id) === currentId;
    item.dataset.roomId = room.id;
    item.dataset.type = room.type;
    item.classList.toggle("is-current", current);
    const link = item.querySelector(".room-link");
    link.href = roomUrl(room.id);
    if (current) link.setAttribute("aria-current", "page");
    item.querySelector(".room-name").textContent = room.display_name;
    const type = item.querySelector(".room-type");
    if (type) {
      type.className = `room-type type-${room.type}`;
      type.textContent = typeLabels[room.type];
    }
    const kind = item.querySelector(".room-kind");
    if (kind) kind.textContent = typeLabels[room.type];
    fill(item, room);
    return item;
  }

  // The server wrote each room's last message beside it: how it reads is format.js's.
  for (const item of list.children) {
    if (item.dataset.lastMessage === undefined) continue;
    setLastMessage(item, JSON.parse(item.dataset.lastMessage));
    delete item.dataset.lastMessage;
  }

  return {
    find,

    /** Every room's item, in the list's order. */
    items: () => [...list.children],

    /** Where the events stand: take it before fetching a list, to give `replaceAll`. */
    mark: () => changes,

    /** An `unread` event: the room's counts and last message, and the room to the top. */
    unread({ room_id: id, unread_count: count, mention_count: mentions, last_message: message }) {
      const item = find(id);
      if (!item) return;
      setUnread(item, count ?? 0);
      setMentions(item, mentions ?? 0);
      if (message !== undefined) setLastMessage(item, message);
      touch(item);
      if (message && list.firstElementChild !== item) list.prepend(item);
      onChange();
    },

    /** `room_added`: the room on top; false when it was there already. */
    add(room) {
      if (!room?.id || find(room.id)) return false;
      const item = itemFor(room);
      touch(item);
      list.prepend(item);
      markShared();
      onChange();
      return true;
    },

    /** `room_removed`: the room goes; its name, or null when it was not here. */
    remove(id) {
      const item = find(id);
      if (!item) return null;
      const name = item.querySelector(".room-name").textContent;
      item.remove();
      markShared();
      onChange();
      return name;
    },

    /** `notify_changed`: a room's setting, changed in some tab of mine. */
    notify(id, notify) {
      const item = find(id);
      if (!item) return;
      setNotify(item, notify);
      touch(item);
      onChange();
    },

    /** My rooms as GET /rooms has them now (after a connect: events may have been
     * missed). A room that an event changed after `since` (see `mark`) keeps the counts
     * that event gave it: the list may have been read before it. */
    replaceAll(rooms, since = Infinity) {
      const items = rooms.map((room) => {
        const item = find(room.id);
        if (!item) return itemFor(room);
        if ((changed.get(item) ?? 0) > since) setDetails(item, room);
        else fill(item, room);
        return item;
      });
      const current = [...list.children];
      if (items.length !== current.length || items.some((item, i) => item !== current[i])) list.replaceChildren(...items);
      markShared();
      onChange();
    },

    /** "5분 전" becomes "6분 전": the times are formatted again from their datetime. */
    retime() {
      for (const node of list.querySelectorAll(".room-time[datetime]")) setTime(node, node.dateTime);
    },
  };
}
