// The single-flight helper (lib/flight.js), on mocked timers and clock.
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

import { singleFlight } from "../../webchat/static/js/lib/flight.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A task whose runs finish when the test says so; `runs` counts the starts. */
function controlled(results = []) {
  const state = { runs: 0, finish: null };
  state.task = () => {
    state.runs += 1;
    return new Promise((resolve) => { state.finish = () => resolve(results.shift()); });
  };
  return state;
}

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

test("a run while the task runs makes one more run after it", async () => {
  const work = controlled();
  const flight = singleFlight(work.task);
  flight.run();
  flight.run();
  flight.run();
  assert.equal(work.runs, 1);
  work.finish();
  await settle();
  assert.equal(work.runs, 2);
  work.finish();
  await settle();
  assert.equal(work.runs, 2);
});

test("without a queue, a run while the task runs is dropped", async () => {
  const work = controlled();
  const flight = singleFlight(work.task, { queue: false });
  flight.run();
  flight.run();
  work.finish();
  await settle();
  assert.equal(work.runs, 1);
});

test("starts keep their gap: a run too soon waits for it", async () => {
  const work = controlled();
  const flight = singleFlight(work.task, { gapMs: 1000 });
  flight.run();
  work.finish();
  await settle();
  mock.timers.tick(300);
  flight.run();
  flight.run();
  assert.equal(work.runs, 1);
  mock.timers.tick(699);
  assert.equal(work.runs, 1);
  mock.timers.tick(1);
  assert.equal(work.runs, 2);
});

test("a throttle drops a run inside the gap, and reset() forgets the gap", async () => {
  let runs = 0;
  const flight = singleFlight(() => { runs += 1; }, { gapMs: 2000, queue: false });
  flight.run();
  await settle();
  flight.run();
  mock.timers.tick(5000);
  assert.equal(runs, 1);
  flight.run();
  await settle();
  assert.equal(runs, 2);
  flight.reset();
  flight.run();
  assert.equal(runs, 3);
});

test("a task that answers with a delay runs again then, and not sooner", async () => {
  const work = controlled([3000, undefined]);
  const flight = singleFlight(work.task);
  flight.run();
  work.finish();
  await settle();
  flight.run();
  mock.timers.tick(2999);
  assert.equal(work.runs, 1);
  mock.timers.tick(1);
  assert.equal(work.runs, 2);
  work.finish();
  await settle();
  assert.equal(work.runs, 2);
});
