// The chat page's outbox (chat/outbox.js) over the in-memory outbox store
// (lib/outboxstore.js) and a fake server that is idempotent on client_id as the real one
// is: what is kept and when it leaves, the order after a reload, the failure rule, two
// tabs holding the same entries, and a store that cannot be used. The IndexedDB store
// itself is tested in the browser (tests/browser/test_outbox.py).
import assert from "node:assert/strict";
import { afterEach, test, mock } from "node:test";

import { MAX_TRIES, STALE_MS, createOutbox, nextStep } from "../../webchat/static/js/chat/outbox.js";
import { createTimeline } from "../../webchat/static/js/chat/timeline.js";
import { memoryStore } from "../../webchat/static/js/lib/outboxstore.js";

const ROOM = 7;
const ME = 1;
const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

afterEach(() => mock.timers.reset());

/** The server's side: stores each client_id once; `refuse(payload, n)` may answer an error ack instead. */
function fakeServer({ refuse = () => null } = {}) {
  const stored = new Map();   // client_id -> message
  const sends = [];
  return {
    sends,
    stored,
    bodies: () => [...stored.values()].map((m) => m.body),
    answer(payload) {
      sends.push(payload);
      const error = refuse(payload, sends.filter((p) => p.client_id === payload.client_id).length);
      if (error) return { ok: false, error };
      if (!stored.has(payload.client_id)) {
        const seq = stored.size + 1;
        stored.set(payload.client_id, {
          id: 100 + seq, room_id: ROOM, seq, rev: seq, kind: "text", body: payload.body, client_id: payload.client_id,
          sender: { id: ME, username: "me" }, deleted: false, reply_to: null,
        });
      }
      return { ok: true, message: stored.get(payload.client_id) };
    },
  };
}

/** One chat page ("tab") of mine in the room, on `store`, talking to `server`. */
function tab({ server, store, open = true, locks = null, confirm = async () => true, now, ask }) {
  const timeline = createTimeline({ roomId: ROOM, me: ME });
  const shown = new Map();   // client_id -> the status it shows
  const view = {
    addPending: (entry, status) => shown.set(entry.clientId, status),
    redrawPending: (entry, status) => shown.set(entry.clientId, status),
    removePending: (entry) => shown.delete(entry.clientId),
  };
  const sync = { open, connection: 1, isOpen() { return this.open; } };
  const declined = [];
  let outbox = null;
  outbox = createOutbox({
    roomId: ROOM,
    me: ME,
    timeline,
    view,
    sync,
    store,
    locks,
    confirm,
    ...(now ? { now } : {}),
    ask: ask ?? (async (event, payload) => {
      assert.equal(event, "send_message");
      await settle(1);
      return server.answer(payload);
    }),
    // As chat.js does: the ack's copy goes through the timeline, which settles the entry.
    onStored: (message) => outbox.settled(timeline.merge([message]).settled),
    onDiscard: () => {},
    onDeclined: (entry) => declined.push(entry.body),
  });
  return {
    outbox, timeline, sync, shown, declined,
    pending: () => timeline.pending().map((entry) => entry.body),
    status: (body) => shown.get(timeline.pending().find((entry) => entry.body === body)?.clientId),
    connect() {
      sync.open = true;
      sync.connection += 1;
      outbox.flush();
    },
  };
}

const record = (clientId, body, order, rest = {}) => ({
  client_id: clientId, user_id: ME, room_id: ROOM, body, reply_to: null, order, created_at: Date.now(),
  confirmed: false, failure: null, ...rest,
});

/** Web Locks for the tests: one holder per name at a time, the others queued in order. */
function fakeLocks() {
  const tails = new Map();
  return {
    request(name, callback) {
      const run = (tails.get(name) ?? Promise.resolve()).then(() => callback());
      tails.set(name, run.catch(() => {}));
      return run;
    },
  };
}

test("the failure rule: a lost connection waits, the rate waits, two retries, then Retry and Discard", () => {
  assert.deepEqual(nextStep({ lost: true }), { step: "queue" });
  assert.deepEqual(nextStep({ ok: true, message: {} }), { step: "stored" });
  assert.equal(nextStep({ ok: false, error: { code: "CONFIRMATION_REQUIRED" } }).step, "confirm");
  assert.deepEqual(nextStep({ ok: false, error: { code: "RATE_LIMITED", retry_after: 3 } }, 2),
    { step: "wait", ms: 3050, seconds: 3, error: { code: "RATE_LIMITED", retry_after: 3 } });
  const busy = { ok: false, error: { code: "SERVICE_UNAVAILABLE" } };
  assert.deepEqual([0, 1, 2].map((failures) => nextStep(busy, failures).step), ["retry", "retry", "fail"]);
  assert.equal(MAX_TRIES, 3);
  assert.deepEqual([nextStep(busy, 0).ms, nextStep(busy, 1).ms], [2000, 4000]);
  assert.deepEqual(nextStep({ timeout: true }, 0).error, { code: "NO_ANSWER" });
  assert.equal(nextStep({ timeout: true }, 2).step, "fail");
  // A refusal that sending again cannot change fails at once.
  for (const code of ["VALIDATION_ERROR", "MESSAGE_TOO_LONG", "USER_NOT_IN_CHAT_ROOM", "FORBIDDEN"]) {
    assert.equal(nextStep({ ok: false, error: { code } }, 0).step, "fail", code);
  }
  assert.equal(nextStep(undefined).step, "fail");
});

test("an entry is kept with what a reload needs, until the server acks it", async () => {
  const server = fakeServer();
  const records = new Map();
  const page = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }), open: false });
  await page.outbox.ready;
  const quote = { id: 55, seq: 5, sender: { id: 2, username: "bob" }, body: "the question", deleted: false };
  page.outbox.add("one", "c1");
  page.outbox.add("two", "c2", quote);
  await settle();
  assert.equal(page.status("one").text, "Waiting for the connection…");
  const kept = [...records.values()];
  assert.deepEqual(kept.map(({ client_id: id, user_id: user, room_id: room, body }) => [id, user, room, body]),
    [["c1", ME, ROOM, "one"], ["c2", ME, ROOM, "two"]]);
  assert.deepEqual(kept[1].reply_to, quote);
  assert.ok(kept[0].order < kept[1].order);
  assert.equal(server.sends.length, 0);

  page.connect();
  await settle(20);
  assert.deepEqual(server.sends.map((p) => [p.client_id, p.body, p.reply_to]), [["c1", "one", undefined], ["c2", "two", 55]]);
  assert.deepEqual(page.pending(), []);
  assert.equal(records.size, 0, "acked entries leave the store");
});

test("after a reload, this user's entries for the room come back pending, in order, and go out once open", async () => {
  const server = fakeServer();
  const records = new Map([
    ["c3", record("c3", "third", 30)],
    ["c1", record("c1", "first", 10)],
    ["x1", record("x1", "someone else's", 15, { user_id: 2 })],
    ["c2", record("c2", "second", 20)],
    ["r8", record("r8", "another room's", 25, { room_id: 8 })],
  ]);
  const page = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }), open: false });
  // Written while the store is still being read: it goes after what was there.
  page.outbox.add("fourth", "c4");
  assert.deepEqual(page.pending(), ["fourth"]);
  await page.outbox.ready;
  assert.deepEqual(page.pending(), ["first", "second", "third", "fourth"]);
  assert.equal(page.status("first").text, "Waiting for the connection…");

  page.connect();
  await settle(30);
  assert.deepEqual(server.sends.map((p) => p.client_id), ["c1", "c2", "c3", "c4"]);
  assert.deepEqual(server.bodies(), ["first", "second", "third", "fourth"]);
  assert.deepEqual([...records.keys()].sort(), ["r8", "x1"], "other users' and rooms' entries are left alone");
});

test("a lost connection is no failure: the same client_id goes again on the next one, and is stored once", async () => {
  const server = fakeServer();
  let page = null;
  let calls = 0;
  page = tab({
    server,
    store: memoryStore({ userId: ME, roomId: ROOM }),
    // The first send is stored, but its ack is lost with the connection.
    ask: async (event, payload) => {
      calls += 1;
      const ack = server.answer(payload);
      if (calls > 1) return ack;
      page.sync.open = false;
      throw new Error("disconnected");
    },
  });
  await page.outbox.ready;
  page.outbox.add("hello", "c1");
  await settle();
  assert.deepEqual(page.pending(), ["hello"]);
  assert.equal(page.status("hello").text, "Waiting for the connection…");
  assert.equal(page.status("hello").failed, undefined);
  page.connect();
  await settle();
  assert.deepEqual(server.sends.map((p) => p.client_id), ["c1", "c1"]);
  assert.equal(server.stored.size, 1);
  assert.deepEqual(page.pending(), []);
});

test("a busy server is tried again after 2 s and 4 s, then offered for Retry; Retry sends it", async () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  let busy = true;
  const server = fakeServer({ refuse: () => (busy ? { code: "SERVICE_UNAVAILABLE", message: "Busy." } : null) });
  const records = new Map();
  const page = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }) });
  await page.outbox.ready;
  page.outbox.add("hello", "c1");
  await settle();
  assert.equal(server.sends.length, 1);
  assert.equal(page.status("hello").text, "Not sent yet: trying again in 2 s…");
  mock.timers.tick(1999);
  await settle();
  assert.equal(server.sends.length, 1, "not before the wait");
  mock.timers.tick(1);
  await settle();
  assert.equal(server.sends.length, 2);
  assert.equal(page.status("hello").text, "Not sent yet: trying again in 4 s…");
  mock.timers.tick(4000);
  await settle();
  assert.equal(server.sends.length, 3);
  const failed = page.status("hello");
  assert.equal(failed.failed, true);
  assert.equal(failed.text, "Not sent: The server is busy; try again.");
  assert.equal(typeof failed.retry, "function");
  assert.equal(typeof failed.discard, "function");
  assert.equal(records.get("c1").failure.code, "SERVICE_UNAVAILABLE", "it stays failed across a reload");
  mock.timers.tick(60_000);
  await settle();
  assert.equal(server.sends.length, 3, "a failed entry waits for the user");

  busy = false;
  failed.retry();
  await settle();
  assert.deepEqual(server.sends.map((p) => p.client_id), ["c1", "c1", "c1", "c1"]);
  assert.deepEqual(server.bodies(), ["hello"]);
  assert.equal(records.size, 0);
  assert.deepEqual(page.pending(), []);
});

test("two failures and then an answer: stored, never offered", async () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const server = fakeServer({ refuse: (_payload, n) => (n <= 2 ? { code: "SERVICE_UNAVAILABLE" } : null) });
  const page = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM }) });
  await page.outbox.ready;
  page.outbox.add("hello", "c1");
  await settle();
  mock.timers.tick(2000);
  await settle();
  mock.timers.tick(4000);
  await settle();
  assert.equal(server.sends.length, 3);
  assert.deepEqual(server.bodies(), ["hello"]);
  assert.deepEqual(page.pending(), []);
});

test("a refusal that a retry cannot change fails at once, stays failed after a reload, and Discard lets it go", async () => {
  const server = fakeServer({ refuse: () => ({ code: "VALIDATION_ERROR", message: "Bad.", fields: { reply_to: "That message was deleted." } }) });
  const records = new Map();
  const first = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }) });
  await first.outbox.ready;
  first.outbox.add("a reply", "c1", { id: 9, seq: 9, sender: null, body: "gone", deleted: false });
  await settle();
  assert.equal(server.sends.length, 1);
  assert.equal(first.status("a reply").text, "Not sent: That message was deleted.");

  // The reload: it comes back failed, and is not sent by itself.
  const second = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }) });
  await second.outbox.ready;
  second.outbox.flush();
  await settle();
  assert.equal(server.sends.length, 1);
  const status = second.status("a reply");
  assert.equal(status.failed, true);
  status.discard();
  await settle();
  assert.deepEqual(second.pending(), []);
  assert.equal(records.size, 0);
  assert.equal(await second.outbox.holds("c1"), false);
});

test("an entry found on load that was written more than a day ago waits for the user", async () => {
  const server = fakeServer();
  const now = Date.now();
  const records = new Map([
    ["old", record("old", "yesterday's news", 1, { created_at: now - STALE_MS - 1000 })],
    ["new", record("new", "this morning", 2, { created_at: now - 60_000 })],
  ]);
  const page = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }) });
  await page.outbox.ready;
  await settle(10);
  assert.deepEqual(server.sends.map((p) => p.client_id), ["new"]);
  const status = page.status("yesterday's news");
  assert.equal(status.text, "Not sent: It was written more than a day ago.");
  status.retry();
  await settle(10);
  assert.deepEqual(server.bodies(), ["this morning", "yesterday's news"]);
  assert.equal(records.size, 0);
});

test("two tabs holding the same entries send each of them once, in order", async () => {
  const server = fakeServer();
  const records = new Map([1, 2, 3].map((i) => [`c${i}`, record(`c${i}`, `m${i}`, i)]));
  const locks = fakeLocks();
  const shared = () => ({ ...memoryStore({ userId: ME, roomId: ROOM, records }), persistent: true });
  const a = tab({ server, store: shared(), locks, open: false });
  const b = tab({ server, store: shared(), locks, open: false });
  await Promise.all([a.outbox.ready, b.outbox.ready]);
  assert.deepEqual(b.pending(), ["m1", "m2", "m3"]);
  a.connect();
  b.connect();
  await settle(60);
  assert.deepEqual(server.sends.map((p) => p.client_id), ["c1", "c2", "c3"]);
  assert.deepEqual(a.pending(), []);
  assert.deepEqual(b.pending(), []);
  assert.equal(records.size, 0);
});

test("without Web Locks a second tab may send an entry again, and the server stores it once", async () => {
  const server = fakeServer();
  const records = new Map([["c1", record("c1", "m1", 1)]]);
  const shared = () => ({ ...memoryStore({ userId: ME, roomId: ROOM, records }), persistent: true });
  const a = tab({ server, store: shared(), open: false });
  const b = tab({ server, store: shared(), open: false });
  await Promise.all([a.outbox.ready, b.outbox.ready]);
  a.connect();
  b.connect();
  await settle(20);
  assert.ok(server.sends.length >= 1);
  assert.equal(server.stored.size, 1);
  assert.deepEqual([...a.pending(), ...b.pending()], []);
});

test("a store that cannot open leaves the outbox in memory, working as before", async () => {
  const server = fakeServer();
  const page = tab({ server, store: Promise.reject(new Error("no IndexedDB in private mode")), open: false });
  await page.outbox.ready;
  page.outbox.add("still sent", "c1");
  page.connect();
  await settle(10);
  assert.deepEqual(server.bodies(), ["still sent"]);
});

test("a store whose writes fail still sends, without locking (no other tab can hold the entry)", async () => {
  const server = fakeServer();
  const broken = {
    persistent: true,
    load: async () => [],
    put: async () => false,
    remove: async () => {},
    has: async () => assert.fail("an entry that was never stored is not looked for"),
  };
  const page = tab({ server, store: broken, locks: fakeLocks() });
  await page.outbox.ready;
  page.outbox.add("hello", "c1");
  await settle(10);
  assert.deepEqual(server.bodies(), ["hello"]);
});

test("holds(client_id): while queued or failed, not once stored or declined", async () => {
  const server = fakeServer({ refuse: (payload) => (payload.body.includes("@room") && !payload.confirm ? { code: "CONFIRMATION_REQUIRED", member_count: 9 } : null) });
  const records = new Map();
  const page = tab({ server, store: memoryStore({ userId: ME, roomId: ROOM, records }), open: false, confirm: async () => false });
  page.outbox.add("hello", "c1");
  page.outbox.add("@room look", "c2");
  assert.equal(await page.outbox.holds("c1"), true);
  assert.equal(await page.outbox.holds("c2"), true);
  assert.equal(await page.outbox.holds("nope"), false);
  page.connect();
  await settle(20);
  assert.equal(await page.outbox.holds("c1"), false);
  assert.equal(await page.outbox.holds("c2"), false);
  assert.deepEqual(page.declined, ["@room look"]);
  assert.deepEqual(server.bodies(), ["hello"]);
  assert.equal(records.size, 0);
});

test("the in-memory store keeps each user's and room's entries apart, in order", async () => {
  const records = new Map();
  const mine = memoryStore({ userId: 1, roomId: 7, records });
  const theirs = memoryStore({ userId: 2, roomId: 7, records });
  await mine.put(record("b", "second", 2));
  await mine.put(record("a", "first", 1));
  await theirs.put(record("z", "theirs", 0, { user_id: 2 }));
  assert.deepEqual((await mine.load()).map((r) => r.body), ["first", "second"]);
  assert.deepEqual((await theirs.load()).map((r) => r.body), ["theirs"]);
  assert.equal(await mine.has("z"), false);
  assert.equal(await mine.has("a"), true);
  await mine.remove("a");
  assert.equal(await mine.has("a"), false);
  assert.equal(mine.persistent, false);
});
