// The sentences of error codes (lib/errors.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { errorText } from "../../webchat/static/js/lib/errors.js";
import { setCatalog } from "../../webchat/static/js/lib/i18n.js";

test("a code has its sentence, and an action may word it its own way", () => {
  assert.equal(errorText({ code: "ROOM_NOT_FOUND", message: "No such room." }), "This room no longer exists.");
  assert.equal(errorText({ code: "FORBIDDEN" }, { action: "kick" }), "Only the owner can remove members.");
  assert.equal(errorText({ code: "ROOM_NOT_FOUND" }, { action: "kick" }), "This room no longer exists.");
});

test("placeholders take the caller's values", () => {
  assert.equal(errorText({ code: "MESSAGE_DELETE_TIME_EXPIRED" }, { action: "delete", window: "5 minutes" }),
    "Too late to delete: messages can only be deleted within 5 minutes of sending.");
  assert.equal(errorText({ code: "RATE_LIMITED" }, { action: "upload", seconds: 7 }),
    "Too many uploads at once. Try again in 7 s.");
});

test("without a sentence, the server's words: a field's reason first, then its message", () => {
  assert.equal(errorText({ code: "MESSAGE_TOO_LONG", message: "Messages are limited to 4000 characters." }),
    "Messages are limited to 4000 characters.");
  const invalid = { code: "VALIDATION_ERROR", message: "Some fields are missing or malformed.",
    details: { fields: { username: "No user by that name." } } };
  assert.equal(errorText(invalid, { action: "invite" }), "No user by that name.");
  assert.equal(errorText({ code: "VALIDATION_ERROR", message: "Bad.", fields: { body: "Expected text." } }), "Expected text.");
});

test("an error without a code never shows its raw message", () => {
  assert.equal(errorText(new TypeError("x is undefined")), "Something went wrong.");
  assert.equal(errorText(undefined), "Something went wrong.");
  assert.equal(errorText({ code: "TEAPOT" }), "Something went wrong.");
});

test("sentences come from the catalog, their placeholders filled in the translation", () => {
  setCatalog({
    locale: "ko",
    messages: {
      "Too many messages: sending again in {seconds} s…": "메시지가 너무 많아요. {seconds}초 후에 다시 보내요…",
      "Something went wrong.": "문제가 생겼어요.",
    },
  });
  try {
    assert.equal(errorText({ code: "RATE_LIMITED" }, { action: "send", seconds: 3 }), "메시지가 너무 많아요. 3초 후에 다시 보내요…");
    assert.equal(errorText({ code: "TEAPOT" }), "문제가 생겼어요.");
    // The server's own words are already in the page language.
    assert.equal(errorText({ code: "MESSAGE_TOO_LONG", message: "메시지는 4000자까지 보낼 수 있어요." }),
      "메시지는 4000자까지 보낼 수 있어요.");
  } finally {
    setCatalog(undefined);
  }
});
