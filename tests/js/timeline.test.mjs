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
  assert.deepEqual({ ...tombstone }, { ...stored(2), body: "", html: "", deleted: true, file: null, reactions: [] });
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

// ---------------------------------------------------------------- issue 19: revs, the change feed

test("a copy with a higher rev replaces the one held, a lower or equal one never does", () => {
  const { timeline } = opened([1, 2]);
  timeline.merge([stored(2, { rev: 5 })]);
  const edited = stored(2, { rev: 9, body: "edited", edited_at: "2026-03-06T01:02:03Z" });
  assert.deepEqual(timeline.merge([edited]).changed, [edited]);
  const reacted = stored(2, { rev: 10, body: "edited", reactions: [{ emoji: "👍", count: 1, user_ids: [2] }] });
  assert.deepEqual(timeline.apply([reacted]).changed, [reacted], "a reaction alone is a change");
  const stale = timeline.merge([stored(2, { rev: 9, body: "edited" }), stored(2, { rev: 3, body: "old" })]);
  assert.deepEqual(stale.changed, []);
  assert.equal(timeline.get(2), reacted);
});

test("lastRev is the highest rev seen, from messages and from what the server says", () => {
  const { timeline } = opened([]);
  assert.equal(timeline.lastRev, 0);
  timeline.merge([stored(1, { rev: 4 }), stored(2, { rev: 3 })]);
  assert.equal(timeline.lastRev, 4);
  timeline.noteRev(12);
  timeline.noteRev(7);
  timeline.noteRev(null);
  assert.equal(timeline.lastRev, 12);
  timeline.apply([stored(1, { rev: 13 })]);
  assert.equal(timeline.lastRev, 13);
});

test("changes apply in place: new ones by seq, held ones replaced, unloaded older ones left out", () => {
  const { timeline } = opened([10, 11, 12], { more: true });
  const feed = [
    stored(11, { rev: 40, body: "", deleted: true }),   // deleted since
    stored(3, { rev: 41, body: "edited long ago" }),     // older than the page: not here
    stored(14, { rev: 42 }),                              // new, after one still to come
    stored(12, { rev: 43, body: "edited" }),
    stored(13, { rev: 44 }),                              // new, edited since it was sent
  ];
  const change = timeline.apply(feed);
  assert.deepEqual(seqsOf(change.added), [14, 13]);
  assert.deepEqual(seqsOf(change.arrived), [14, 13]);
  assert.deepEqual(seqsOf(change.changed), [11, 12]);
  assert.deepEqual(seqsOf(timeline.ascending()), [10, 11, 12, 13, 14]);
  assert.equal(timeline.get(3), undefined);
  assert.equal(timeline.hasGap(), false);
  assert.equal(timeline.topSeq, 14);
  assert.equal(timeline.lastRev, 44);
});

test("a tombstone is replaced by the server's later copy, not by an older one", () => {
  const timeline = createTimeline({ roomId: ROOM, me: ME.id });
  timeline.merge([stored(1, { rev: 5 }), stored(2, { rev: 6 })]);
  timeline.start(1, false);
  timeline.markDeleted(102);
  assert.deepEqual(timeline.apply([stored(2, { rev: 6 })]).changed, [], "a copy from before the delete");
  const tombstone = stored(2, { rev: 7, body: "", deleted: true });
  assert.deepEqual(timeline.apply([tombstone]).changed, [tombstone]);
});

test("a run from further back joins the history only once it reaches the loaded run", () => {
  const { timeline } = opened([300, 301, 302], { more: true });
  const run = [];
  for (let seq = 26; seq <= 299; seq += 1) run.push(stored(seq));
  const change = timeline.mergeOlder(run, true);
  assert.equal(change.added.length, 274);
  assert.equal(timeline.lowSeq, 26);
  assert.equal(timeline.hasOlder, true);
  assert.equal(timeline.hasGap(), false);

  const fresh = opened([300, 301], { more: true }).timeline;
  fresh.mergeOlder([stored(100), stored(101)], false);
  assert.equal(fresh.lowSeq, 300, "a run that does not reach it leaves the start where it was");
  assert.equal(fresh.hasOlder, true);
});

test("reset forgets the messages and keeps what is being sent", () => {
  const { timeline } = opened([1, 2]);
  timeline.merge([stored(2, { rev: 8 })]);
  const entry = timeline.addPending("c1", "hello", new Date(), 102);
  assert.equal(entry.replyTo, 102);
  timeline.reset();
  assert.equal(timeline.started, false);
  assert.deepEqual(timeline.ascending(), []);
  assert.equal(timeline.lastRev, 0);
  assert.deepEqual(timeline.pending(), [entry]);
  timeline.merge([stored(5)]);
  timeline.start(5, true);
  assert.equal(timeline.topSeq, 5);
});
