// One file upload as multipart over XMLHttpRequest, which (unlike fetch) reports the
// progress of the request body.
import { ApiError, csrfToken, noteServerDate } from "./api.js";

/**
 * POST `file` (and `clientId`, which makes a retry idempotent, and `replyTo`, the id of
 * the message it answers) to `url`.
 * `onProgress(fraction)` hears 0..1 while the body goes out. Returns {promise, abort}:
 * the promise resolves to the parsed JSON body, rejects with ApiError (status 0 and
 * NETWORK_ERROR when no answer came), or with an AbortError after abort().
 */
export function uploadFile(url, file, { clientId, replyTo = null, onProgress = () => {} } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      const total = event.lengthComputable ? event.total : file.size;
      if (total > 0) onProgress(Math.min(1, event.loaded / total));
    });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => {
      noteServerDate(xhr.getResponseHeader("Date"));
      let data;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        resolve(data);
        return;
      }
      const error = data?.error ?? {};
      const retryAfter = Number(xhr.getResponseHeader("Retry-After")) || Number(error.retry_after) || null;
      reject(new ApiError(xhr.status, error.code ?? `HTTP_${xhr.status}`, error.message ?? xhr.statusText,
        { ...error, retry_after: retryAfter }));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "NETWORK_ERROR", "The server could not be reached.")));
    xhr.addEventListener("abort", () => reject(new DOMException("The upload was cancelled.", "AbortError")));
    const form = new FormData();
    // The id first: the server knows the retry before it reads the file.
    if (clientId) form.append("client_id", clientId);
    if (replyTo) form.append("reply_to", String(replyTo));
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
