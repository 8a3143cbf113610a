// The messages of one room as the chat page knows them: pure state, no DOM, no globals
// (unit-tested in tests/js/timeline.test.mjs).
//
// Stored messages are kept by seq. Every seq from `lowSeq` to `topSeq` is here: the run
// without gaps that a catch-up continues (`after_seq=topSeq`); a seq above `topSeq` means
// a gap. A message being sent is pending under its client_id until its stored copy (the
// ack, its own broadcast, or a history page) settles it. Every source goes through
// merge(), so a message is taken once however often it arrives, and a newer copy (a
// higher `rev`: edited, deleted, reacted to since) replaces the one held, an older one
// never does. `lastRev` is the highest rev seen: where the change feed continues.
//
// A room opened at a message far back (a search hit) holds a window that does not reach
// the latest message (`hasNewer`): messages above the window are not taken until newer
// pages close the distance (`mergeNewer`), so the run stays without gaps.

/** `roomId`: messages of other rooms are ignored; `me`: whose pending messages settle. */
export function createTimeline({ roomId, me }) {
  const messages = new Map();   // seq -> stored message
  const seqById = new Map();    // message id -> seq
  const seqs = [];              // the seqs of `messages`, ascending
  const pending = new Map();    // client_id -> {clientId, body, createdAt, order, state, error, note}
  let lowSeq = null;            // null until start()
  let topSeq = 0;
  let hasOlder = false;
  let hasNewer = false;         // the run stops short of the room's latest message
  let lastRev = 0;

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

  function noteRev(rev) {
    if (Number.isInteger(rev) && rev > lastRev) lastRev = rev;
  }

  /** Whether `message` is a later state of `known` (by rev; without revs, by what shows). */
  function newer(known, message) {
    if (Number.isInteger(known.rev) && Number.isInteger(message.rev)) return message.rev > known.rev;
    return known.deleted !== message.deleted || known.body !== message.body;
  }

  /** `loadedOnly`: a message older than the loaded run is not taken (a change to it). */
  function mergeOne(message, change, previousMax, loadedOnly) {
    if (!message || Number(message.room_id) !== roomId || !Number.isInteger(message.seq)) return;
    // Beyond a window that stops short of the latest: a newer page brings it (its rev
    // is not noted, so the change feed still counts it as to come).
    if (hasNewer && (lowSeq === null || message.seq > topSeq + 1) && !messages.has(message.seq)) return;
    noteRev(message.rev);
    settle(message, change);
    const knownSeq = messages.has(message.seq) ? message.seq : seqById.get(message.id);
    if (knownSeq !== undefined) {
      if (newer(messages.get(knownSeq), message)) {
        messages.set(knownSeq, message);
        change.changed.push(message);
      }
      return;
    }
    if (loadedOnly && lowSeq !== null && message.seq < lowSeq) return;
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
    /** Whether the server has messages newer than `topSeq` that are not here (a window far back). */
    get hasNewer() { return hasNewer; },
    /** The highest `rev` seen: every change up to it is here, while nothing was missed. */
    get lastRev() { return lastRev; },

    /** A rev the server says is current (open_room's or a change page's `last_rev`). */
    noteRev,

    /**
     * Take a batch of stored messages (a history page, an ack, live events). Returns what
     * changed: `added` (new here), `arrived` (the added ones newer than all before),
     * `changed` (a known message in a new state) and `settled` (pending entries whose
     * stored copy came).
     */
    merge(batch) {
      const change = { added: [], arrived: [], changed: [], settled: [] };
      const previousMax = maxSeq();
      for (const message of Array.isArray(batch) ? batch : []) mergeOne(message, change, previousMax, false);
      advanceTop();
      return change;
    },

    /**
     * Take messages in their current state from the change feed or `message_updated`:
     * like merge(), except that one older than the loaded run is left out (it is not on
     * the page, and an older page will bring it as it is then).
     */
    apply(batch) {
      const change = { added: [], arrived: [], changed: [], settled: [] };
      const previousMax = maxSeq();
      for (const message of Array.isArray(batch) ? batch : []) mergeOne(message, change, previousMax, true);
      advanceTop();
      return change;
    },

    /** Forget every stored message (the room is opened afresh); pending sends stay. */
    reset() {
      messages.clear();
      seqById.clear();
      seqs.length = 0;
      lowSeq = null;
      topSeq = 0;
      hasOlder = false;
      hasNewer = false;
      lastRev = 0;
    },

    /**
     * The first page (merged already) began at `firstSeq`; `more`: older messages exist;
     * `moreAfter`: so do newer ones than the page (it was a page around a message far back).
     */
    start(firstSeq, more, moreAfter = false) {
      lowSeq = firstSeq;
      topSeq = lowSeq - 1;
      hasOlder = Boolean(more);
      advanceTop();
      hasNewer = Boolean(moreAfter);
    },

    /** A window far back is being loaded: until it starts, live messages are not taken. */
    landing() {
      if (lowSeq === null) hasNewer = true;
    },

    /**
     * Start with `page`, a window around a message: `more` older messages exist,
     * `moreAfter` newer ones do. Returns what changed, like merge().
     */
    startWindow(page, more, moreAfter) {
      hasNewer = false;
      const change = this.merge(page);
      this.start(page.length ? page[0].seq : 1, more, moreAfter && page.length > 0);
      return change;
    },

    /**
     * The next page after `topSeq` of a window far back, and whether more follow it: when
     * none do, the run reaches the latest message and live ones are taken again.
     */
    mergeNewer(page, more) {
      hasNewer = false;
      const change = this.merge(page);
      hasNewer = Boolean(more) && page.length > 0;
      return change;
    },

    /**
     * Older messages (a `before_seq=lowSeq` page, or a run from further back that reaches
     * up to `lowSeq`) and whether there is more before them. The run without gaps grows
     * down only as far as it stays without gaps.
     */
    mergeOlder(page, more) {
      const change = this.merge(page);
      const first = page.length ? page[0].seq : null;
      while (messages.has(lowSeq - 1)) lowSeq -= 1;
      hasOlder = first === null ? false : Boolean(more) || lowSeq > first;
      return change;
    },

    /** A `message_deleted` event: the tombstone now held, or null if it is not here. */
    markDeleted(messageId) {
      const seq = seqById.get(Number(messageId));
      if (seq === undefined) return null;
      const message = { ...messages.get(seq), deleted: true, body: "", html: "", file: null, reactions: [] };
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

    /**
     * A message I am sending: pending under `clientId`, queued; `replyTo`: the quoted
     * message, if any; `order`: its place among the pending ones (by default, its time).
     */
    addPending(clientId, body, createdAt, replyTo = null, order = createdAt.getTime()) {
      const entry = { clientId, body, createdAt, replyTo, order, state: "queued", error: null, note: null };
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

    /** Pending entries, in the order they were written (an entry read back after a reload keeps its place). */
    pending() {
      return [...pending.values()].sort((a, b) => a.order - b.order);
    },

    /** The oldest queued entry: the next to send, so that messages keep their order. */
    nextQueued() {
      return this.pending().find((entry) => entry.state === "queued");
    },
  };
}
