// One Enter, one action, with the whole composed text (lib/enterkey.js): the event
// sequences of Chrome, Safari, Firefox and CDP, for Hangul and for Japanese.
import assert from "node:assert/strict";
import { test } from "node:test";

import { COMMIT_WAIT_MS, SWALLOW_MS, createEnterState, isEnter, isHangul } from "../../webchat/static/js/lib/enterkey.js";

const PLAIN = { altKey: false, ctrlKey: false, metaKey: false };
const enter = (extra = {}) => ({ key: "Enter", code: "Enter", keyCode: 13, isComposing: false, ...extra });
const composingEnter = (extra = {}) => enter({ keyCode: 229, isComposing: true, ...extra });

function composed(state, ...updates) {
  state.compositionStart();
  for (const text of updates) state.compositionUpdate(text);
}

test("a plain Enter acts at once; Shift+Enter is the browser's new line", () => {
  const state = createEnterState();
  assert.deepEqual(state.keyDown(enter(), 0), { prevent: false, stop: false, act: PLAIN });
  assert.deepEqual(state.keyDown(enter({ shiftKey: true }), 10).act, null);
  assert.equal(state.keyDown(enter({ shiftKey: true }), 10).prevent, false);
  assert.deepEqual(state.keyDown(enter({ ctrlKey: true }), 20).act, { ...PLAIN, ctrlKey: true });
  assert.equal(state.keyDown({ key: "a", code: "KeyA", keyCode: 65 }, 30).act, null);
});

test("Chrome and a Korean IME: the composing Enter waits, acts at compositionend, its second keydown is swallowed", () => {
  const state = createEnterState();
  composed(state, "ㅎ", "하", "한");
  const first = state.keyDown(composingEnter({ key: "Process" }), 100);
  assert.deepEqual(first, { prevent: true, stop: true, act: null }, "no new line, nothing yet");
  assert.deepEqual(state.compositionEnd("한", 102), PLAIN, "acts once the syllable is committed");
  assert.deepEqual(state.keyDown(enter(), 103), { prevent: true, stop: true, act: null }, "the same press again");
  assert.equal(state.keyUp(enter(), 150), false);
  assert.deepEqual(state.keyDown(enter(), 400).act, PLAIN, "the next press acts");
});

test("CDP: a composition that the Enter did not end is committed by hand at the keyup", () => {
  const state = createEnterState();
  composed(state, "한");
  assert.equal(state.keyDown(composingEnter({ keyCode: 13 }), 0).prevent, true);
  assert.equal(state.commitDue(), true);
  assert.equal(state.keyUp(enter(), 20), true, "still composing at the keyup: commit it");
  assert.deepEqual(state.compositionEnd("한", 60), PLAIN);
  assert.equal(state.commitDue(), false);
  assert.deepEqual(state.keyDown(enter(), 70).act, PLAIN, "the keyup ended the press: the next Enter acts");
});

test("Safari: compositionend comes first, then keydown 229: acts for Hangul", () => {
  const state = createEnterState();
  composed(state, "한");
  assert.equal(state.compositionEnd("한", 0), null, "no Enter waited for it");
  assert.deepEqual(state.keyDown(enter({ keyCode: 229 }), 1), { prevent: true, stop: true, act: PLAIN });
  assert.equal(state.keyUp(enter(), 50), false);
});

test("Japanese and Chinese: Enter only commits the candidate, in every browser's order", () => {
  const chrome = createEnterState();
  composed(chrome, "にほん", "日本");
  assert.deepEqual(chrome.keyDown(composingEnter(), 0), { prevent: true, stop: true, act: null });
  assert.equal(chrome.compositionEnd("日本", 3), null);
  assert.deepEqual(chrome.keyDown(enter(), 600).act, PLAIN, "a later Enter sends");

  const safari = createEnterState();
  composed(safari, "ni", "你");
  assert.equal(safari.compositionEnd("你", 0), null);
  assert.deepEqual(safari.keyDown(enter({ keyCode: 229 }), 1), { prevent: true, stop: true, act: null });

  const cdp = createEnterState();
  composed(cdp, "にほん");
  cdp.keyDown(composingEnter({ keyCode: 13 }), 0);
  assert.equal(cdp.keyUp(enter(), 10), true, "CDP's composition is committed by hand, as a real IME commits it");
  assert.equal(cdp.compositionEnd("にほん", 40), null, "and nothing acts");
});

test("Firefox's order (compositionend, then a keydown 13 not composing) acts once, on the keydown", () => {
  const state = createEnterState();
  composed(state, "한");
  assert.equal(state.compositionEnd("한", 0), null);
  assert.deepEqual(state.keyDown(enter(), 1).act, PLAIN);
});

test("a key after a composition ends the Safari window; Shift+Enter while composing is a new line", () => {
  const state = createEnterState();
  composed(state, "한");
  state.compositionEnd("한", 0);
  state.keyDown({ key: "Process", code: "KeyA", keyCode: 229 }, 5);
  assert.deepEqual(state.keyDown(enter({ keyCode: 229 }), 6).act, PLAIN, "not taken for the composition's own Enter");

  composed(state, "글");
  assert.deepEqual(state.keyDown(composingEnter({ shiftKey: true }), 10), { prevent: false, stop: false, act: null });
});

test("the swallow lasts one repeat, and not past SWALLOW_MS or another key", () => {
  const state = createEnterState();
  composed(state, "한");
  state.keyDown(composingEnter(), 0);
  state.compositionEnd("한", 2);
  assert.deepEqual(state.keyDown(enter(), SWALLOW_MS + 1).act, PLAIN, "too late to be the same press");

  composed(state, "글");
  state.keyDown(composingEnter(), 1000);
  state.compositionEnd("글", 1002);
  state.keyDown({ key: "a", code: "KeyA", keyCode: 65 }, 1003);
  assert.deepEqual(state.keyDown(enter(), 1004).act, PLAIN, "another key came between");
});

test("an Enter whose composition ends too late does not act; a synthetic composing keydown is left alone", () => {
  const state = createEnterState();
  composed(state, "한");
  state.keyDown(composingEnter(), 0);
  assert.equal(state.compositionEnd("한", COMMIT_WAIT_MS + 1), null);

  const bare = createEnterState();   // no compositionstart seen: nothing to commit or wait for
  assert.deepEqual(bare.keyDown(composingEnter(), 0), { prevent: true, stop: true, act: null });
  assert.equal(bare.keyUp(enter(), 5), false);
  assert.deepEqual(bare.keyDown(enter(), 10).act, PLAIN);
});

test("Hangul and Enter are told by their text and their key or physical key", () => {
  assert.equal(isHangul("ㅎ"), true);
  assert.equal(isHangul("한"), true);
  assert.equal(isHangul("にほん"), false);
  assert.equal(isHangul(""), false);
  assert.equal(isEnter({ key: "Process", code: "Enter" }), true);
  assert.equal(isEnter({ key: "Unidentified", code: "NumpadEnter" }), true);
  assert.equal(isEnter({ key: "a", code: "KeyA" }), false);
});
