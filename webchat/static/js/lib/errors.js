// What a person reads for an error code, for every page's scripts: one sentence per code,
// which an action may word its own way ("delete.FORBIDDEN"). A code without a sentence
// reads as the server's own words (a field's reason first, already in the page language),
// so that the server stays the owner of what it says. Sentences are whole ones, in the
// catalog (lib/i18n.js), with {placeholders} filled from the caller's values.
import { t } from "./i18n.js";

const SENTENCES = {
  // Not the server's codes: no answer to a socket event in time, no answer at all.
  NO_ANSWER: () => t("No answer from the server; try again."),
  NETWORK_ERROR: () => t("The server could not be reached; try again."),
  UNAUTHENTICATED: () => t("You were signed out."),
  RATE_LIMITED: () => t("Too many requests; wait a moment and try again."),
  "send.RATE_LIMITED": (values) => t("Too many messages: sending again in {seconds} s…", values),
  "upload.RATE_LIMITED": (values) => t("Too many uploads at once. Try again in {seconds} s.", values),
  "search.RATE_LIMITED": () => t("Too many searches; wait a moment."),
  SERVICE_UNAVAILABLE: () => t("The server is busy; try again."),
  ROOM_NOT_FOUND: () => t("This room no longer exists."),
  USER_NOT_IN_CHAT_ROOM: () => t("You are no longer a member of this room."),
  "kick.USER_NOT_IN_CHAT_ROOM": () => t("They are no longer a member."),
  "delete.FORBIDDEN": () => t("You can only delete your own messages."),
  "invite.FORBIDDEN": () => t("Direct rooms keep their participants."),
  "kick.FORBIDDEN": () => t("Only the owner can remove members."),
  "edit.FORBIDDEN": () => t("You can only edit your own messages."),
  MESSAGE_NOT_FOUND: () => t("This message no longer exists."),
  MESSAGE_EDIT_TIME_EXPIRED: () => t("Too late to edit: this message can no longer be changed."),
  REACTION_LIMIT: () => t("This message has as many different reactions as it can take."),
  MESSAGE_DELETE_TIME_EXPIRED: (values) => t("Too late to delete: messages can only be deleted within {window} of sending.", values),
  FILE_TOO_LARGE: (values) => t("Too large: files are limited to {limit}.", values),
  FILE_EMPTY: () => t("The file is empty."),
};

const unknown = () => t("Something went wrong.");

/**
 * The sentence for `error`: an ApiError (lib/api.js), a socket ack's `error` object, or
 * `{code}` for a refusal decided on the page. `action` picks its own wording where it
 * has one; the other `values` fill the sentence's {placeholders}. Anything without a
 * code (a bug, a network stack's message) reads as "Something went wrong.", never as
 * its raw message.
 */
export function errorText(error, { action, ...values } = {}) {
  const code = error?.code;
  if (!code) return unknown();
  const sentence = SENTENCES[`${action}.${code}`] ?? SENTENCES[code];
  if (sentence) return sentence(values);
  const fields = error.details?.fields ?? error.fields;
  return (fields && Object.values(fields)[0]) || error.message || unknown();
}
