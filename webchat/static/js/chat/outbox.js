// Sending messages: each waits as pending (timeline.js) and goes out one at a time, so
// that they keep their order. One lost with the connection is resent with the same
// client_id once the room is open again (the server is idempotent on it); one refused
// for the rate is sent again when the server says; other refusals offer Retry.
import { errorText } from "../lib/errors.js";
import { singleFlight } from "../lib/flight.js";
import { t } from "../lib/i18n.js";
import { CONFIRMATION_REQUIRED, confirmEveryone } from "./everyone.js";

const NO_ANSWER = { code: "NO_ANSWER" };

/**
 * `ask(event, payload)` emits with an ack (rejects without one in time); `sync` tells
 * whether the room is open and on which connection; `onStored(message)` takes the
 * stored copy from the ack; `onDiscard(entry)` runs after the user discarded a failed one;
 * `onDeclined(entry)` after they chose not to notify everyone (@room, @here): the
 * message is not sent, and its text goes back to the composer.
 */
export function createOutbox({ roomId, timeline, view, ask, sync, onStored, onDiscard, onDeclined = () => {} }) {
  let disabled = false;

  function status(entry) {
    if (entry.state === "failed") {
      return { text: t("Not sent: {reason}", { reason: entry.error }), failed: true, retry: () => retry(entry), discard: () => discard(entry) };
    }
    const waiting = entry.state === "queued" && !sync.isOpen();
    return { text: waiting ? t("Waiting for the connection…") : (entry.state === "queued" && entry.note) || t("Sending…") };
  }

  function setState(entry, state, error = null, note = null) {
    timeline.setPending(entry, state, error, note);
    view.redrawPending(entry, status(entry));
  }

  /** Send one entry; resolves to ms to wait before the next send (rate-limited), if any. */
  async function sendOne(entry) {
    const sentOn = sync.connection;
    setState(entry, "sending");
    let ack;
    try {
      const payload = { room_id: roomId, body: entry.body, client_id: entry.clientId };
      if (entry.replyTo) payload.reply_to = entry.replyTo.id;
      if (entry.confirmed) payload.confirm = true;
      ack = await ask("send_message", payload);
    } catch {
      if (!timeline.isPending(entry)) return 0;
      // Lost with the connection: resent, same client_id, once the room is open again.
      if (!sync.isOpen() || sentOn !== sync.connection) setState(entry, "queued");
      else setState(entry, "failed", errorText(NO_ANSWER));
      return 0;
    }
    if (!timeline.isPending(entry)) return 0;
    if (ack?.ok) {
      onStored(ack.message);
      if (timeline.isPending(entry)) drop(entry);
      return 0;
    }
    if (ack?.error?.code === CONFIRMATION_REQUIRED && !entry.confirmed) {
      // Nothing was stored: the next sends wait behind this one while the user decides.
      if (!(await confirmEveryone(ack.error))) {
        drop(entry);
        onDeclined(entry);
        return 0;
      }
      if (!timeline.isPending(entry)) return 0;
      entry.confirmed = true;
      return sendOne(entry);
    }
    if (ack?.error?.code === "RATE_LIMITED") {
      // Not lost: it goes again, first in line, once the window allows.
      const seconds = Math.max(1, Number(ack.error.retry_after) || 2);
      setState(entry, "queued", null, errorText(ack.error, { action: "send", seconds }));
      return seconds * 1000 + 50;
    }
    setState(entry, "failed", errorText(ack?.error, { action: "send" }));
    return 0;
  }

  const sending = singleFlight(async () => {
    let entry;
    while (sync.isOpen() && !disabled && (entry = timeline.nextQueued())) {
      const wait = await sendOne(entry);
      if (wait) return wait;
    }
    return 0;
  });

  function drop(entry) {
    timeline.dropPending(entry);
    view.removePending(entry);
  }

  function retry(entry) {
    setState(entry, "queued");
    sending.run();
  }

  function discard(entry) {
    drop(entry);
    onDiscard(entry);
  }

  return {
    /** A message written in the composer (answering `replyTo`, a quote): pending at the bottom, and on its way. */
    add(body, clientId, replyTo = null) {
      const entry = timeline.addPending(clientId, body, new Date(), replyTo);
      view.addPending(entry, status(entry));
      sending.run();
    },

    /** Send what is queued (the room opened, a retry). */
    flush: () => sending.run(),

    /** The connection changed: queued entries say whether they wait for it. */
    refresh() {
      for (const entry of timeline.pending()) if (entry.state === "queued") view.redrawPending(entry, status(entry));
    },

    /** No longer a member: what is not sent yet fails with `text`. */
    disable(text) {
      disabled = true;
      for (const entry of timeline.pending()) if (entry.state !== "failed") setState(entry, "failed", text);
    },
  };
}
