// The tab title's count and the favicon's mark (lib/attention.js): mentions everywhere,
// direct messages, nothing for muted rooms but their mentions.
import assert from "node:assert/strict";
import { test } from "node:test";

import { attention, badgeText, faviconMark, roomCounts, titleWith } from "../../webchat/static/js/lib/attention.js";

const room = (type, notify, unread, mentions) => roomCounts({ type, notify, unread_count: unread, mention_count: mentions });

test("mentions in any room, and every unread direct message, count", () => {
  const rooms = [room("public", "mentions", 10, 2), room("direct", "all", 3, 0), room("private", "all", 5, 0)];
  assert.deepEqual(attention(rooms), { count: 5, unread: true });
});

test("a muted room counts its mentions only; a muted direct room too", () => {
  assert.deepEqual(attention([room("public", "mute", 40, 1)]), { count: 1, unread: false });
  assert.deepEqual(attention([room("direct", "mute", 4, 0)]), { count: 0, unread: false });
  assert.deepEqual(attention([room("direct", "mute", 4, 2)]), { count: 2, unread: false });
});

test("a direct message that mentions me counts once", () => {
  assert.deepEqual(attention([room("direct", "all", 2, 1)]), { count: 2, unread: true });
});

test("the notify default follows the room type when a payload has none", () => {
  assert.equal(roomCounts({ type: "direct" }).notify, "all");
  assert.equal(roomCounts({ type: "public" }).notify, "mentions");
  assert.deepEqual(roomCounts({ type: "public", unread_count: -1, mention_count: "x" }),
    { type: "public", notify: "mentions", unread: 0, mentions: 0 });
});

test("title, badge and favicon", () => {
  assert.equal(titleWith(3, "일반 · webchat"), "(3) 일반 · webchat");
  assert.equal(titleWith(0, "webchat"), "webchat");
  assert.equal(titleWith(120, "webchat"), "(99+) webchat");
  assert.equal(badgeText(7), "7");
  assert.equal(badgeText(100), "99+");
  assert.equal(faviconMark({ count: 1, unread: true }), "count");
  assert.equal(faviconMark({ count: 0, unread: true }), "dot");
  assert.equal(faviconMark({ count: 0, unread: false }), null);
  assert.deepEqual(attention([]), { count: 0, unread: false });
});
