// My read pointer on the chat page: the newest message on screen is marked read
// (`mark_read`, at most once a second, forward only) while the tab is visible and focused.
import { singleFlight } from "../lib/flight.js";

const MARK_READ_MS = 1000;   // emit `mark_read` at most this often

/**
 * `ask(event, payload)` emits with an ack (rejects without one in time); `isOpen()` says
 * whether the room is open on the current connection; `newestVisible()` is the view's.
 */
export function createReads({ roomId, timeline, ask, isOpen, newestVisible }) {
  let pointer = 0;    // my read pointer (a message id) as far as this page knows
  let wanted = 0;     // the newest message seen, to be sent
  let disabled = false;
  let seenFrame = 0;

  const canSend = () => wanted > pointer && isOpen() && !disabled;

  const sending = singleFlight(async () => {
    if (!canSend()) return;   // the next open or look tries again
    const id = wanted;
    try {
      const ack = await ask("mark_read", { room_id: roomId, message_id: id });
      if (ack?.ok) {
        notePointer(ack.last_read_message_id ?? id);
        return;
      }
    } catch {
      // No answer: as a refusal.
    }
    // A failure is not retried in a loop: the next message seen asks again.
    if (wanted === id) wanted = pointer;
  }, { gapMs: MARK_READ_MS });

  function notePointer(id) {
    const value = Number(id);
    if (Number.isFinite(value) && value > pointer) pointer = value;
  }

  function flush() {
    if (canSend()) sending.run();
  }

  /** The reader may have seen something new: mark the newest message on screen read. */
  function noteSeen() {
    if (!timeline.started || disabled || document.visibilityState !== "visible" || !document.hasFocus()) return;
    const message = newestVisible();
    if (!message || message.id <= pointer || message.id <= wanted) return;
    wanted = message.id;
    flush();
  }

  document.addEventListener("visibilitychange", noteSeen);
  window.addEventListener("focus", noteSeen);

  return {
    /** A pointer the server told (open_room, members, my own read_receipt or message). */
    notePointer,
    noteSeen,
    flush,

    /** noteSeen() once the scrolling of this frame is done. */
    noteSeenSoon() {
      if (!seenFrame) seenFrame = requestAnimationFrame(() => { seenFrame = 0; noteSeen(); });
    },

    /** No longer a member: nothing more to mark. */
    disable() {
      disabled = true;
    },
  };
}
