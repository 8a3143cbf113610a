// Drafts per room (lib/drafts.js): kept per user, pending sends until acked, what a
// closed page lost comes back, other users' drafts go, and a full or missing storage.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EVICTING_CHARS, MAX_ROOMS, PREFIX, createDrafts, debounced, forgetOtherUsers } from "../../webchat/static/js/lib/drafts.js";

/** A Storage as browsers have it (getItem, setItem, removeItem, key, length), with a quota in characters. */
class MemoryStorage {
  constructor(quota = Infinity) {
    this.items = new Map();
    this.quota = quota;
  }

  get length() {
    return this.items.size;
  }

  key(index) {
    return [...this.items.keys()][index] ?? null;
  }

  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }

  setItem(key, value) {
    const used = [...this.items].reduce((sum, [k, v]) => sum + (k === key ? 0 : k.length + v.length), 0);
    if (used + key.length + String(value).length > this.quota) {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    this.items.set(key, String(value));
  }

  removeItem(key) {
    this.items.delete(key);
  }
}

function clock() {
  let time = 1000;
  return () => (time += 1);
}

test("a room's text is kept per user and per room; an empty draft leaves nothing behind", () => {
  const storage = new MemoryStorage();
  const mine = createDrafts({ storage, me: 7, now: clock() });
  const theirs = createDrafts({ storage, me: 8, now: clock() });
  mine.save(1, "회의 자료는");
  mine.save(2, "other room");
  assert.equal(mine.text(1), "회의 자료는");
  assert.equal(mine.text(2), "other room");
  assert.equal(theirs.text(1), "", "another user never reads it");
  mine.save(2, "");
  assert.equal(storage.getItem(`${PREFIX}7.2`), null);
  assert.deepEqual([...storage.items.keys()], [`${PREFIX}7.1`]);
});

test("a send stays pending under its client_id until acked, and the composer's text is new", () => {
  const storage = new MemoryStorage();
  const drafts = createDrafts({ storage, me: 7, now: clock() });
  drafts.save(1, "첫 번째");
  drafts.sent(1, "c1", "첫 번째");
  drafts.save(1, "두 번째 쓰는 중");
  drafts.sent(1, "c2", "두 번째");
  assert.equal(drafts.text(1), "");
  assert.deepEqual(drafts.pendingOf(1).map((p) => [p.clientId, p.text]), [["c1", "첫 번째"], ["c2", "두 번째"]]);
  drafts.acked(1, "c1");
  assert.deepEqual(drafts.pendingOf(1).map((p) => p.clientId), ["c2"]);
  drafts.acked(1, "unknown");
  drafts.forget(1, "c2");
  assert.deepEqual(drafts.pendingOf(1), []);
  assert.equal(storage.length, 0, "nothing left: the record goes");
});

test("recover: stored sends are done, held ones stay, lost ones come back before the text", () => {
  const storage = new MemoryStorage();
  const drafts = createDrafts({ storage, me: 7, now: clock() });
  drafts.sent(1, "stored", "이미 저장됨");
  drafts.sent(1, "held", "아직 보내는 중");
  drafts.sent(1, "lost1", "잃어버린 첫째");
  drafts.sent(1, "lost2", "잃어버린 둘째");
  drafts.save(1, "새로 쓰는 글");
  const text = drafts.recover(1, { stored: (id) => id === "stored", held: (id) => id === "held" });
  assert.equal(text, "잃어버린 첫째\n잃어버린 둘째\n새로 쓰는 글");
  assert.equal(drafts.text(1), text, "kept at once, before the composer shows it");
  assert.deepEqual(drafts.pendingOf(1).map((p) => p.clientId), ["held"]);
  assert.equal(drafts.recover(1, { held: () => true }), null, "nothing lost: the text stays as it is");
  assert.equal(drafts.recover(2), null, "a room without a draft");
});

test("another user's drafts go when someone else signs in on the browser; other keys stay", () => {
  const storage = new MemoryStorage();
  createDrafts({ storage, me: 7 }).save(1, "seven's");
  createDrafts({ storage, me: 70 }).save(1, "seventy's");
  createDrafts({ storage, me: 8 }).save(1, "eight's");
  storage.setItem("webchat.notify.sound", "on");
  forgetOtherUsers(storage, 7);
  assert.deepEqual([...storage.items.keys()].sort(), [`${PREFIX}7.1`, "webchat.notify.sound"]);
  forgetOtherUsers(null, 7);   // no storage: nothing to do, nothing thrown
});

test("at most MAX_ROOMS rooms: the oldest draft makes way", () => {
  const storage = new MemoryStorage();
  const drafts = createDrafts({ storage, me: 7, now: clock() });
  for (let room = 1; room <= MAX_ROOMS; room += 1) drafts.save(room, `room ${room}`);
  drafts.save(1, "room 1, touched again");
  drafts.save(MAX_ROOMS + 1, "one more");
  assert.equal(storage.length, MAX_ROOMS);
  assert.equal(drafts.text(2), "", "the oldest went");
  assert.equal(drafts.text(1), "room 1, touched again");
  assert.equal(drafts.text(MAX_ROOMS + 1), "one more");
});

test("over the quota, this user's oldest other drafts go first; a huge draft makes none go", () => {
  const storage = new MemoryStorage(150_000);
  const drafts = createDrafts({ storage, me: 7, now: clock() });
  drafts.save(1, "a".repeat(60_000));
  drafts.save(2, "b".repeat(60_000));
  assert.equal(drafts.save(3, "c".repeat(60_000)), true);
  assert.equal(drafts.text(1), "", "room 1 was the oldest");
  assert.equal(drafts.text(2), "b".repeat(60_000));
  assert.equal(drafts.save(4, "d".repeat(EVICTING_CHARS)), false);
  assert.equal(drafts.text(4), "");
  assert.equal(drafts.text(2).length, 60_000, "nothing went for it");
  assert.equal(drafts.text(3).length, 60_000);
});

test("no storage, or storage that throws: every call answers, nothing is kept", () => {
  const throwing = {
    get length() { throw new DOMException("denied", "SecurityError"); },
    key() { throw new DOMException("denied", "SecurityError"); },
    getItem() { throw new DOMException("denied", "SecurityError"); },
    setItem() { throw new DOMException("denied", "SecurityError"); },
    removeItem() { throw new DOMException("denied", "SecurityError"); },
  };
  for (const storage of [null, throwing]) {
    const drafts = createDrafts({ storage, me: 7 });
    assert.equal(drafts.save(1, "x"), false);
    assert.equal(drafts.text(1), "");
    drafts.sent(1, "c", "x");
    assert.deepEqual(drafts.pendingOf(1), []);
    drafts.acked(1, "c");
    assert.equal(drafts.recover(1), null);
    forgetOtherUsers(storage, 7);
  }
});

test("a record that is not ours to parse reads as no draft", () => {
  const storage = new MemoryStorage();
  storage.setItem(`${PREFIX}7.1`, "{not json");
  storage.setItem(`${PREFIX}7.2`, JSON.stringify({ text: 5, pending: [{ clientId: 1 }, { clientId: "ok", text: "t" }] }));
  const drafts = createDrafts({ storage, me: 7 });
  assert.equal(drafts.text(1), "");
  assert.equal(drafts.text(2), "");
  assert.deepEqual(drafts.pendingOf(2).map((p) => p.clientId), ["ok"]);
});

test("debounced: saves once after the quiet, at once on flush, never after cancel", async () => {
  let saves = 0;
  const saver = debounced(() => { saves += 1; }, 20);
  saver.soon();
  saver.soon();
  saver.soon();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(saves, 1);
  saver.soon();
  saver.flush();
  assert.equal(saves, 2);
  saver.flush();
  assert.equal(saves, 2, "nothing waiting: nothing to save");
  saver.soon();
  saver.cancel();
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(saves, 2);
});
