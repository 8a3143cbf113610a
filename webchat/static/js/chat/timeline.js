// The messages of one room as the chat page knows them: pure state, no DOM, no globals
// (unit-tested in tests/js/timeline.test.mjs).
//
// Stored messages are kept by seq. Every seq from `lowSeq` to `topSeq` is here: the run
// without gaps that a catch-up continues (`after_seq=topSeq`); a seq above `topSeq` means
// a gap. A message being sent is pending under its client_id until its stored copy (the
// ack, its own broadcast, or a history page) settles it. Every source goes through
// merge(), so a message is taken once however often it arrives, and a changed copy
// (deleted since) replaces the one held.

/** `roomId`: messages of other rooms are ignored; `me`: whose pending messages settle. */
export function createTimeline({ roomId, me }) {
  const messages = new Map();   // seq -> stored message
  const seqById = new Map();    // message id -> seq
  const seqs = [];              // the seqs of `messages`, ascending
  const pending = new Map();    // client_id -> {clientId, body, createdAt, state, error, note}, in send order
  let lowSeq = null;            // null until start()
  let topSeq = 0;
  let hasOlder = false;

  const maxSeq = () => (seqs.length ? seqs[seqs.length - 1] : 0);

  /** Index of the first seq in `seqs` greater than `seq`. */
  function upperBound(seq) {
    let lo = 0;
    let hi = seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqs[mid] <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function advanceTop() {
    if (lowSeq === null) return;
    while (messages.has(topSeq + 1)) topSeq += 1;
  }

  /** The stored copy of one of my messages settles its pending entry. */
  function settle(message, change) {
    if (!message.client_id || message.sender?.id !== me) return;
    const entry = pending.get(message.client_id);
    if (!entry) return;
    pending.delete(message.client_id);
    change.settled.push(entry);
  }

  function mergeOne(message, change, previousMax) {
    if (!message || Number(message.room_id) !== roomId || !Number.isInteger(message.seq)) return;
    settle(message, change);
    const knownSeq = messages.has(message.seq) ? message.seq : seqById.get(message.id);
    if (knownSeq !== undefined) {
      const known = messages.get(knownSeq);
      if (known.deleted !== message.deleted || known.body !== message.body) {
        messages.set(knownSeq, message);
        change.changed.push(message);
      }
      return;
    }
    messages.set(message.seq, message);
    seqById.set(message.id, message.seq);
    seqs.splice(upperBound(message.seq), 0, message.seq);
    change.added.push(message);
    if (message.seq > previousMax) change.arrived.push(message);
  }

  /** Others' messages that would count as unread: not system notices, not deleted. */
  const countsAsUnread = (message) => message.kind !== "system" && !message.deleted && message.sender?.id !== me;

  return {
    /** Whether the first page is in (start() was called). */
    get started() { return lowSeq !== null; },
    /** The last seq of the run without gaps: where a catch-up starts. */
    get topSeq() { return topSeq; },
    /** The lowest seq loaded: where the next older page ends. */
    get lowSeq() { return lowSeq; },
    /** Whether the server has messages older than `lowSeq`. */
    get hasOlder() { return hasOlder; },

    /**
     * Take a batch of stored messages (a history page, an ack, live events). Returns what
     * changed: `added` (new here), `arrived` (the added ones newer than all before),
     * `changed` (a known message in a new state) and `settled` (pending entries whose
     * stored copy came).
     */
    merge(batch) {
      const change = { added: [], arrived: [], changed: [], settled: [] };
      const previousMax = maxSeq();
      for (const message of Array.isArray(batch) ? batch : []) mergeOne(message, change, previousMax);
      advanceTop();
      return change;
    },

    /** The first open_room's page (merged already) began at `firstSeq`. */
    start(firstSeq, more) {
      lowSeq = firstSeq;
      topSeq = lowSeq - 1;
      hasOlder = Boolean(more);
      advanceTop();
    },

    /** An older page (`before_seq=lowSeq`) and whether there is more before it. */
    mergeOlder(page, more) {
      const change = this.merge(page);
      if (page.length) lowSeq = Math.min(lowSeq, page[0].seq);
      hasOlder = Boolean(more) && page.length > 0;
      return change;
    },

    /** A `message_deleted` event: the tombstone now held, or null if it is not here. */
    markDeleted(messageId) {
      const seq = seqById.get(Number(messageId));
      if (seq === undefined) return null;
      const message = { ...messages.get(seq), deleted: true, body: "", file: null };
      messages.set(seq, message);
      return message;
    },

    /** Whether a seq above the run without gaps is here: something is missing. */
    hasGap() {
      return lowSeq !== null && topSeq < maxSeq();
    },

    get(seq) {
      return messages.get(seq);
    },

    byId(id) {
      return messages.get(seqById.get(Number(id)));
    },

    /** The stored message after `seq` in order, or undefined. */
    next(seq) {
      return messages.get(seqs[upperBound(seq)]);
    },

    /** Stored messages, oldest first. */
    ascending() {
      return seqs.map((seq) => messages.get(seq));
    },

    /** Stored messages, newest first. */
    descending() {
      return seqs.map((seq) => messages.get(seq)).reverse();
    },

    /** The first stored message after read pointer `pointer` (a message id), if any. */
    firstAfter(pointer) {
      return this.ascending().find((message) => message.id > pointer);
    },

    /** How many of the others' messages after `pointer` count as unread (below `seq`, if given). */
    unreadAfter(pointer, aboveSeq = 0) {
      return this.ascending().filter((m) => m.id > pointer && m.seq > aboveSeq && countsAsUnread(m)).length;
    },

    /** A message I am sending: pending under `clientId`, queued. */
    addPending(clientId, body, createdAt) {
      const entry = { clientId, body, createdAt, state: "queued", error: null, note: null };
      pending.set(clientId, entry);
      return entry;
    },

    /** Set a pending entry's `state` ("queued", "sending", "failed"), `error` and `note`. */
    setPending(entry, state, error = null, note = null) {
      Object.assign(entry, { state, error, note });
    },

    /** Whether `entry` is still pending (not settled or dropped since). */
    isPending(entry) {
      return pending.get(entry.clientId) === entry;
    },

    dropPending(entry) {
      pending.delete(entry.clientId);
    },

    /** Pending entries, in the order they were written. */
    pending() {
      return [...pending.values()];
    },

    /** The oldest queued entry: the next to send, so that messages keep their order. */
    nextQueued() {
      return this.pending().find((entry) => entry.state === "queued");
    },
  };
}
