// The chat page's timeline store (chat/timeline.js): messages by seq, gaps, pending
// messages by client_id, and the merge of acks, live events and history pages.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createTimeline } from "../../webchat/static/js/chat/timeline.js";

const ROOM = 7;
const ME = { id: 1, username: "me" };
const BOB = { id: 2, username: "bob" };

/** A stored message; its id is seq + 100, so ids and seqs are told apart. */
function stored(seq, { sender = BOB, body = `m${seq}`, ...rest } = {}) {
  return { id: seq + 100, room_id: ROOM, seq, sender, kind: "text", body, client_id: null, deleted: false, ...rest };
}

function opened(seqs, { more = false } = {}) {
  const timeline = createTimeline({ roomId: ROOM, me: ME.id });
  const page = seqs.map((seq) => stored(seq));
  const change = timeline.merge(page);
  timeline.start(page.length ? page[0].seq : 1, more);
  return { timeline, change };
}

const seqsOf = (messages) => messages.map((m) => m.seq);

test("the first page starts the run without gaps", () => {
  const { timeline, change } = opened([3, 4, 5], { more: true });
  assert.deepEqual(seqsOf(change.added), [3, 4, 5]);
  assert.equal(timeline.started, true);
  assert.equal(timeline.lowSeq, 3);
  assert.equal(timeline.topSeq, 5);
  assert.equal(timeline.hasOlder, true);
  assert.equal(timeline.hasGap(), false);
});

test("an empty room starts at seq 1", () => {
  const { timeline } = opened([]);
  assert.equal(timeline.lowSeq, 1);
  assert.equal(timeline.topSeq, 0);
  timeline.merge([stored(1)]);
  assert.equal(timeline.topSeq, 1);
});

test("nothing is started before the first page", () => {
  const timeline = createTimeline({ roomId: ROOM, me: ME.id });
  timeline.merge([stored(5)]);
  assert.equal(timeline.started, false);
  assert.equal(timeline.hasGap(), false);
});

test("a jump in seq is a gap until the catch-up fills it", () => {
  const { timeline } = opened([1, 2]);
  const live = timeline.merge([stored(5)]);
  assert.deepEqual(seqsOf(live.arrived), [5]);
  assert.equal(timeline.hasGap(), true);
  assert.equal(timeline.topSeq, 2);
  const filled = timeline.merge([stored(3), stored(4), stored(5)]);
  assert.deepEqual(seqsOf(filled.added), [3, 4]);
  assert.deepEqual(filled.arrived, [], "messages below the newest are no arrivals");
  assert.equal(timeline.hasGap(), false);
  assert.equal(timeline.topSeq, 5);
  assert.deepEqual(seqsOf(timeline.ascending()), [1, 2, 3, 4, 5]);
  assert.deepEqual(seqsOf(timeline.descending()), [5, 4, 3, 2, 1]);
});

test("a message that arrives twice is taken once", () => {
  const { timeline } = opened([1]);
  assert.deepEqual(seqsOf(timeline.merge([stored(2)]).added), [2]);
  const again = timeline.merge([stored(2), stored(1)]);
  assert.deepEqual(again, { added: [], arrived: [], changed: [], settled: [] });
});

test("a copy in another state replaces the one held", () => {
  const { timeline } = opened([1, 2]);
  const tombstone = stored(2, { body: "", deleted: true });
  const change = timeline.merge([tombstone]);
  assert.deepEqual(change.changed, [tombstone]);
  assert.equal(timeline.get(2).deleted, true);
});

test("messages of other rooms, or without a seq, are ignored", () => {
  const { timeline } = opened([1]);
  const change = timeline.merge([{ ...stored(2), room_id: 8 }, { ...stored(3), seq: null }, null, "x"]);
  assert.deepEqual(change.added, []);
  assert.deepEqual(timeline.merge(undefined).added, []);
});

test("a deletion leaves a tombstone in place", () => {
  const { timeline } = opened([1, 2]);
  const tombstone = timeline.markDeleted(102);
  assert.deepEqual({ ...tombstone }, { ...stored(2), body: "", deleted: true, file: null });
  assert.equal(timeline.byId(102), tombstone);
  assert.equal(timeline.markDeleted(999), null);
});

test("older pages lower the start and say whether more are left", () => {
  const { timeline } = opened([51, 52], { more: true });
  const change = timeline.mergeOlder([49, 50].map((seq) => stored(seq)), true);
  assert.deepEqual(seqsOf(change.added), [49, 50]);
  assert.equal(timeline.lowSeq, 49);
  assert.equal(timeline.hasOlder, true);
  timeline.mergeOlder([], true);
  assert.equal(timeline.hasOlder, false, "an empty page ends the history");
  assert.equal(timeline.next(50).seq, 51);
  assert.equal(timeline.next(52), undefined);
});

test("a pending message is settled by its stored copy, whichever comes first", () => {
  const { timeline } = opened([1]);
  const first = timeline.addPending("c1", "hello", new Date());
  const second = timeline.addPending("c2", "again", new Date());
  assert.equal(timeline.nextQueued(), first);
  timeline.setPending(first, "sending");
  assert.equal(timeline.nextQueued(), second);

  const echo = stored(2, { sender: ME, body: "hello", client_id: "c1" });
  const change = timeline.merge([echo]);
  assert.deepEqual(change.settled, [first]);
  assert.deepEqual(seqsOf(change.added), [2]);
  assert.equal(timeline.isPending(first), false);
  assert.deepEqual(timeline.pending(), [second]);
  // The ack after the broadcast: nothing more to do.
  assert.deepEqual(timeline.merge([echo]).settled, []);
});

test("another user's client_id settles nothing of mine", () => {
  const { timeline } = opened([1]);
  const mine = timeline.addPending("same", "hello", new Date());
  timeline.merge([stored(2, { client_id: "same" })]);
  assert.equal(timeline.isPending(mine), true);
});

test("failed and dropped entries are not sent", () => {
  const { timeline } = opened([1]);
  const entry = timeline.addPending("c1", "hello", new Date());
  timeline.setPending(entry, "failed", "The server is busy; try again.");
  assert.equal(entry.error, "The server is busy; try again.");
  assert.equal(timeline.nextQueued(), undefined);
  timeline.setPending(entry, "queued", null, "Too many messages: sending again in 3 s…");
  assert.equal(timeline.nextQueued(), entry);
  timeline.dropPending(entry);
  assert.deepEqual(timeline.pending(), []);
});

test("what counts as unread after a read pointer", () => {
  const timeline = createTimeline({ roomId: ROOM, me: ME.id });
  timeline.merge([
    stored(1),
    stored(2, { kind: "system", sender: null, event: { type: "joined", user: BOB, by: null } }),
    stored(3, { sender: ME }),
    stored(4, { deleted: true, body: "" }),
    stored(5),
    stored(6),
  ]);
  timeline.start(1, false);
  assert.equal(timeline.firstAfter(101).seq, 2);
  assert.equal(timeline.unreadAfter(101), 2);
  assert.equal(timeline.unreadAfter(101, 5), 1);
  assert.equal(timeline.firstAfter(106), undefined);
});
