// Same-origin calls to the JSON API with the page's session and CSRF token.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
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
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? response.statusText);
  }
  return data;
}

/** Leave for the login page, coming back here afterwards. */
export function goToLogin(loginUrl) {
  const next = `${location.pathname}${location.search}`;
  location.assign(`${loginUrl}?next=${encodeURIComponent(next)}`);
}
