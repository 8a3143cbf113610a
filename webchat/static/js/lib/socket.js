// The /chat socket of a page: a fresh token for every connection attempt, renewal
// before expiry, and a reconnect after refusals that socket.io would not retry itself.
import { io } from "../../vendor/socket.io/socket.io.esm.min.js";
import { ApiError, apiFetch, goToLogin } from "./api.js";

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
 * Connect to /chat. `onStatus(state)` hears "connecting", "connected",
 * "reconnecting" and "offline". Returns the socket.io socket.
 */
export function connectChat({ tokenUrl, loginUrl, onStatus = () => {} }) {
  let token = null;         // {access_token, expires_in, fetchedAt}
  let renewTimer = null;
  let retryTimer = null;
  let retryDelay = 1000;
  let everConnected = false;

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
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });

  function status(state) {
    onStatus(navigator.onLine === false && state !== "connected" ? "offline" : state);
  }

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

  /** Connect again after a refusal or a server-side disconnect, backing off. */
  function retryLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (!socket.connected) socket.connect();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  socket.on("connect", () => {
    everConnected = true;
    retryDelay = 1000;
    clearTimeout(retryTimer);
    scheduleRenewal(token ? token.expires_in * RENEW_AT - (Date.now() - token.fetchedAt) / 1000 : 1);
    status("connected");
  });

  socket.on("connect_error", (error) => {
    status(everConnected ? "reconnecting" : "connecting");
    // An active socket is retried by socket.io; a refused one (bad or expired token,
    // or any other refusal) is not: fetch a new token by connecting again.
    if (!socket.active || TOKEN_CODES.has(refusalCode(error))) retryLater();
  });

  socket.on("disconnect", (reason) => {
    clearTimeout(renewTimer);
    status("reconnecting");
    // The server ended it (token expired, logout): socket.io leaves it closed.
    if (reason === "io server disconnect") retryLater();
  });

  // The browser knows about a lost network long before a heartbeat times out:
  // drop the dead transport so the manager starts reconnecting right away.
  window.addEventListener("offline", () => {
    status("offline");
    if (socket.connected) socket.io.engine?.close();
  });
  window.addEventListener("online", () => {
    if (!socket.connected) {
      status("reconnecting");
      if (!socket.active) socket.connect();
    }
  });

  status("connecting");
  return socket;
}
