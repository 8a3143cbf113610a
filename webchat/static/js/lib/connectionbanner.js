// The banner of a page with a socket (the chat, the room list) once it has been without a
// connection for BANNER_GRACE_MS: connecting, offline, or "retrying in N s" counting down,
// with "Retry now". A quick reconnect shows nothing. It is not a live region: the
// connection pill (role=status) already says each change, and a countdown spoken every
// second would drown everything else.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { BANNER_GRACE_MS, bannerView } from "./connectionstate.js";

/**
 * Returns `{element, update(state, info)}`: the page places `element`, and passes on every
 * status from lib/socket.js (`info`: {retryAt, retryNow}). `refocus()` takes the focus
 * when the banner goes while it had it.
 */
export function createConnectionBanner({ refocus = () => document.getElementById("main")?.focus(), now = () => Date.now() } = {}) {
  const text = h("span", { className: "connection-banner-text" });
  const button = h("button", { className: "button small connection-banner-retry", attrs: { type: "button" }, text: t("Retry now") });
  const element = h("div", { className: "connection-banner", attrs: { id: "connection-banner" }, hidden: true }, text, button);
  let status = { state: "connecting", retryAt: null, downSince: now() };
  let retryNow = null;
  let timer = null;

  /** Redraw at the next moment the banner changes: the end of the grace, or the countdown's next second. */
  function schedule() {
    clearTimeout(timer);
    if (status.state === "connected") return;
    const at = now();
    const graceLeft = status.downSince + BANNER_GRACE_MS - at;
    let wait = null;
    if (graceLeft > 0) wait = graceLeft;
    else if (status.retryAt !== null && status.retryAt > at) wait = (status.retryAt - at) % 1000 || 1000;
    if (wait !== null) timer = setTimeout(render, wait + 10);
  }

  function render() {
    const view = bannerView(status, now());
    if (!view && !element.hidden && element.contains(document.activeElement)) refocus();
    element.hidden = !view;
    if (view) {
      element.dataset.kind = view.kind;
      if (text.textContent !== view.text) text.textContent = view.text;
    } else {
      delete element.dataset.kind;
    }
    schedule();
  }

  button.addEventListener("click", () => retryNow?.());

  return {
    element,

    /** A status from lib/socket.js. */
    update(state, info = {}) {
      const down = state !== "connected";
      const downSince = down ? (status.downSince ?? now()) : null;
      status = { state, retryAt: info.retryAt ?? null, downSince };
      retryNow = info.retryNow ?? null;
      render();
    },
  };
}
