// The /chat socket of a page: a fresh token for every connection attempt, renewal
// before expiry, and the reconnection: socket.io's own is off, so that the page knows
// when the next attempt is due (the banner counts down to it) and can make it at once
// ("Retry now"). Lost connections and failed attempts are retried after a short,
// doubling, jittered wait; refusals by the server after a longer one (connectionstate.js).
import { io } from "../../vendor/socket.io/socket.io.esm.min.js";
import { ApiError, apiFetch, goToLogin } from "./api.js";
import { afterDisconnect, retryDelay } from "./connectionstate.js";

const RENEW_AT = 0.8;           // renew when 80% of the token's life is spent
const RETRY_RENEW_SECONDS = 15; // a failed renewal is tried again this soon
const TOKEN_CODES = new Set(["TOKEN_INVALID", "TOKEN_EXPIRED"]);

/**
 * The code of a refused connection. The contract puts it in `err.data.code`; a
 * refusal that only carries it inside `err.message` is understood too.
 */
export function refusalCode(error) {
  const code = error?.data?.code;
  if (code) return code;
  const found = String(error?.message ?? "").match(/\b(TOKEN_INVALID|TOKEN_EXPIRED|UNAUTHENTICATED)\b/);
  return found ? found[1] : null;
}

/**
 * Connect to /chat. `onStatus(state, info)` hears "connecting", "connected",
 * "reconnecting" and "offline", with `info`: {retryAt (when the next attempt is due, in
 * ms since the epoch; null while one runs or when connected), retryNow() (make it now)}.
 * Returns the socket.io socket.
 */
export function connectChat({ tokenUrl, loginUrl, onStatus = () => {} }) {
  let token = null;         // {access_token, expires_in, fetchedAt}
  let renewTimer = null;
  let retryTimer = null;
  let retryAt = null;
  let attempts = 0;         // failed attempts since the last connection
  let everConnected = false;
  let state = "connecting";
  let leaving = false;      // a navigation away has begun
  window.addEventListener("beforeunload", () => { leaving = true; });

  async function freshToken() {
    try {
      const data = await apiFetch(tokenUrl, { method: "POST" });
      token = { ...data, fetchedAt: Date.now() };
      return token;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        goToLogin(loginUrl);
        // Never settles: the page is leaving.
        return new Promise(() => {});
      }
      throw error;
    }
  }

  const socket = io("/chat", {
    // Called before every connection attempt, reconnections included.
    auth: (callback) => {
      freshToken().then(
        (fresh) => callback({ token: fresh.access_token }),
        // Without a new token, try the last one: a refusal brings us back here.
        () => callback({ token: token?.access_token ?? "" }),
      );
    },
    transports: ["websocket", "polling"],
    reconnection: false,
  });

  function status(next) {
    state = navigator.onLine === false && next !== "connected" ? "offline" : next;
    onStatus(state, { retryAt, retryNow });
  }

  const lostState = () => (everConnected ? "reconnecting" : "connecting");

  function secondsLeft() {
    if (!token) return 0;
    return token.expires_in - (Date.now() - token.fetchedAt) / 1000;
  }

  function scheduleRenewal(seconds) {
    clearTimeout(renewTimer);
    renewTimer = setTimeout(renew, Math.max(1, seconds) * 1000);
  }

  async function renew() {
    if (!socket.connected) return;
    try {
      const fresh = await freshToken();
      socket.timeout(10000).emit("auth", { token: fresh.access_token }, (err, ack) => {
        if (!err && ack?.ok) scheduleRenewal((ack.expires_in ?? fresh.expires_in) * RENEW_AT);
        else scheduleRenewal(Math.min(RETRY_RENEW_SECONDS, Math.max(1, secondsLeft() / 2)));
      });
    } catch {
      scheduleRenewal(Math.min(RETRY_RENEW_SECONDS, Math.max(1, secondsLeft() / 2)));
    }
  }

  /** Try to connect now (a due retry, "Retry now", the network back). */
  function attempt() {
    clearTimeout(retryTimer);
    retryTimer = null;
    retryAt = null;
    if (socket.connected) return;
    status(lostState());
    socket.connect();
    watchAttempt();
  }

  /**
   * A transport closed before it opened (a proxy that hangs up, a blocked WebSocket)
   * fails the attempt: socket.io would report nothing and wait out its 20 s timeout.
   */
  function watchAttempt() {
    const engine = socket.io.engine;
    if (!engine || engine.readyState === "open") return;
    let opened = false;
    engine.once("open", () => { opened = true; });
    engine.once("close", () => {
      // An attempt that failed with an error was reported already (connect_error).
      if (opened || socket.connected || socket.io.engine !== engine || retryTimer !== null) return;
      socket.disconnect();   // resets the half-open manager; nothing was connected
      retryLater();
    });
  }

  /** The next attempt, after a wait that grows with each failure (a restart's: none). */
  function retryLater({ refused = false, restart = false } = {}) {
    clearTimeout(retryTimer);
    const wait = retryDelay(attempts, { refused, restart });
    if (!restart) attempts += 1;
    retryAt = Date.now() + wait;
    retryTimer = setTimeout(attempt, wait);
    status(lostState());
  }

  function retryNow() {
    if (!socket.connected) attempt();
  }

  socket.on("connect", () => {
    everConnected = true;
    attempts = 0;
    clearTimeout(retryTimer);
    retryTimer = null;
    retryAt = null;
    scheduleRenewal(token ? token.expires_in * RENEW_AT - (Date.now() - token.fetchedAt) / 1000 : 1);
    status("connected");
  });

  socket.on("connect_error", (error) => {
    // A refused socket (bad or expired token, or any other refusal) is closed by
    // socket.io; one that could not reach the server is not: both are tried again.
    retryLater({ refused: !socket.active || TOKEN_CODES.has(refusalCode(error)) });
  });

  // The node is stopping (a deploy): the server's disconnect that follows is no refusal.
  let restarting = false;
  socket.on("server_restart", () => { restarting = true; });

  socket.on("disconnect", (reason) => {
    clearTimeout(renewTimer);
    // After a restart, what the outbox had in flight goes again with its client_id once
    // the room is open on the next node (the server stores it once).
    const next = afterDisconnect(reason, { restarting });
    // Any other end by the server (token expired, this session ended, logout): ask for a
    // new token at once, which sends a signed-out page to the login page now (unless the
    // page is leaving already: its own logout form); the socket is tried again later.
    if (next?.refused && !restarting && !leaving) freshToken().catch(() => {});
    restarting = false;
    if (next) retryLater(next);
  });

  // The browser knows about a lost network long before a heartbeat times out: drop the
  // dead transport, and say so at once; when the network is back, try at once.
  window.addEventListener("offline", () => {
    if (socket.connected) socket.io.engine?.close();
    status(state);
  });
  window.addEventListener("online", () => {
    attempts = 0;
    if (!socket.connected) attempt();
  });

  status("connecting");
  watchAttempt();
  return socket;
}
