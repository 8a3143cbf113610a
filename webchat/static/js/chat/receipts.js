// Read receipts: each other member's read pointer, shown as "Read by alice, bob" under
// the newest loaded message they have read (nothing when that is their own message).
import { h } from "../lib/dom.js";
import { t } from "../lib/i18n.js";

const SHOWN_NAMES = 3;

/**
 * `options`: me (user id), messagesDesc() (stored messages, newest first), slotOf(seq)
 * (that message's [data-slot=receipts], or null).
 */
export function createReceipts({ me, messagesDesc, slotOf }) {
  const pointers = new Map();   // user id -> {username, lastRead}
  let placed = new Map();       // seq -> [usernames]

  function fill(slot, names) {
    if (!slot) return;
    if (!names?.length) {
      slot.replaceChildren();
      slot.removeAttribute("title");
      return;
    }
    const shown = names.slice(0, SHOWN_NAMES);
    const more = names.length - shown.length;
    const text = more > 0
      ? t("Read by {names} and {count} more", { names: shown.join(", "), count: more })
      : t("Read by {names}", { names: shown.join(", ") });
    slot.replaceChildren(h("span", { className: "receipt", text }));
    slot.title = t("Read by {names}", { names: names.join(", ") });
  }

  /** Where each pointer lands among the loaded messages. */
  function compute() {
    const next = new Map();
    const readers = [...pointers.entries()]
      .filter(([id, p]) => id !== me && Number.isFinite(p.lastRead))
      .sort(([, a], [, b]) => b.lastRead - a.lastRead);
    if (!readers.length) return next;
    const list = messagesDesc();
    let index = 0;
    for (const [id, pointer] of readers) {
      // Pointers are sorted newest first, so the scan only moves down the list.
      while (index < list.length && list[index].id > pointer.lastRead) index += 1;
      if (index >= list.length) break;
      const at = list[index];
      // A pointer left on their own "joined", "invited" or "created" notice was set by
      // the server when they came in: they have not read what came before.
      if (at.id === pointer.lastRead && at.kind === "system" && at.event?.user?.id === id) continue;
      let targetIndex = index;
      while (targetIndex < list.length && list[targetIndex].kind === "system") targetIndex += 1;
      const target = list[targetIndex];
      // Nothing to show it under, or their own message: that they read it goes without saying.
      if (!target || target.sender?.id === id) continue;
      if (!next.has(target.seq)) next.set(target.seq, []);
      next.get(target.seq).push(pointer.username);
    }
    for (const names of next.values()) names.sort((a, b) => a.localeCompare(b));
    return next;
  }

  function render() {
    const next = compute();
    for (const seq of new Set([...placed.keys(), ...next.keys()])) {
      const before = placed.get(seq)?.join("\n");
      const after = next.get(seq)?.join("\n");
      if (before !== after) fill(slotOf(seq), next.get(seq));
    }
    placed = next;
  }

  return {
    /** A members list (open_room ack or `members` event): its pointers are the truth. */
    setMembers(members) {
      const known = new Map(pointers);
      pointers.clear();
      for (const member of members ?? []) {
        const lastRead = Math.max(Number(member.last_read_message_id) || 0, known.get(member.id)?.lastRead || 0);
        pointers.set(member.id, { username: member.username, lastRead: lastRead || NaN });
      }
      render();
    },

    /** A `read_receipt` event: pointers only move forward. */
    update(userId, lastReadId) {
      const pointer = pointers.get(Number(userId));
      const value = Number(lastReadId);
      if (!pointer || !Number.isFinite(value)) return;
      if (Number.isFinite(pointer.lastRead) && pointer.lastRead >= value) return;
      pointer.lastRead = value;
      render();
    },

    /** Messages were added or changed: receipts may move. */
    refresh: render,

    /** Fill a freshly rendered message's slot. */
    fillSlot(slot, message) {
      fill(slot, placed.get(message.seq));
    },
  };
}
