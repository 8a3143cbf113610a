// My own `typing` signal (chat/people.js), on mocked timers and clock: however fast I
// type, and whether or not I send in between, the page emits at most one `typing` per
// TYPING_EMIT_MS, no more often than the server relays them (issue 24).
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

import { createPeople } from "../../webchat/static/js/chat/people.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

const settle = () => new Promise((resolve) => setImmediate(resolve));

function typist() {
  const emitted = [];
  const people = createPeople({
    el: { typing: {} },
    me: { id: 1, username: "me" },
    memberActions: () => {},
    emitTyping: () => { emitted.push(Date.now()); },
  });
  return { people, emitted };
}

test("a keystroke every 50 ms for 10 s emits one typing signal per 2.5 s", async () => {
  const { people, emitted } = typist();
  for (let ms = 0; ms < 10_000; ms += 50) {
    people.iAmTyping();
    await settle();
    mock.timers.tick(50);
  }
  assert.deepEqual(emitted.map((at) => at - 1_000_000), [0, 2500, 5000, 7500]);
});

test("sending a message does not start the gap anew", async () => {
  const { people, emitted } = typist();
  people.iAmTyping();
  await settle();
  mock.timers.tick(500);
  assert.equal(people.iSent, undefined);   // no reset for a send: the next keystroke waits
  people.iAmTyping();
  await settle();
  mock.timers.tick(2000);
  people.iAmTyping();
  await settle();
  assert.equal(emitted.length, 2);
  assert.equal(emitted[1] - emitted[0], 2500);
});
