// How messages read as text on the room list and the chat page (lib/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { setCatalog } from "../../webchat/static/js/lib/i18n.js";
import {
  charCount, dayKey, dayLabel, listTime, memberCount, previewText, systemText, truncate,
} from "../../webchat/static/js/lib/format.js";

const alice = { id: 1, username: "alice" };
const bob = { id: 2, username: "bob" };
const system = (event, body = "") => ({ kind: "system", sender: null, body, event, deleted: false });

test("system notices name who did what", () => {
  assert.equal(systemText(system({ type: "created", user: alice, by: null })), "alice created the room");
  assert.equal(systemText(system({ type: "joined", user: bob, by: null })), "bob joined");
  assert.equal(systemText(system({ type: "invited", user: bob, by: alice })), "alice invited bob");
  assert.equal(systemText(system({ type: "kicked", user: bob, by: alice })), "bob was removed by alice");
  assert.equal(systemText(system({ type: "kicked", user: bob, by: null })), "bob was removed");
});

test("an announcement reads as its text, on the chat page and in the room list", () => {
  const notice = system({ type: "announcement", user: null, by: null }, "Maintenance at 18:00");
  assert.equal(systemText(notice), "Maintenance at 18:00");
  assert.equal(previewText(notice), "Maintenance at 18:00");
  const long = system({ type: "announcement", user: null, by: null }, "점검 ".repeat(100));
  assert.equal(charCount(previewText(long)), 80);
  assert.ok(previewText(long).endsWith("…"));
});

test("an event this page does not know shows its body", () => {
  assert.equal(systemText(system({ type: "renamed", user: alice, by: null }, "Renamed to Lounge")), "Renamed to Lounge");
  assert.equal(systemText(system({ type: "renamed", user: alice, by: null })), "Room update");
});

test("previews of the room list", () => {
  assert.equal(previewText(null), "No messages yet");
  assert.equal(previewText({ kind: "text", sender: alice, body: "hi\nthere", deleted: false }), "alice: hi there");
  assert.equal(previewText({ kind: "text", sender: alice, body: "", deleted: true }), "message deleted");
  assert.equal(previewText({ kind: "file", sender: bob, file: { name: "보고서.pdf" }, deleted: false }), "bob: 보고서.pdf");
});

test("characters are counted as the server counts them", () => {
  assert.equal(charCount("가나다"), 3);
  assert.equal(charCount("😀😀"), 2);
  assert.equal(truncate("a b c", 80), "a b c");
});

test("notices, previews and counts speak the page's catalog", () => {
  setCatalog({
    locale: "ko",
    messages: {
      "{user} joined": "{user}님이 입장했습니다",
      "{user} was removed by {by}": "{by}님이 {user}님을 내보냈습니다",
      "{sender}: {text}": "{sender}: {text}",
      "No messages yet": "아직 메시지가 없어요",
      "{count} member": ["멤버 {count}명"],
    },
  });
  try {
    assert.equal(systemText(system({ type: "joined", user: bob, by: null })), "bob님이 입장했습니다");
    assert.equal(systemText(system({ type: "kicked", user: bob, by: alice })), "alice님이 bob님을 내보냈습니다");
    assert.equal(previewText(null), "아직 메시지가 없어요");
    assert.equal(previewText({ kind: "text", sender: alice, body: "안녕", deleted: false }), "alice: 안녕");
    assert.equal(memberCount(1), "멤버 1명");
    assert.equal(memberCount(3), "멤버 3명");
  } finally {
    setCatalog(undefined);
  }
  assert.equal(memberCount(1), "1 member");
  assert.equal(memberCount(3), "3 members");
});

test("a day is the reader's: 15:00 UTC is already the next day in Seoul", () => {
  const zone = process.env.TZ;
  try {
    process.env.TZ = "Asia/Seoul";
    assert.equal(dayKey(new Date("2026-03-05T14:59:00Z")), "2026-03-05");
    assert.equal(dayKey(new Date("2026-03-05T15:00:00Z")), "2026-03-06");
    process.env.TZ = "UTC";
    assert.equal(dayKey(new Date("2026-03-05T15:00:00Z")), "2026-03-05");
  } finally {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  }
});

test("a day divider names the weekday, and the year only when it is not this one", () => {
  const now = new Date(2026, 5, 1);
  assert.equal(dayLabel(new Date(2026, 2, 6), now), "Fri, March 6");
  assert.match(dayLabel(new Date(2025, 2, 6), now), /March 6, 2025/);
});

test("room list times: now, minutes ago within the hour, then the clock, yesterday, a date", () => {
  const now = new Date(2026, 2, 6, 15, 7);
  const ago = (ms) => new Date(now.getTime() - ms);
  assert.equal(listTime(ago(20 * 1000), now), "now");
  assert.equal(listTime(ago(5 * 60 * 1000), now), "5 minutes ago");
  assert.equal(listTime(ago(59 * 60 * 1000), now), "59 minutes ago");
  assert.match(listTime(new Date(2026, 2, 6, 9, 30), now), /9:30/);
  assert.equal(listTime(new Date(2026, 2, 5, 23, 0), now), "yesterday");
  assert.match(listTime(new Date(2026, 2, 1, 12, 0), now), /Mar 1/);
  assert.match(listTime(new Date(2025, 11, 24, 12, 0), now), /2025/);
  assert.equal(listTime(null, now), "");
});
