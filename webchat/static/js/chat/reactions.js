// Reactions on the chat page: the bar under a message (one chip per emoji with its
// count, pressed when I am among them, who reacted in its tooltip; a click adds or takes
// back mine), and "React" in a message's menu: six quick ones and the full picker.
import { h } from "../lib/dom.js";
import { errorText } from "../lib/errors.js";
import { locale, t, tn } from "../lib/i18n.js";
import { QUICK_REACTIONS, hasMine, reactionChips } from "./chips.js";
import { pickEmoji } from "./picker.js";

const NO_ANSWER = { code: "NO_ANSWER" };

/** "alice, bob and 지민", "alice, bob 및 지민", in the page language. */
function nameList(names) {
  try {
    return new Intl.ListFormat(locale(), { style: "long", type: "conjunction" }).format(names);
  } catch {
    return names.join(", ");
  }
}

/** Who reacted with a chip's emoji, as a sentence. */
function whoText({ emoji, count, names, others }) {
  if (!names.length) return tn("{count} person reacted with {emoji}", "{count} people reacted with {emoji}", count, { emoji });
  if (!others) return t("{names} reacted with {emoji}", { names: nameList(names), emoji });
  return tn("{names} and {count} other reacted with {emoji}", "{names} and {count} others reacted with {emoji}", others,
    { names: names.join(", "), emoji });
}

/**
 * `ask(event, payload)` emits with an ack; `timeline` is the page's; `nameOf(userId)` a
 * member's username (or undefined); `onChanged(message)` shows a stored copy;
 * `slotOf(messageId)` finds a message's reactions slot; `keepingPosition` is the view's.
 */
export function createReactions({ me, ask, timeline, nameOf, onChanged, slotOf, keepingPosition }) {
  let disabled = false;
  let menu = null;   // the open quick menu: {node, li, close}

  function showError(messageId, error) {
    const slot = slotOf(messageId);
    if (!slot) return;
    keepingPosition(() => {
      slot.querySelector(".reaction-error")?.remove();
      slot.append(h("p", {
        className: "reaction-error", attrs: { role: "alert" }, text: errorText(error, { action: "react" }),
      }));
    });
  }

  /** Add `emoji` to message `id`, or take mine back when I have it already. */
  async function toggle(id, emoji, button = null) {
    if (disabled) return;
    const add = !hasMine(timeline.byId(id), emoji, me);
    if (button) button.disabled = true;
    let ack;
    try {
      ack = await ask("react", { message_id: id, emoji, add });
    } catch {
      ack = { ok: false, error: NO_ANSWER };
    }
    if (button?.isConnected) button.disabled = false;
    if (ack?.ok) onChanged(ack.message);
    else showError(id, ack?.error);
  }

  function closeMenu() {
    if (!menu) return;
    const { node, li, opener } = menu;
    menu = null;
    node.remove();
    li.classList.remove("has-menu");
    document.removeEventListener("pointerdown", outside, true);
    if (opener.isConnected && node.contains(document.activeElement)) opener.focus();
  }

  function outside(event) {
    if (menu && !menu.node.contains(event.target) && !menu.opener.contains(event.target)) closeMenu();
  }

  function more(message) {
    closeMenu();
    pickEmoji({ title: t("Choose a reaction"), onPick: (emoji) => toggle(message.id, emoji) });
  }

  function openMenu(opener, message) {
    const wasOpen = menu?.opener === opener;
    closeMenu();
    if (wasOpen) return;
    const li = opener.closest(".msg");
    const items = QUICK_REACTIONS.map((emoji) => h("button", {
      className: "react-quick", attrs: { type: "button", role: "menuitem", "aria-label": t("React with {emoji}", { emoji }),
        title: t("React with {emoji}", { emoji }), "aria-pressed": hasMine(message, emoji, me) ? "true" : "false" },
      text: emoji,
      on: { click: () => { closeMenu(); toggle(message.id, emoji); } },
    }));
    items.push(h("button", {
      className: "react-more", attrs: { type: "button", role: "menuitem" }, text: t("More…"),
      on: { click: () => more(message) },
    }));
    const node = h("div", { className: "react-menu", attrs: { role: "menu", "aria-label": t("Reactions") } }, items);
    node.addEventListener("keydown", (event) => {
      const index = items.indexOf(document.activeElement);
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closeMenu();
      } else if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        event.preventDefault();
        const step = event.key === "ArrowRight" ? 1 : -1;
        items[(index + step + items.length) % items.length].focus();
      }
    });
    opener.after(node);
    li?.classList.add("has-menu");
    menu = { node, li, opener };
    document.addEventListener("pointerdown", outside, true);
    items[0].focus();
  }

  return {
    /** The bar under a message: a chip per reaction. */
    fillBar(slot, message) {
      if (message.deleted || message.kind === "system") return;
      const chips = reactionChips(message, me, nameOf);
      if (!chips.length) return;
      slot.append(h("ul", { className: "reaction-bar", attrs: { "aria-label": t("Reactions") } }, chips.map((chip) => {
        const who = whoText(chip);
        const button = h("button", {
          className: `reaction-chip${chip.mine ? " is-mine" : ""}`,
          attrs: { type: "button", title: who, "aria-label": who, "aria-pressed": chip.mine ? "true" : "false" },
        }, h("span", { className: "reaction-emoji", text: chip.emoji }), h("span", { className: "reaction-count", text: chip.count }));
        button.addEventListener("click", () => toggle(message.id, chip.emoji, button));
        return h("li", {}, button);
      })));
    },

    /** A message's menu: React (the quick six and More…). */
    offer(tools, message) {
      if (disabled || message.deleted || message.kind === "system") return;
      const button = h("button", {
        className: "msg-tool msg-react-button",
        attrs: { type: "button", "aria-haspopup": "menu", "aria-label": t("Add a reaction"), title: t("Add a reaction") },
        text: t("React"),
      });
      button.addEventListener("click", () => openMenu(button, message));
      tools.append(button);
    },

    /** The full picker for message `id` (the browser tests open it from the menu). */
    more,

    /** No longer a member: no more reactions. */
    disable() {
      disabled = true;
      closeMenu();
    },
  };
}
