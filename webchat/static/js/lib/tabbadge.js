// The tab's title and favicon say what waits for me in all my rooms: `(3) webchat` and a
// red dot on the icon (lib/attention.js counts, as Slack does: mentions and direct
// messages), a quiet dot for other unread messages. The icon is drawn on a canvas from
// the page's own favicon and set as a data: URL (the CSP allows img-src data:).
import { attention, faviconMark, roomCounts, titleWith } from "./attention.js";

const ICON_SIZE = 64;

/** Keeps every room's counts and names; `update` is called whenever one changes. */
export function createTabBadge({ baseTitle = document.title } = {}) {
  const rooms = new Map();   // room id -> {counts, name, changed}
  let changes = 0;           // events applied so far: what a list fetched earlier may not know
  const link = document.querySelector('link[rel="icon"]');
  const original = link?.href ?? null;
  let icon = null;           // the original favicon, loaded for drawing
  let drawn = null;          // the mark the icon shows now

  function loadIcon() {
    if (icon || !original) return icon;
    icon = new Image();
    icon.addEventListener("load", () => { drawn = undefined; update(); }, { once: true });
    icon.src = original;
    return icon;
  }

  function drawIcon(mark) {
    if (!link || mark === drawn) return;
    if (!mark) {
      link.href = original;
      link.type = "image/svg+xml";
      drawn = mark;
      return;
    }
    const image = loadIcon();
    if (!image?.complete || !image.naturalWidth) return;   // drawn once it has loaded
    const canvas = document.createElement("canvas");
    canvas.width = ICON_SIZE;
    canvas.height = ICON_SIZE;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0, ICON_SIZE, ICON_SIZE);
    const radius = mark === "count" ? 17 : 12;
    context.beginPath();
    context.arc(ICON_SIZE - radius - 1, radius + 1, radius, 0, 2 * Math.PI);
    context.fillStyle = mark === "count" ? "#d93025" : "#5b6576";
    context.fill();
    context.lineWidth = 4;
    context.strokeStyle = "#fff";
    context.stroke();
    link.type = "image/png";
    link.href = canvas.toDataURL("image/png");
    drawn = mark;
  }

  function update() {
    const state = attention([...rooms.values()].map((room) => room.counts));
    const title = titleWith(state.count, baseTitle);
    if (document.title !== title) document.title = title;
    document.documentElement.dataset.attention = String(state.count);
    drawIcon(faviconMark(state));
  }

  return {
    /** Where the events stand: take it before fetching a list, to give `replaceAll`. */
    mark: () => changes,

    /** All my rooms (GET /rooms after a connect): the list as it is now. A room that an
     * event changed after `since` (see `mark`) keeps what that event said: the list may
     * have been read before it (a read in this tab answered before the list, say). */
    replaceAll(list, since = Infinity) {
      const newer = new Map([...rooms].filter(([, room]) => room.changed > since));
      rooms.clear();
      for (const room of list ?? []) {
        rooms.set(room.id, newer.get(room.id) ?? { counts: roomCounts(room), name: room.display_name, changed: 0 });
      }
      update();
    },

    /** A room payload (room_added, an open_room ack). */
    setRoom(room) {
      if (!room?.id) return;
      rooms.set(room.id, { counts: roomCounts(room), name: room.display_name, changed: ++changes });
      update();
    },

    /** An `unread` event: the counts of a room I know. */
    unread({ room_id: id, unread_count: unread, mention_count: mentions }) {
      const room = rooms.get(Number(id));
      if (!room) return;
      room.counts = { ...room.counts, unread: Math.max(0, Number(unread) || 0), mentions: Math.max(0, Number(mentions) || 0) };
      room.changed = ++changes;
      update();
    },

    /** `notify_changed`: a room's setting. */
    notify(id, notify) {
      const room = rooms.get(Number(id));
      if (!room) return;
      room.counts = { ...room.counts, notify };
      room.changed = ++changes;
      update();
    },

    remove(id) {
      rooms.delete(Number(id));
      update();
    },

    /** A room's name as I see it (for a desktop notification's title). */
    nameOf: (id) => rooms.get(Number(id))?.name ?? null,
  };
}
