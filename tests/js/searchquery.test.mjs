// The search page's query helpers (lib/searchquery.js): the filters found in a query as
// the server reads them, chips toggled on and off, and snippets cut around highlights.
import assert from "node:assert/strict";
import { test } from "node:test";

import { filtersOf, hasToken, snippet, toggleToken, without } from "../../webchat/static/js/lib/searchquery.js";

test("filters are the query's known name:value words, not phrases, exclusions or links", () => {
  const q = 'from:민수 회의 "has:file" -has:link https://x.test after:2026-03-01 foo:bar';
  assert.deepEqual(filtersOf(q).map((f) => [f.name, f.value, q.slice(f.start, f.end)]), [
    ["from", "민수", "from:민수"],
    ["after", "2026-03-01", "after:2026-03-01"],
  ]);
  assert.deepEqual(filtersOf(""), []);
  assert.deepEqual(filtersOf(null), []);
});

test("a chip adds its filter once, and takes every copy of it out again", () => {
  assert.equal(toggleToken("번역", "has:file"), "번역 has:file");
  assert.equal(toggleToken("", "is:mention"), "is:mention");
  assert.equal(toggleToken("번역 HAS:FILE 요청 has:file", "has:file"), "번역 요청");
  assert.equal(hasToken("번역 Has:File", "has:file"), true);
  assert.equal(hasToken('"has:file"', "has:file"), false, "a phrase is text, not a filter");
});

test("removing a filter leaves the rest of the query as written", () => {
  const q = "회의실 from:bob 예약";
  const [filter] = filtersOf(q);
  assert.equal(without(q, filter.start, filter.end), "회의실 예약");
});

test("a snippet marks the highlighted ranges, counted in code points", () => {
  const text = "😀 번역을 부탁해요";
  // 번역 is code points 2..4 (the emoji is one code point, two UTF-16 units).
  assert.deepEqual(snippet(text, [[2, 4]]), [
    { text: "😀 ", mark: false }, { text: "번역", mark: true }, { text: "을 부탁해요", mark: false },
  ]);
  assert.deepEqual(snippet("abc", []), [{ text: "abc", mark: false }]);
  assert.deepEqual(snippet("abc", [[5, 9], [-1, 2], [2, 1]]), [{ text: "abc", mark: false }], "ranges outside the text are ignored");
});

test("a long text is cut around its first highlight, with an ellipsis at each cut", () => {
  const text = `${"가".repeat(300)}번역${"나".repeat(300)}`;
  const pieces = snippet(text, [[300, 302]], 60);
  assert.equal(pieces[0].text, "…");
  assert.equal(pieces[pieces.length - 1].text, "…");
  assert.deepEqual(pieces.filter((p) => p.mark).map((p) => p.text), ["번역"]);
  const shown = pieces.map((p) => p.text).join("");
  assert.equal(Array.from(shown).length, 62);
  const start = snippet(text, [[0, 1]], 60);
  assert.equal(start[0].text, "가");
  assert.equal(start[0].mark, true, "a match at the start is not cut off");
});
