// How messages read as text on the room list and the chat page (lib/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { charCount, previewText, systemText, truncate } from "../../webchat/static/js/lib/format.js";

const alice = { id: 1, username: "alice" };
const bob = { id: 2, username: "bob" };
const system = (event, body = "") => ({ kind: "system", sender: null, body, event, deleted: false });

test("system notices name who did what", () => {
  assert.equal(systemText(system({ type: "created", user: alice, by: null })), "alice created the room");
  assert.equal(systemText(system({ type: "joined", user: bob, by: null })), "bob joined");
  assert.equal(systemText(system({ type: "invited", user: bob, by: alice })), "alice invited bob");
  assert.equal(systemText(system({ type: "kicked", user: bob, by: alice })), "bob was removed by alice");
  assert.equal(systemText(system({ type: "kicked", user: bob, by: null })), "bob was removed");
});

test("an announcement reads as its text, on the chat page and in the room list", () => {
  const notice = system({ type: "announcement", user: null, by: null }, "Maintenance at 18:00");
  assert.equal(systemText(notice), "Maintenance at 18:00");
  assert.equal(previewText(notice), "Maintenance at 18:00");
  const long = system({ type: "announcement", user: null, by: null }, "점검 ".repeat(100));
  assert.equal(charCount(previewText(long)), 80);
  assert.ok(previewText(long).endsWith("…"));
});

test("an event this page does not know shows its body", () => {
  assert.equal(systemText(system({ type: "renamed", user: alice, by: null }, "Renamed to Lounge")), "Renamed to Lounge");
  assert.equal(systemText(system({ type: "renamed", user: alice, by: null })), "Room update");
});

test("previews of the room list", () => {
  assert.equal(previewText(null), "No messages yet");
  assert.equal(previewText({ kind: "text", sender: alice, body: "hi\nthere", deleted: false }), "alice: hi there");
  assert.equal(previewText({ kind: "text", sender: alice, body: "", deleted: true }), "message deleted");
  assert.equal(previewText({ kind: "file", sender: bob, file: { name: "보고서.pdf" }, deleted: false }), "bob: 보고서.pdf");
});

test("characters are counted as the server counts them", () => {
  assert.equal(charCount("가나다"), 3);
  assert.equal(charCount("😀😀"), 2);
  assert.equal(truncate("a b c", 80), "a b c");
});
