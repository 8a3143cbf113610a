// The chat page's sync (chat/sync.js) against a fake server: the change feed after a
// reconnect and after a seq jump, its pages, the fallback to a fresh open when far
// behind, and the run loaded around a quoted message further back.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createSync } from "../../webchat/static/js/chat/sync.js";
import { createTimeline } from "../../webchat/static/js/chat/timeline.js";

const ROOM = 7;
const BOB = { id: 2, username: "bob" };
const msg = (seq, rev, rest = {}) => ({ id: seq + 100, room_id: ROOM, seq, rev, sender: BOB, kind: "text",
  body: `m${seq}`, client_id: null, deleted: false, reactions: [], reply_to: null, ...rest });

/** A fake server: `routes(url)` answers each GET; every URL asked is in `asked`. */
function fakeFetch(routes) {
  const asked = [];
  globalThis.fetch = async (url) => {
    asked.push(url);
    const body = routes(new URL(url, "http://chat.test"));
    return { ok: true, status: 200, headers: { get: () => null }, json: async () => body };
  };
  return asked;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function setup({ acks, landAt = null, landed = [] }) {
  const timeline = createTimeline({ roomId: ROOM, me: 1 });
  const shown = [];
  let resets = 0;
  const element = () => ({ hidden: false, disabled: false, textContent: "", addEventListener() {} });
  const sync = createSync({
    connected: () => true,
    ask: async (event) => {
      assert.equal(event, "open_room");
      // No more answers: the open waits (a missing ack would retry forever and keep node alive).
      return acks.length ? acks.shift() : new Promise(() => {});
    },
    roomId: ROOM,
    timeline,
    messagesUrl: "/api/v1/rooms/7/messages",
    changesUrl: "/api/v1/rooms/7/changes",
    loginUrl: "/auth/login",
    pageSize: 50,
    catchUpPage: 100,
    changesPage: 10,
    history: { loadOlder: element(), status: element() },
    unfilled: () => false,
    show: (change) => shown.push(change),
    onOpened: (ack, { landing } = {}) => {
      if (landing) return;
      const first = !timeline.started;
      timeline.merge(ack.messages);
      if (first) timeline.start(ack.messages.length ? ack.messages[0].seq : 1, ack.has_more);
    },
    onReset: () => { resets += 1; },
    onRemoved: () => assert.fail("not removed"),
    landing: () => landAt,
    onLanded: (seq) => landed.push(seq),
  });
  return { timeline, sync, shown, resets: () => resets };
}

const changesAsked = (asked) => asked.filter((url) => url.includes("/changes?"));

test("after the first open, the feed is asked from the room's last_rev", async () => {
  const asked = fakeFetch(() => ({ messages: [], last_rev: 30, has_more: false }));
  const { timeline, sync } = setup({ acks: [{ ok: true, last_rev: 30, messages: [msg(1, 10), msg(2, 30)], has_more: false }] });
  sync.connected();
  await settle();
  assert.equal(timeline.lastRev, 30);
  const [url] = changesAsked(asked);
  assert.match(url, /after_rev=10&limit=10$/, "a little before it: a change that crossed in flight is not lost");
});

test("after a reconnect, one feed from the rev held when the connection went brings every change", async () => {
  const { timeline, sync } = setup({ acks: [
    { ok: true, last_rev: 40, messages: [msg(1, 10), msg(2, 40)], has_more: false },
    // Meanwhile: 1 edited (rev 41), 3 sent (42), 2 reacted to (43); the latest page shows 2 and 3.
    { ok: true, last_rev: 43, messages: [msg(2, 43, { reactions: [{ emoji: "👍", count: 1, user_ids: [2] }] }), msg(3, 42)] },
  ] });
  let feed = () => ({ messages: [], last_rev: 40, has_more: false });
  const asked = fakeFetch((url) => feed(url));
  sync.connected();
  await settle();
  sync.disconnected();
  feed = (url) => {
    const after = Number(url.searchParams.get("after_rev"));
    const all = [msg(1, 41, { body: "edited" }), msg(3, 42), msg(2, 43, { reactions: [{ emoji: "👍", count: 1, user_ids: [2] }] })];
    const page = all.filter((m) => m.rev > after).slice(0, 2);
    return { messages: page, last_rev: page.at(-1)?.rev ?? after, has_more: all.filter((m) => m.rev > after).length > 2 };
  };
  asked.length = 0;
  sync.connected();
  await settle();
  assert.deepEqual(changesAsked(asked).map((u) => new URL(u, "http://x").searchParams.get("after_rev")), ["20", "42"],
    "from where it was (less the slack), then page by page");
  assert.equal(timeline.get(1).body, "edited");
  assert.equal(timeline.get(2).reactions.length, 1);
  assert.deepEqual(timeline.ascending().map((m) => m.seq), [1, 2, 3]);
  assert.equal(timeline.lastRev, 43);
  assert.equal(asked.some((u) => u.includes("after_seq")), false, "no seq catch-up any more");
});

test("very far behind, the room is opened afresh instead of reading every change", async () => {
  const { timeline, sync, resets } = setup({ acks: [
    { ok: true, last_rev: 5, messages: [msg(1, 5)], has_more: false },
    { ok: true, last_rev: 5000, messages: [msg(900, 4999), msg(901, 5000)], has_more: true },
  ] });
  const asked = fakeFetch((url) => ({ messages: [], last_rev: Number(url.searchParams.get("after_rev")) + 20, has_more: false }));
  sync.connected();
  await settle();
  sync.disconnected();
  sync.connected();
  await settle();
  assert.equal(resets(), 1);
  assert.deepEqual(timeline.ascending().map((m) => m.seq), [900, 901]);
  assert.equal(timeline.lowSeq, 900);
  assert.equal(timeline.hasOlder, true);
  assert.match(changesAsked(asked).at(-1), /after_rev=4980&/);
});

test("a seq jump asks the feed from the rev held before the message that showed it", async () => {
  const { timeline, sync } = setup({ acks: [{ ok: true, last_rev: 50, messages: [msg(1, 50)], has_more: false }] });
  let feed = () => ({ messages: [], last_rev: 50, has_more: false });
  const asked = fakeFetch((url) => feed(url));
  sync.connected();
  await settle();
  asked.length = 0;
  feed = () => ({ messages: [msg(2, 51), msg(3, 52)], last_rev: 52, has_more: false });
  const revBefore = timeline.lastRev;
  timeline.merge([msg(3, 52)]);
  sync.noteArrival(revBefore);
  await settle();
  assert.match(changesAsked(asked)[0], /after_rev=30&/);
  assert.equal(timeline.hasGap(), false);
  assert.deepEqual(timeline.ascending().map((m) => m.seq), [1, 2, 3]);
});

test("a quoted message further back comes with everything up to the loaded run", async () => {
  const page = [];
  for (let seq = 301; seq <= 350; seq += 1) page.push(msg(seq, seq));
  const { timeline, sync } = setup({ acks: [{ ok: true, last_rev: 350, messages: page, has_more: true }] });
  const asked = fakeFetch((url) => {
    if (url.pathname.endsWith("/changes")) return { messages: [], last_rev: 350, has_more: false };
    const around = Number(url.searchParams.get("around_seq"));
    if (around) {
      const run = [];
      for (let seq = around - 25; seq < around + 25; seq += 1) run.push(msg(seq, seq));
      return { messages: run, has_more_before: true, has_more_after: true };
    }
    const after = Number(url.searchParams.get("after_seq"));
    const run = [];
    for (let seq = after + 1; seq <= Math.min(after + 100, 350); seq += 1) run.push(msg(seq, seq));
    return { messages: run, has_more: after + 100 < 350 };
  });
  sync.connected();
  await settle();
  assert.equal(await sync.loadAround(40), true);
  assert.equal(timeline.lowSeq, 15);
  assert.equal(timeline.hasOlder, true);
  assert.equal(timeline.hasGap(), false);
  assert.deepEqual(timeline.ascending().map((m) => m.seq), Array.from({ length: 336 }, (_, i) => i + 15));
  assert.deepEqual(asked.filter((u) => u.includes("/messages?")).map((u) => new URL(u, "http://x").search),
    ["?around_seq=40&limit=50", "?after_seq=64&limit=100", "?after_seq=164&limit=100", "?after_seq=264&limit=100"]);
  assert.equal(await sync.loadAround(320), true, "one on the page needs nothing");
});

const range = (from, to, rev = (seq) => seq) => Array.from({ length: to - from + 1 }, (_, i) => msg(from + i, rev(from + i)));

test("opened at a message far back, the page holds the window around it, not the latest page", async () => {
  const asked = fakeFetch((url) => {
    if (url.searchParams.get("around_seq")) return { messages: range(976, 1025), has_more_before: true, has_more_after: true };
    return { messages: [], last_rev: 6000, has_more: false };
  });
  const landed = [];
  const { timeline, sync } = setup({ landAt: 1000, landed, acks: [{ ok: true, last_rev: 6000, messages: range(5951, 6000), has_more: true }] });
  sync.connected();
  await settle();
  assert.deepEqual(landed, [1000]);
  assert.equal(timeline.lowSeq, 976);
  assert.equal(timeline.topSeq, 1025);
  assert.equal(timeline.hasNewer, true);
  assert.equal(timeline.get(5951), undefined, "the latest page is not merged into a window far back");
  assert.equal(timeline.hasGap(), false);
  assert.ok(asked.some((url) => url.includes("around_seq=1000&limit=50")));
  assert.equal(timeline.lastRev, 6000, "the change feed continues from the room's rev, not the window's");
});

test("live messages above a window far back are left for the newer pages", async () => {
  fakeFetch((url) => {
    if (url.searchParams.get("around_seq")) return { messages: range(1, 50), has_more_before: false, has_more_after: true };
    return { messages: [], last_rev: 300, has_more: false };
  });
  const { timeline, sync } = setup({ landAt: 20, acks: [{ ok: true, last_rev: 300, messages: range(251, 300), has_more: true }] });
  sync.connected();
  await settle();
  const change = timeline.merge([msg(301, 301)]);
  assert.deepEqual(change.added, []);
  assert.equal(timeline.get(301), undefined);
  assert.equal(timeline.lastRev, 300, "a message left out does not move the rev the feed continues from");
  // A change to a message in the window is taken, as always.
  const edit = timeline.apply([msg(10, 302, { body: "edited" })]);
  assert.deepEqual(edit.changed.map((m) => m.seq), [10]);
});

test("scrolling down a window far back pages to the latest, then takes live messages again", async () => {
  const feedFrom = [];
  fakeFetch((url) => {
    if (url.searchParams.get("around_seq")) return { messages: range(1, 50), has_more_before: false, has_more_after: true };
    const after = Number(url.searchParams.get("after_seq"));
    if (url.searchParams.get("after_seq")) {
      const to = Math.min(after + 100, 180);
      return { messages: range(after + 1, to), has_more: to < 180 };
    }
    feedFrom.push(Number(url.searchParams.get("after_rev")));
    return { messages: [], last_rev: 180, has_more: false };
  });
  const { timeline, sync } = setup({ landAt: 20, acks: [{ ok: true, last_rev: 180, messages: range(131, 180), has_more: true }] });
  sync.connected();
  await settle();
  sync.loadNewer();
  await settle();
  assert.equal(timeline.topSeq, 150);
  assert.equal(timeline.hasNewer, true);
  sync.loadNewer();
  await settle();
  assert.equal(timeline.topSeq, 180);
  assert.equal(timeline.hasNewer, false, "the last page reached the latest message");
  assert.ok(feedFrom.length >= 2, "what came live while the last page was read is asked of the change feed");
  assert.deepEqual(timeline.merge([msg(181, 181)]).added.map((m) => m.seq), [181]);
});

test("jumping to the latest from a window far back opens the room afresh", async () => {
  fakeFetch((url) => {
    if (url.searchParams.get("around_seq")) return { messages: range(1, 50), has_more_before: false, has_more_after: true };
    return { messages: [], last_rev: 300, has_more: false };
  });
  const latest = { ok: true, last_rev: 300, messages: range(251, 300), has_more: true };
  const { timeline, sync, resets } = setup({ landAt: 20, acks: [latest, latest] });
  sync.connected();
  await settle();
  sync.toLatest();
  await settle();
  assert.equal(resets(), 1);
  assert.equal(timeline.lowSeq, 251);
  assert.equal(timeline.topSeq, 300);
  assert.equal(timeline.hasNewer, false);
  sync.toLatest();
  assert.equal(resets(), 1, "at the latest already, nothing to do");
});

test("a window that cannot be loaded leaves the room at its latest page", async () => {
  fakeFetch((url) => {
    if (url.searchParams.get("around_seq")) return { messages: [], has_more_before: false, has_more_after: false };
    return { messages: [], last_rev: 300, has_more: false };
  });
  const landed = [];
  const { timeline, sync } = setup({ landAt: 20, landed, acks: [{ ok: true, last_rev: 300, messages: range(251, 300), has_more: true }] });
  sync.connected();
  await settle();
  assert.deepEqual(landed, [null]);
  assert.equal(timeline.lowSeq, 251);
  assert.equal(timeline.hasNewer, false);
});
