// Replies on the chat page: "Reply" in a message's menu puts a bar above the composer
// (who and what is quoted, × or Escape to cancel), and the next message or file sent
// carries `reply_to`. A reply shows its quote above its body; a click on it goes to the
// quoted message, loading it (and what lies between) when it is further back.
import { h } from "../lib/dom.js";
import { errorText } from "../lib/errors.js";
import { truncate } from "../lib/format.js";
import { t } from "../lib/i18n.js";

const QUOTE_CHARS = 140;   // of the quoted body, on one line
const BAR_CHARS = 100;

/** A quote's fields from a message held, as a reply's `reply_to` has them. */
export function quoteOf(message) {
  return {
    id: message.id, seq: message.seq, sender: message.sender ?? null,
    body: message.kind === "file" ? (message.file?.name ?? "") : message.body, deleted: Boolean(message.deleted),
  };
}

/**
 * `el.bar`: the reply bar above the composer. `timeline` is the page's; `reveal(seq)`
 * scrolls to a message on the page and highlights it; `loadAround(seq)` loads the one at
 * `seq` (resolves false when it is too far back); `focusComposer()`; `slotOf(messageId)`
 * finds a message's quote slot; `keepingPosition` is the view's.
 */
export function createReplies({ el, timeline, reveal, loadAround, focusComposer, slotOf, keepingPosition }) {
  let target = null;   // the quote the next send answers
  let disabled = false;

  function renderBar() {
    if (!target) {
      el.bar.hidden = true;
      el.bar.replaceChildren();
      return;
    }
    const name = target.sender?.username ?? t("Unknown");
    const cancelButton = h("button", {
      className: "reply-cancel", attrs: { type: "button", "aria-label": t("Cancel the reply"), title: t("Cancel the reply") }, text: "×",
    });
    cancelButton.addEventListener("click", () => {
      cancel();
      focusComposer();
    });
    el.bar.replaceChildren(
      h("span", { className: "reply-bar-text" },
        h("span", { className: "reply-bar-label", text: t("Replying to {name}", { name }) }),
        h("span", { className: "reply-bar-snippet", text: truncate(target.body, BAR_CHARS) })),
      cancelButton);
    el.bar.hidden = false;
  }

  function cancel() {
    target = null;
    renderBar();
  }

  function replyTo(message) {
    if (disabled) return;
    target = quoteOf(message);
    renderBar();
    focusComposer();
  }

  function failJump(messageId, text) {
    const slot = slotOf(messageId);
    if (!slot) return;
    keepingPosition(() => {
      slot.querySelector(".quote-error")?.remove();
      slot.append(h("p", { className: "quote-error", attrs: { role: "alert" }, text }));
    });
  }

  /** Go to the quoted message of reply `replyId`. */
  async function jump(quote, replyId) {
    const held = timeline.byId(quote.id);
    if (held && reveal(held.seq)) return;
    try {
      if (await loadAround(quote.seq)) {
        reveal(timeline.byId(quote.id)?.seq ?? quote.seq);
        return;
      }
      failJump(replyId, t("The original message is too far back to show here."));
    } catch (error) {
      failJump(replyId, errorText(error));
    }
  }

  /** The quote above a reply's body (stored, or pending when `replyId` is null). */
  function quoteNode(quote, replyId) {
    if (quote.deleted) {
      return h("p", { className: "msg-quote is-deleted", text: t("Original message was deleted") });
    }
    const name = quote.sender?.username ?? t("Unknown");
    const content = [
      h("span", { className: "msg-quote-sender", text: name }),
      h("span", { className: "msg-quote-text", text: truncate(quote.body, QUOTE_CHARS) }),
    ];
    if (replyId === null) return h("p", { className: "msg-quote" }, content);
    const button = h("button", {
      className: "msg-quote", attrs: { type: "button", title: t("Go to the original message") },
    }, content);
    button.addEventListener("click", () => jump(quote, replyId));
    return button;
  }

  return {
    /** A message's menu: Reply. */
    offer(tools, message) {
      if (disabled || message.deleted || message.kind === "system") return;
      tools.append(h("button", {
        className: "msg-tool msg-reply-button", attrs: { type: "button", "aria-label": t("Reply to this message"), title: t("Reply") },
        text: t("Reply"),
        on: { click: () => replyTo(message) },
      }));
    },

    /** The quote slot of a stored reply. */
    fillQuote(slot, message) {
      if (!message.reply_to || message.deleted) return;
      slot.append(quoteNode(message.reply_to, message.id));
    },

    /** The quote above a pending reply of mine (from the message held, if it is). */
    pendingQuote(entry) {
      if (!entry.replyTo) return null;
      const parent = timeline.byId(entry.replyTo.id);
      return quoteNode(parent ? quoteOf(parent) : entry.replyTo, null);
    },

    /** Answer `message` with the next send. */
    replyTo,

    /** What the next send answers ({id, seq, sender, body, deleted}), or null. */
    target: () => target,

    /** A send took the target: the bar goes. */
    sent() {
      if (target) cancel();
    },

    /** Escape in the composer: drop the reply; true when there was one. */
    cancel() {
      if (!target) return false;
      cancel();
      return true;
    },

    jump,

    disable() {
      disabled = true;
      cancel();
    },
  };
}
