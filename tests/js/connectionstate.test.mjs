// The connection as the pages show it (lib/connectionstate.js): the waits between
// attempts, and what the banner says when.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BANNER_GRACE_MS,
  RESTART_SPREAD_MS,
  afterDisconnect,
  bannerView,
  retryDelay,
} from "../../webchat/static/js/lib/connectionstate.js";

test("attempts after a loss wait 0.5 s doubling to 5 s, each between half and one and a half times that", () => {
  const middle = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 10, 50].map((n) => retryDelay(n, { random: middle })), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.equal(retryDelay(0, { random: () => 0 }), 250);
  assert.equal(retryDelay(2, { random: () => 0.999999 }), 3000);
  assert.equal(retryDelay(3, { random: () => 0.999999 }), 5000, "never above the ceiling");
});

test("after a refusal the waits start at 1 s and grow to 30 s", () => {
  const middle = () => 0.5;
  assert.deepEqual([0, 1, 4, 5, 9].map((n) => retryDelay(n, { refused: true, random: middle })), [1000, 2000, 16000, 30000, 30000]);
});

test("a node that said server_restart is left at once, whatever failed before", () => {
  assert.equal(retryDelay(9, { restart: true, random: () => 0 }), 0);
  assert.equal(retryDelay(9, { refused: true, restart: true, random: () => 0.999999 }), RESTART_SPREAD_MS);
  assert.ok(RESTART_SPREAD_MS <= retryDelay(0, { refused: true, random: () => 0 }), "never later than the soonest refusal");
});

test("a server disconnect is a restart only after server_restart; otherwise a refusal", () => {
  assert.deepEqual(afterDisconnect("io server disconnect", { restarting: true }), { restart: true });
  assert.deepEqual(afterDisconnect("transport close", { restarting: true }), { restart: true });
  assert.deepEqual(afterDisconnect("io server disconnect"), { refused: true }, "a revoked login, an expired token");
  assert.deepEqual(afterDisconnect("transport close"), { refused: false });
  assert.deepEqual(afterDisconnect("ping timeout"), { refused: false });
  assert.equal(afterDisconnect("io client disconnect", { restarting: true }), null, "the page closed it itself");
});

test("no banner while connected, nor in the first 2 s without a connection", () => {
  const down = 10_000;
  assert.equal(bannerView({ state: "connected", downSince: null }, down), null);
  assert.equal(bannerView({ state: "reconnecting", retryAt: down + 500, downSince: down }, down + BANNER_GRACE_MS - 1), null);
  assert.equal(bannerView({ state: "offline", downSince: down }, down + 1000), null);
  assert.notEqual(bannerView({ state: "connecting", downSince: down }, down + BANNER_GRACE_MS), null);
});

test("after 2 s: offline, the countdown to the next attempt, or connecting while one runs", () => {
  const down = 10_000;
  const at = down + 3000;
  assert.deepEqual(bannerView({ state: "offline", retryAt: at + 4000, downSince: down }, at),
    { kind: "offline", text: "You're offline. Waiting for the network…" });
  assert.deepEqual(bannerView({ state: "reconnecting", retryAt: at + 4200, downSince: down }, at),
    { kind: "retrying", text: "Not connected. Retrying in 5 s…" });
  assert.equal(bannerView({ state: "reconnecting", retryAt: at + 1, downSince: down }, at).text, "Not connected. Retrying in 1 s…");
  assert.deepEqual(bannerView({ state: "reconnecting", retryAt: null, downSince: down }, at), { kind: "connecting", text: "Connecting…" });
  assert.equal(bannerView({ state: "reconnecting", retryAt: at, downSince: down }, at).kind, "connecting", "due: the attempt runs");
  assert.equal(bannerView({ state: "connecting", retryAt: null, downSince: down }, at).kind, "connecting");
});
