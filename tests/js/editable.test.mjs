// Which messages I may edit (chat/editable.js) and which one the Up arrow edits.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EDIT_MARGIN_MS, editableFor, isEditable, lastEditable } from "../../webchat/static/js/chat/editable.js";

const ME = 1;
const NOW = Date.parse("2026-03-06T12:00:00Z");
const iso = (ms) => new Date(ms).toISOString();

function message(seq, { sender = ME, ...rest } = {}) {
  return { id: seq + 100, seq, sender: sender === null ? null : { id: sender, username: `u${sender}` }, kind: "text",
    body: `m${seq}`, deleted: false, editable_until: null, ...rest };
}

test("my own text messages are editable while the window is open, or always without one", () => {
  assert.equal(isEditable(message(1), ME, NOW), true);
  assert.equal(isEditable(message(1, { editable_until: iso(NOW + 60_000) }), ME, NOW), true);
  assert.equal(isEditable(message(1, { editable_until: iso(NOW - 1) }), ME, NOW), false);
  assert.equal(isEditable(message(1, { editable_until: iso(NOW + EDIT_MARGIN_MS - 1) }), ME, NOW), false,
    "not in its last moments");
});

test("others', deleted, file and system messages are not editable", () => {
  assert.equal(isEditable(message(1, { sender: 2 }), ME, NOW), false);
  assert.equal(isEditable(message(1, { deleted: true, body: "" }), ME, NOW), false);
  assert.equal(isEditable(message(1, { kind: "file" }), ME, NOW), false);
  assert.equal(isEditable(message(1, { kind: "system", sender: null }), ME, NOW), false);
  assert.equal(isEditable(undefined, ME, NOW), false);
});

test("the Up arrow edits my newest text message, past others' newer ones", () => {
  const desc = [message(5, { sender: 2 }), message(4), message(3), message(2, { sender: 2 })];
  assert.equal(lastEditable(desc, ME, NOW).seq, 4);
  const withFile = [message(6, { kind: "file" }), message(5, { deleted: true }), ...desc];
  assert.equal(lastEditable(withFile, ME, NOW).seq, 4, "files and tombstones are skipped");
});

test("the Up arrow edits nothing when my newest text message's window has closed", () => {
  const desc = [message(4, { editable_until: iso(NOW - 1000) }), message(3)];
  assert.equal(lastEditable(desc, ME, NOW), null, "not an older one instead: that would surprise");
  assert.equal(lastEditable([message(1, { sender: 2 })], ME, NOW), null);
  assert.equal(lastEditable([], ME, NOW), null);
});

test("how long an edit stays on offer", () => {
  assert.equal(editableFor(message(1), NOW), Infinity);
  assert.equal(editableFor(message(1, { editable_until: iso(NOW + 10_000) }), NOW), 10_000 - EDIT_MARGIN_MS);
  assert.equal(editableFor(message(1, { editable_until: iso(NOW - 10_000) }), NOW), 0);
});
