// Which messages I may edit, and which one the Up arrow in an empty composer edits:
// pure, no DOM (unit-tested in tests/js/editable.test.mjs).

/** A margin so that an edit is not offered in its last moments, when it would arrive too late. */
export const EDIT_MARGIN_MS = 2000;

/**
 * Whether `message` is mine to edit at server time `now` (ms): my own text message, not
 * deleted, and its `editable_until` (null: no limit) still ahead.
 */
export function isEditable(message, me, now) {
  if (!message || message.sender?.id !== me || message.kind !== "text" || message.deleted) return false;
  if (message.editable_until === null || message.editable_until === undefined) return true;
  const until = Date.parse(message.editable_until);
  return Number.isFinite(until) && until - EDIT_MARGIN_MS > now;
}

/** The newest of my messages that I may still edit, from `descending` (newest first), or null. */
export function lastEditable(descending, me, now) {
  for (const message of descending) {
    if (message.sender?.id === me && message.kind === "text" && !message.deleted) {
      return isEditable(message, me, now) ? message : null;
    }
  }
  return null;
}

/** How long from `now` until `message` stops being editable, in ms (Infinity: never). */
export function editableFor(message, now) {
  if (message.editable_until === null || message.editable_until === undefined) return Infinity;
  return Math.max(0, Date.parse(message.editable_until) - EDIT_MARGIN_MS - now);
}
