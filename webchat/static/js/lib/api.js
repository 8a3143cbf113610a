// Same-origin calls to the JSON API with the page's session and CSRF token.

export class ApiError extends Error {
  /** `details` is the whole `error` object: `fields`, `room_id`, `retry_after`, ... */
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details ?? {};
  }
}

let clockOffset = 0;   // server time minus local time, in ms, from the last Date header

/** The server's clock as far as we know it (from response `Date` headers), in ms. */
export function serverNow() {
  return Date.now() + clockOffset;
}

/** Note a response's `Date` header (1-second resolution: assume the middle of it). */
export function noteServerDate(header) {
  const date = Date.parse(header ?? "");
  if (Number.isFinite(date)) clockOffset = date + 500 - Date.now();
}

/** The CSRF token base.html puts in <meta name="csrf-token">. */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/**
 * fetch() a JSON endpoint; resolves to the parsed body, rejects with ApiError
 * (`status` 0 and code NETWORK_ERROR when the request never got an answer).
 */
export async function apiFetch(url, { method = "GET", json, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (!["GET", "HEAD", "OPTIONS"].includes(method)) headers["X-CSRFToken"] = csrfToken();
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, signal, credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK_ERROR", "The server could not be reached.");
  }
  noteServerDate(response.headers.get("Date"));
  // An answer that is not JSON (a proxy's error page) still has a status.
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? response.statusText, error);
  }
  return data;
}

/** Leave for the login page, coming back here afterwards. */
export function goToLogin(loginUrl) {
  const next = `${location.pathname}${location.search}`;
  location.assign(`${loginUrl}?next=${encodeURIComponent(next)}`);
}
