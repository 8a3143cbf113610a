// Sending messages: each waits as pending (timeline.js) and goes out one at a time, in the
// order written, with its client_id, so that a resend is stored once (the server is
// idempotent on it). What is not delivered yet is also kept in the outbox store
// (lib/outboxstore.js: IndexedDB, else memory), so that it survives a reload: on load the
// page shows this user's entries for the room as pending and sends them once the room is
// open. An entry leaves the store when the server has it (the ack, or its stored copy
// seen any other way) or when the user discards it.
//
// Another tab of mine may hold the same entries (it loaded them too): each send of an
// entry runs under a Web Lock named after it, and an entry that is no longer in the store
// once the lock is held was dealt with by that tab.
//
// Failures (nextStep): a lost connection is none (the entry waits for the next one);
// RATE_LIMITED waits as long as the server says; no answer in time, or a busy server, is
// tried again by itself after 2 s and 4 s and fails the third time; any other refusal
// fails at once (sending it again would not change it). A failed entry offers Retry and
// Discard, and stays failed across a reload. An entry found on load that was written
// more than a day ago is not sent by itself either: it is offered the same way.
import { errorText } from "../lib/errors.js";
import { singleFlight } from "../lib/flight.js";
import { t } from "../lib/i18n.js";
import { memoryStore } from "../lib/outboxstore.js";
import { CONFIRMATION_REQUIRED, confirmEveryone } from "./everyone.js";

export const MAX_TRIES = 3;                        // sends of an entry that got no answer or a busy server
export const RETRY_MS = 2000;                      // before the first automatic retry; doubles
export const STALE_MS = 24 * 60 * 60 * 1000;       // older entries found on load wait for the user
const RETRYABLE = new Set(["NO_ANSWER", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"]);
const NO_ANSWER = { code: "NO_ANSWER" };

/**
 * What to do after one send of an entry that had `failures` retryable failures before it.
 * `answer` is the ack, `{lost: true}` (the connection went with it) or `{timeout: true}`
 * (no ack in time on a connection still open). Returns `{step}`: "stored", "queue" (wait
 * for the connection), "confirm" (ask before notifying everyone), "wait" (`ms`,
 * `seconds`: the server's rate), "retry" (`ms`, `seconds`) or "fail"; with the `error`.
 */
export function nextStep(answer, failures = 0) {
  if (answer?.lost) return { step: "queue" };
  if (answer?.ok) return { step: "stored" };
  const error = answer?.timeout ? NO_ANSWER : (answer?.error ?? {});
  if (error.code === CONFIRMATION_REQUIRED) return { step: "confirm", error };
  if (error.code === "RATE_LIMITED") {
    const seconds = Math.max(1, Number(error.retry_after) || 2);
    return { step: "wait", ms: seconds * 1000 + 50, seconds, error };
  }
  if (RETRYABLE.has(error.code) && failures + 1 < MAX_TRIES) {
    const ms = RETRY_MS * 2 ** failures;
    return { step: "retry", ms, seconds: Math.round(ms / 1000), error };
  }
  return { step: "fail", error };
}

/** The store's record of a pending entry. */
function recordOf(entry) {
  return {
    client_id: entry.clientId,
    body: entry.body,
    reply_to: entry.replyTo ?? null,
    order: entry.order,
    created_at: entry.createdAt.getTime(),
    confirmed: Boolean(entry.confirmed),
    failure: entry.failure ?? null,
  };
}

/**
 * `ask(event, payload)` emits with an ack (rejects without one in time); `sync` tells
 * whether the room is open and on which connection; `store` is the outbox store of `me`
 * in `roomId` (or a promise of it: lib/outboxstore.js); `locks` the Web Locks API (none:
 * no other tab is kept out; the server's idempotency still stores an entry once).
 * `onStored(message)` takes the stored copy from the ack; `onDiscard(entry)` runs after the
 * user discarded a failed one; `onDeclined(entry)` after they chose not to notify
 * everyone (@room, @here): the message is not sent, and its text goes back to the composer.
 * `confirm(error)` asks about that (everyone.js); `now()` is the clock.
 */
export function createOutbox(options) {
  const { roomId, me, timeline, view, ask, sync, onStored, onDiscard, onDeclined = () => {} } = options;
  const { locks = globalThis.navigator?.locks, confirm = confirmEveryone, now = () => Date.now() } = options;
  let disabled = false;
  let loaded = false;   // the store's entries are on the page: sending may start
  let lastOrder = 0;
  const storeReady = Promise.resolve(options.store).catch(() => null)
    .then((store) => store ?? memoryStore({ userId: me, roomId }));
  /** Writes run in the order they were asked for. */
  const write = (change) => storeReady.then(change);

  const nextOrder = () => (lastOrder = Math.max(now(), lastOrder + 1));

  function status(entry) {
    if (entry.state === "failed") {
      const again = disabled ? null : () => retry(entry);
      return { text: t("Not sent: {reason}", { reason: entry.error }), failed: true, retry: again, discard: () => discard(entry) };
    }
    const waiting = entry.state === "queued" && !sync.isOpen();
    return { text: waiting ? t("Waiting for the connection…") : (entry.state === "queued" && entry.note) || t("Sending…") };
  }

  function setState(entry, state, error = null, note = null) {
    timeline.setPending(entry, state, error, note);
    view.redrawPending(entry, status(entry));
  }

  function save(entry) {
    return write((store) => store.put(recordOf(entry)));
  }

  /** The server has it, or the user let it go: out of the store. */
  function forget(entry) {
    return write((store) => store.remove(entry.clientId));
  }

  function fail(entry, error) {
    entry.failure = { code: error?.code ?? null, message: error?.message ?? null };
    setState(entry, "failed", errorText(error, { action: "send" }));
    save(entry);
  }

  function drop(entry) {
    timeline.dropPending(entry);
    view.removePending(entry);
  }

  /** Show an entry (new, or from the store) among the pending ones, in its order. */
  function show(entry) {
    entry.failures = 0;
    view.addPending(entry, status(entry));
  }

  /** Send one entry; resolves to ms to wait before the next send (rate-limited, retrying), if any. */
  async function sendOne(entry) {
    const sentOn = sync.connection;
    setState(entry, "sending");
    let answer;
    try {
      const payload = { room_id: roomId, body: entry.body, client_id: entry.clientId };
      if (entry.replyTo) payload.reply_to = entry.replyTo.id;
      if (entry.confirmed) payload.confirm = true;
      answer = await ask("send_message", payload);
    } catch {
      // Lost with the connection: resent, same client_id, once the room is open again.
      answer = !sync.isOpen() || sentOn !== sync.connection ? { lost: true } : { timeout: true };
    }
    if (!timeline.isPending(entry)) return 0;
    const next = nextStep(answer, entry.failures);
    switch (next.step) {
      case "stored":
        await forget(entry);
        onStored(answer.message);
        if (timeline.isPending(entry)) drop(entry);
        return 0;
      case "queue":
        setState(entry, "queued");
        return 0;
      case "confirm":
        if (entry.confirmed) break;
        // Nothing was stored: the next sends wait behind this one while the user decides.
        if (!(await confirm(next.error))) {
          if (!timeline.isPending(entry)) return 0;
          forget(entry);
          drop(entry);
          onDeclined(entry);
          return 0;
        }
        if (!timeline.isPending(entry)) return 0;
        entry.confirmed = true;
        save(entry);
        return sendOne(entry);
      case "wait":
        // Not lost: it goes again, first in line, once the window allows.
        setState(entry, "queued", null, errorText(next.error, { action: "send", seconds: next.seconds }));
        return next.ms;
      case "retry":
        entry.failures += 1;
        setState(entry, "queued", null, t("Not sent yet: trying again in {seconds} s…", { seconds: next.seconds }));
        return next.ms;
      default:
        break;
    }
    fail(entry, next.error);
    return 0;
  }

  /** sendOne under the entry's Web Lock, unless another tab of mine sent or discarded it meanwhile. */
  async function sendExclusively(entry) {
    const store = await storeReady;
    const saved = await entry.saved;
    if (!locks?.request || !store.persistent || !saved) return sendOne(entry);
    return locks.request(`webchat.outbox.${entry.clientId}`, async () => {
      if (!timeline.isPending(entry) || entry.state !== "queued") return 0;
      if (!(await store.has(entry.clientId))) {
        drop(entry);
        return 0;
      }
      return sendOne(entry);
    });
  }

  const sending = singleFlight(async () => {
    let entry;
    while (loaded && sync.isOpen() && !disabled && (entry = timeline.nextQueued())) {
      const wait = await sendExclusively(entry);
      if (wait) return wait;
    }
    return 0;
  });

  function retry(entry) {
    entry.failures = 0;
    entry.failure = null;
    setState(entry, "queued");
    save(entry);
    sending.run();
  }

  function discard(entry) {
    forget(entry);
    drop(entry);
    onDiscard(entry);
  }

  /** An entry from the store, as it was left: failed ones (and old ones) wait for the user. */
  function restore(record) {
    if (timeline.pending().some((entry) => entry.clientId === record.client_id)) return;
    const createdAt = new Date(record.created_at);
    const entry = timeline.addPending(record.client_id, record.body, createdAt, record.reply_to ?? null, record.order);
    lastOrder = Math.max(lastOrder, record.order);
    entry.confirmed = Boolean(record.confirmed);
    entry.failure = record.failure ?? null;
    entry.saved = Promise.resolve(true);
    if (entry.failure) timeline.setPending(entry, "failed", errorText(entry.failure, { action: "send" }));
    else if (now() - createdAt.getTime() > STALE_MS) timeline.setPending(entry, "failed", t("It was written more than a day ago."));
    show(entry);
  }

  const ready = storeReady.then(async (store) => {
    for (const record of await store.load()) restore(record);
    loaded = true;
    sending.run();
  });

  return {
    /** A message written in the composer (answering `replyTo`, a quote): pending at the bottom, kept, and on its way. */
    add(body, clientId, replyTo = null) {
      const entry = timeline.addPending(clientId, body, new Date(now()), replyTo, nextOrder());
      entry.saved = save(entry);
      show(entry);
      sending.run();
    },

    /** Send what is queued (the room opened, a retry). */
    flush: () => sending.run(),

    /** The connection changed: queued entries say whether they wait for it. */
    refresh() {
      for (const entry of timeline.pending()) if (entry.state === "queued") view.redrawPending(entry, status(entry));
    },

    /** The timeline settled these entries (their stored copies came): the store lets them go. */
    settled(entries) {
      for (const entry of entries) forget(entry);
    },

    /**
     * Whether the outbox holds `clientId` (queued, being sent, or failed and offered for a
     * retry): resolves once the store's entries are loaded. A draft sent as `clientId`
     * that is still held must not also come back into the composer.
     */
    async holds(clientId) {
      await ready;
      return timeline.pending().some((entry) => entry.clientId === clientId);
    },

    /** Resolves once the store's entries are on the page. */
    ready,

    /** No longer a member: what is not sent yet fails with `text`, and leaves the store. */
    disable(text) {
      disabled = true;
      for (const entry of timeline.pending()) {
        if (entry.state !== "failed") setState(entry, "failed", text);
        forget(entry);
      }
    },
  };
}
