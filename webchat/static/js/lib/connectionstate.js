// The connection as the pages show it, pure (unit-tested in tests/js/connectionstate.test.mjs):
// how long lib/socket.js waits before its next attempt, and what the banner says
// (lib/connectionbanner.js) once the page has been without a connection for a while.
import { t } from "./i18n.js";

export const BANNER_GRACE_MS = 2000;   // a connection back sooner than this shows no banner
const LOST = { firstMs: 500, maxMs: 5000 };        // after a lost connection or a failed attempt
const REFUSED = { firstMs: 1000, maxMs: 30000 };   // after the server refused or ended it
// After `server_restart` (the node is stopping), each page reconnects at a random moment
// within this long: a node's thousands of sockets do not land on the next one at once.
export const RESTART_SPREAD_MS = 500;

/**
 * The wait before attempt number `attempt` (0 for the first after a loss): doubling up to
 * a ceiling, each drawn between half and one and a half times that, so that the pages of a
 * restarted server do not all come back in the same instant. `refused`: the server said
 * no (a bad token, a disconnect of its own), which a quick retry would not change.
 * `restart`: the server is stopping and asked for the reconnection, which goes at once
 * (within RESTART_SPREAD_MS) whatever came before.
 */
export function retryDelay(attempt, { refused = false, restart = false, random = Math.random } = {}) {
  if (restart) return Math.round(RESTART_SPREAD_MS * random());
  const { firstMs, maxMs } = refused ? REFUSED : LOST;
  const base = Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 16));
  return Math.round(Math.min(maxMs, base * (0.5 + random())));
}

/**
 * What follows a disconnect with socket.io's `reason`: null when the page closed the
 * socket itself; otherwise the options of the next attempt's retryDelay. `restarting`: the
 * server said `server_restart` before it (its node is stopping): reconnect at once, to
 * another node. Any other disconnect by the server (an expired token, a revoked login) is
 * a refusal: a new token decides, after a while.
 */
export function afterDisconnect(reason, { restarting = false } = {}) {
  if (reason === "io client disconnect") return null;
  if (restarting) return { restart: true };
  return { refused: reason === "io server disconnect" };
}

/**
 * What the banner shows at `now` for `state` ("connected", "connecting", "reconnecting",
 * "offline"), `retryAt` (when the next attempt is due; null while one runs) and `downSince`
 * (when the page last had no connection): null for nothing, else `{kind, text}`, kind
 * "offline", "retrying" or "connecting".
 */
export function bannerView({ state, retryAt = null, downSince = null }, now) {
  if (state === "connected" || downSince === null || now - downSince < BANNER_GRACE_MS) return null;
  if (state === "offline") return { kind: "offline", text: t("You're offline. Waiting for the network…") };
  if (retryAt !== null && retryAt > now) {
    const seconds = Math.max(1, Math.ceil((retryAt - now) / 1000));
    return { kind: "retrying", text: t("Not connected. Retrying in {seconds} s…", { seconds }) };
  }
  return { kind: "connecting", text: t("Connecting…") };
}
