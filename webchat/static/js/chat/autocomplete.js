// The `@` autocomplete of the composer and of the edit box: as one types after `@`, a
// list of the room's members (and @room, @here) that match (lib/mentions.js); the arrow
// keys move, Enter or Tab picks, Escape closes, a click picks. Nothing happens on a key
// while an IME composes (Korean): the list follows the composed text through `input`, and
// an Enter pressed while a Hangul syllable composes picks once it is committed
// (lib/enterkey.js hears Enter for the composer, the edit box and this list alike).
import { h } from "../lib/dom.js";
import { onEnter } from "../lib/enterkey.js";
import { t, tn } from "../lib/i18n.js";
import { insertMention, mentionAt, suggestions } from "../lib/mentions.js";

let counter = 0;

const BROADCAST_TEXT = {
  room: () => t("Notify everyone in this room"),
  here: () => t("Notify everyone online in this room"),
};

/**
 * `members()`: the room's members now ({id, username}); `me`: my id (not offered);
 * `maxLength`: the longest username. Returns `attach(textarea)`, which wires one box
 * and returns a function that unwires it.
 */
export function createAutocomplete({ members, me, maxLength = 32 }) {
  function attach(input) {
    counter += 1;
    const listId = `mention-list-${counter}`;
    const list = h("ul", {
      className: "mention-list",
      attrs: { id: listId, role: "listbox", "aria-label": t("People to mention") },
      hidden: true,
    });
    const spoken = h("span", { className: "sr-only", attrs: { "aria-live": "polite" } });
    input.after(list, spoken);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);

    let items = [];
    let active = -1;
    let typed = null;       // {start, query} of the mention being typed
    let dismissed = null;   // the start of a mention Escape closed: not reopened until typed again

    const optionId = (index) => `${listId}-${index}`;
    const isOpen = () => !list.hidden && items.length > 0;

    function setActive(index) {
      active = index;
      for (const [i, node] of [...list.children].entries()) {
        node.setAttribute("aria-selected", String(i === index));
        node.classList.toggle("is-active", i === index);
        if (i === index) node.scrollIntoView({ block: "nearest" });
      }
      if (index >= 0) input.setAttribute("aria-activedescendant", optionId(index));
      else input.removeAttribute("aria-activedescendant");
    }

    function close() {
      list.hidden = true;
      items = [];
      typed = null;
      list.replaceChildren();
      spoken.textContent = "";
      setActive(-1);
    }

    function option(item, index) {
      const label = item.kind === "member"
        ? [h("span", { className: "mention-name", text: `@${item.username}` })]
        : [h("span", { className: "mention-name", text: `@${item.kind}` }),
          h("span", { className: "mention-note", text: BROADCAST_TEXT[item.kind]() })];
      return h("li", {
        className: `mention-option kind-${item.kind}`,
        attrs: { id: optionId(index), role: "option", "aria-selected": "false" },
        dataset: { word: item.kind === "member" ? item.username : item.kind },
        on: {
          // The focus stays in the box; the click then picks.
          mousedown: (event) => event.preventDefault(),
          click: () => pick(index),
        },
      }, ...label);
    }

    function refresh() {
      const found = input.disabled ? null : mentionAt(input.value, input.selectionStart, maxLength);
      if (!found || found.start === dismissed) {
        if (!found) dismissed = null;
        close();
        return;
      }
      dismissed = null;
      const next = suggestions(members(), found.query, { me });
      if (!next.length) {
        close();
        return;
      }
      const keep = typed?.start === found.start && active >= 0 ? items[active] : null;
      typed = found;
      items = next;
      list.replaceChildren(...items.map(option));
      list.hidden = false;
      const again = keep ? items.findIndex((item) => item.kind === keep.kind && item.id === keep.id) : -1;
      setActive(again >= 0 ? again : 0);
      spoken.textContent = tn("{count} person to mention. Use the arrow keys and Enter to choose.",
        "{count} people to mention. Use the arrow keys and Enter to choose.", items.length);
    }

    function pick(index) {
      const item = items[index];
      if (!item || !typed) return;
      const word = item.kind === "member" ? item.username : item.kind;
      const { text, caret } = insertMention(input.value, typed.start, input.selectionStart, word);
      close();
      input.value = text;
      input.setSelectionRange(caret, caret);
      input.focus();
      // The composer's counter and typing signal hear it as typing.
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function onKeydown(event) {
      if (event.isComposing || event.keyCode === 229 || !isOpen()) return;
      const plain = !event.altKey && !event.ctrlKey && !event.metaKey;
      let handled = true;
      if (event.key === "ArrowDown" && plain) setActive((active + 1) % items.length);
      else if (event.key === "ArrowUp" && plain) setActive((active - 1 + items.length) % items.length);
      else if (event.key === "Tab" && plain && !event.shiftKey) pick(active);
      else if (event.key === "Escape") {
        dismissed = typed.start;
        close();
      } else handled = false;
      if (!handled) return;
      // Before the box's own keys (Enter sends, Escape cancels): this one is ours.
      event.preventDefault();
      event.stopImmediatePropagation();
    }

    const onBlur = () => setTimeout(() => { if (document.activeElement !== input) close(); }, 150);
    // Caret moved without typing (a click, Home): the mention under it, if any.
    const onMove = (event) => { if (!["ArrowUp", "ArrowDown", "Enter", "Tab", "Escape"].includes(event.key)) refresh(); };
    // Capturing on the box's parent runs before the box's own keydown handlers.
    const parent = input.parentElement;
    const capture = (event) => { if (event.target === input) onKeydown(event); };
    parent.addEventListener("keydown", capture, true);
    // Enter picks while the list is open, before the box sends or saves.
    const offEnter = onEnter(input, ({ altKey, ctrlKey, metaKey }) => {
      if (!isOpen() || altKey || ctrlKey || metaKey) return false;
      pick(active);
      return true;
    }, { first: true });
    input.addEventListener("input", refresh);
    input.addEventListener("keyup", onMove);
    input.addEventListener("click", refresh);
    input.addEventListener("blur", onBlur);

    return function detach() {
      parent.removeEventListener("keydown", capture, true);
      offEnter();
      input.removeEventListener("input", refresh);
      input.removeEventListener("keyup", onMove);
      input.removeEventListener("click", refresh);
      input.removeEventListener("blur", onBlur);
      list.remove();
      spoken.remove();
    };
  }

  return { attach };
}
