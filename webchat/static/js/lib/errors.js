// What a person reads for an error code, for every page's scripts: one sentence per code,
// which an action may word its own way ("delete.FORBIDDEN"). A code without a sentence
// reads as the server's own words (a field's reason first), so that the server stays the
// owner of what it says. Sentences take {placeholders} from the caller's values and are
// whole sentences, so that a translated catalog can replace SENTENCES as it is.

const SENTENCES = {
  // Not the server's codes: no answer to a socket event in time, no answer at all.
  NO_ANSWER: "No answer from the server; try again.",
  NETWORK_ERROR: "The server could not be reached; try again.",
  UNAUTHENTICATED: "You were signed out.",
  RATE_LIMITED: "Too many requests; wait a moment and try again.",
  "send.RATE_LIMITED": "Too many messages: sending again in {seconds} s…",
  "upload.RATE_LIMITED": "Too many uploads at once. Try again in {seconds} s.",
  "search.RATE_LIMITED": "Too many searches; wait a moment.",
  SERVICE_UNAVAILABLE: "The server is busy; try again.",
  ROOM_NOT_FOUND: "This room no longer exists.",
  USER_NOT_IN_CHAT_ROOM: "You are no longer a member of this room.",
  "kick.USER_NOT_IN_CHAT_ROOM": "They are no longer a member.",
  "delete.FORBIDDEN": "You can only delete your own messages.",
  "invite.FORBIDDEN": "Direct rooms keep their participants.",
  "kick.FORBIDDEN": "Only the owner can remove members.",
  MESSAGE_NOT_FOUND: "This message no longer exists.",
  MESSAGE_DELETE_TIME_EXPIRED: "Too late to delete: messages can only be deleted within {window} of sending.",
  FILE_TOO_LARGE: "Too large: files are limited to {limit}.",
  FILE_EMPTY: "The file is empty.",
};

const UNKNOWN = "Something went wrong.";

/**
 * The sentence for `error`: an ApiError (lib/api.js), a socket ack's `error` object, or
 * `{code}` for a refusal decided on the page. `action` picks its own wording where it
 * has one; the other `values` fill the sentence's {placeholders}. Anything without a
 * code (a bug, a network stack's message) reads as UNKNOWN, never as its raw message.
 */
export function errorText(error, { action, ...values } = {}) {
  const code = error?.code;
  if (!code) return UNKNOWN;
  const sentence = SENTENCES[`${action}.${code}`] ?? SENTENCES[code];
  if (sentence) return sentence.replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  const fields = error.details?.fields ?? error.fields;
  return (fields && Object.values(fields)[0]) || error.message || UNKNOWN;
}
