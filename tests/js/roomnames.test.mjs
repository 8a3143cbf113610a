// Which rooms of a list show their details beside their name (lib/roomnames.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { sharedNames } from "../../webchat/static/js/lib/roomnames.js";

test("a name two rooms share is marked, once; names used once are not", () => {
  assert.deepEqual(sharedNames(["Design", "General", "Design", "디자인", "Design"]), new Set(["Design"]));
  assert.deepEqual(sharedNames(["a", "b", "c"]), new Set());
  assert.deepEqual(sharedNames([]), new Set());
});

test("names differing only in case or spacing look different, so they are not marked", () => {
  assert.deepEqual(sharedNames(["Design", "design", "Design "]), new Set());
});
