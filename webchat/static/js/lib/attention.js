// What asks for my attention across my rooms, the pure part: the number in the tab's
// title and on the favicon, and how a room's badges read. As Slack counts it: what is
// addressed to me, not everything unread. That is every mention (muted rooms included:
// a mention still counts there) plus every unread message of a direct room that is not
// muted (a direct message is addressed to me as a whole). Other unread messages only
// put a quiet dot on the favicon (none for muted rooms).

/** A room's counts as the page keeps them, from a `room` payload or an `unread` event. */
export function roomCounts(room) {
  return {
    type: room.type,
    notify: room.notify ?? (room.type === "direct" ? "all" : "mentions"),
    unread: Math.max(0, Number(room.unread_count) || 0),
    mentions: Math.max(0, Number(room.mention_count) || 0),
  };
}

/** The count of one room that the title adds up. */
export function roomAttention({ type, notify, unread, mentions }) {
  if (type === "direct" && notify !== "mute") return Math.max(unread, mentions);
  return mentions;
}

/**
 * {count, unread} over `rooms` (an iterable of roomCounts): `count` for the title and
 * the favicon's badge, `unread` whether anything not muted is unread (the quiet dot).
 */
export function attention(rooms) {
  let count = 0;
  let unread = false;
  for (const room of rooms) {
    count += roomAttention(room);
    if (room.unread > 0 && room.notify !== "mute") unread = true;
  }
  return { count, unread };
}

/** The tab's title: `(3) webchat` with something for me, the page's own title otherwise. */
export function titleWith(count, base) {
  return count > 0 ? `(${count > 99 ? "99+" : count}) ${base}` : base;
}

/** A badge's digits: "99+" past 99. */
export function badgeText(count) {
  return count > 99 ? "99+" : String(count);
}

/** The favicon's mark: "count" (a red dot), "dot" (a quiet one) or null. */
export function faviconMark({ count, unread }) {
  if (count > 0) return "count";
  return unread ? "dot" : null;
}
