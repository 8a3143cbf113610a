// Deleting one's own message within the server's window: Delete in the message's menu
// ([data-slot=tools]) while the window is open, confirmed in a dialog; a refusal is
// said under the message ([data-slot=actions]). A moderator (the room's owner, a site
// admin) is offered Delete on everyone else's too, with no window.
import { serverNow } from "../lib/api.js";
import { confirmDialog } from "../lib/dialog.js";
import { announce, h } from "../lib/dom.js";
import { errorText } from "../lib/errors.js";
import { parseTime } from "../lib/format.js";
import { t, tn } from "../lib/i18n.js";

const DELETE_MARGIN_MS = 2000;   // offer delete a little less long than the server allows
const FINAL = new Set(["MESSAGE_DELETE_TIME_EXPIRED", "FORBIDDEN", "MESSAGE_NOT_FOUND"]);

/**
 * `windowMs`: the server's MESSAGE_DELETE_WINDOW_SECONDS, in ms. `ask(event, payload)`
 * emits with an ack; `onDeleted(messageId)` shows the tombstone; `slotOf(messageId,
 * name)` finds a message's slot of that name; `keepingPosition` is the view's; `list`
 * the messages'. `moderates()`: whether I moderate this room now.
 */
export function createDeletion({ me, windowMs, ask, onDeleted, slotOf, keepingPosition, list, announcer, moderates = () => false }) {
  let disabled = false;

  function windowText() {
    const seconds = Math.round(windowMs / 1000);
    if (seconds % 60) return tn("{count} second", "{count} seconds", seconds);
    return tn("{count} minute", "{count} minutes", seconds / 60);
  }

  async function remove(message, button) {
    const moderating = message.sender?.id !== me;
    const ok = await confirmDialog({
      title: moderating ? t("Delete {name}'s message?", { name: message.sender?.username ?? t("Unknown") }) : t("Delete this message?"),
      text: moderating
        ? t("Everyone in the room will see “removed by a moderator” in its place. This cannot be undone.")
        : t("Everyone in the room will see “message deleted” in its place. This cannot be undone."),
      confirm: t("Delete"),
      danger: true,
    });
    if (!ok || disabled || !button.isConnected) return;
    button.disabled = true;
    let ack;
    let failure;
    try {
      ack = await ask("delete_message", { message_id: message.id });
      failure = ack?.ok ? null : ack?.error;
    } catch {
      failure = { code: "NO_ANSWER" };
    }
    if (!failure) {
      onDeleted(message.id);
      announce(announcer, t("Message deleted."));
      return;
    }
    const slot = slotOf(message.id, "actions");
    if (!slot) return;
    keepingPosition(() => {
      slot.querySelector(".msg-error")?.remove();
      // The message may have been drawn again since: its menu's Delete is another button.
      const current = slotOf(message.id, "tools")?.querySelector(".msg-delete");
      if (FINAL.has(failure.code)) current?.remove();
      else if (current) current.disabled = false;
      slot.append(h("span", {
        className: "msg-error", attrs: { role: "alert" }, text: errorText(failure, { action: "delete", window: windowText() }),
      }));
    });
  }

  function deleteButton(message) {
    const button = h("button", {
      className: "msg-tool msg-delete", attrs: { type: "button", "aria-label": t("Delete this message"), title: t("Delete") },
      text: t("Delete"),
    });
    button.addEventListener("click", () => remove(message, button));
    return button;
  }

  return {
    /** A message's menu: Delete, for my own message while the window is open (a moderator's: any). */
    offer(tools, message) {
      if (disabled || message.kind === "system" || message.deleted) return;
      if (message.sender?.id !== me) {
        if (moderates()) tools.append(deleteButton(message));
        return;
      }
      const created = parseTime(message.created_at)?.getTime();
      if (!created) return;
      const left = created + windowMs - DELETE_MARGIN_MS - serverNow();
      if (left <= 0) return;
      const button = deleteButton(message);
      tools.append(button);
      // The window closes: the offer goes (the node may have been redrawn since; then it is gone already).
      setTimeout(() => { if (button.isConnected) keepingPosition(() => button.remove()); }, left);
    },

    /** No longer a member: no more offers, and the ones shown go. */
    disable() {
      disabled = true;
      for (const button of list.querySelectorAll(".msg-delete")) button.remove();
    },
  };
}
