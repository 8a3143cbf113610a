// @room and @here in a room of more than a few members: the server refuses the send or
// the edit (CONFIRMATION_REQUIRED, with the member count) until the user agrees to notify
// them all; the page asks, and sends again with `confirm: true` (the same client_id).
import { confirmDialog } from "../lib/dialog.js";
import { t, tn } from "../lib/i18n.js";

export const CONFIRMATION_REQUIRED = "CONFIRMATION_REQUIRED";

/** Ask whether to notify every member; resolves true to go ahead. `error`: the ack's. */
export function confirmEveryone(error) {
  const count = Number(error?.member_count) || 0;
  return confirmDialog({
    title: t("Notify everyone?"),
    text: tn("This message will notify all {count} member of this room.",
      "This message will notify all {count} members of this room.", count),
    confirm: t("Notify everyone"),
  });
}
