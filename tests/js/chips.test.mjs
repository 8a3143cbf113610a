// A message's reaction chips (chat/chips.js): counts, mine, the names on hover.
import assert from "node:assert/strict";
import { test } from "node:test";

import { QUICK_REACTIONS, hasMine, reactionChips } from "../../webchat/static/js/chat/chips.js";

const ME = 1;
const NAMES = new Map([[1, "me"], [2, "bob"], [3, "지민"]]);
const nameOf = (id) => NAMES.get(id);

test("one chip per reaction, in the server's order, mine highlighted", () => {
  const message = { reactions: [
    { emoji: "👍", count: 2, user_ids: [2, 1] },
    { emoji: "🎉", count: 1, user_ids: [3] },
  ] };
  assert.deepEqual(reactionChips(message, ME, nameOf), [
    { emoji: "👍", count: 2, mine: true, names: ["me", "bob"], others: 0 },
    { emoji: "🎉", count: 1, mine: false, names: ["지민"], others: 0 },
  ]);
});

test("people who are no longer members count as others", () => {
  const message = { reactions: [{ emoji: "😂", count: 4, user_ids: [2, 9, 10, 1] }] };
  assert.deepEqual(reactionChips(message, ME, nameOf),
    [{ emoji: "😂", count: 4, mine: true, names: ["me", "bob"], others: 2 }]);
});

test("a message without reactions, or a tombstone, has no chips", () => {
  assert.deepEqual(reactionChips({ reactions: [] }, ME, nameOf), []);
  assert.deepEqual(reactionChips({}, ME, nameOf), []);
  assert.deepEqual(reactionChips(undefined, ME, nameOf), []);
  assert.deepEqual(reactionChips({ reactions: [{ emoji: "👍", count: 0, user_ids: [] }] }, ME, nameOf), []);
});

test("whether a click adds or removes my reaction", () => {
  const message = { reactions: [{ emoji: "👍", count: 1, user_ids: [ME] }, { emoji: "❤️", count: 1, user_ids: [2] }] };
  assert.equal(hasMine(message, "👍", ME), true);
  assert.equal(hasMine(message, "❤️", ME), false);
  assert.equal(hasMine(message, "🙏", ME), false);
});

test("six quick reactions, each a single emoji", () => {
  assert.equal(QUICK_REACTIONS.length, 6);
  const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });
  for (const emoji of QUICK_REACTIONS) assert.equal([...graphemes.segment(emoji)].length, 1, emoji);
});
