// A username box with suggestions from GET /api/v1/users?q=<prefix>: the ARIA 1.2
// combobox pattern (input + listbox), debounced, with arrow keys, Enter and Escape.
import { ApiError, apiFetch } from "./api.js";
import { h } from "./dom.js";
import { errorText } from "./errors.js";
import { t, tn } from "./i18n.js";

const DEBOUNCE_MS = 200;
let counter = 0;

/**
 * Wire `input` (an <input type="text">) to a listbox of suggestions placed after it.
 * `onChoose(user, {byEnter})` is called when a suggestion is picked (`byEnter`: with the
 * Enter key, not a click, so that one Enter can also do what the box is for); `exclude()` returns a Set of
 * lower-cased usernames not to suggest (members already, people already chosen).
 * `status` is an element that says "No one by that name" and such (polite live region).
 */
export function userSearch({ input, usersUrl, onChoose, exclude = () => new Set(), status = null }) {
  counter += 1;
  const listId = `user-suggestions-${counter}`;
  const list = h("ul", { className: "suggestions", attrs: { id: listId, role: "listbox", "aria-label": t("Suggestions") }, hidden: true });
  // How many suggestions there are is for screen readers; the list shows it to everyone else.
  const spoken = h("span", { className: "sr-only", attrs: { "aria-live": "polite" } });
  input.after(list, spoken);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listId);
  input.setAttribute("autocomplete", "off");
  input.setAttribute("autocapitalize", "none");
  input.setAttribute("spellcheck", "false");

  let users = [];
  let active = -1;
  let timer = null;
  let controller = null;
  let lastQuery = "";

  function say(text) {
    if (status) status.textContent = text;
  }

  function speak(text) {
    spoken.textContent = text;
  }

  function optionId(index) {
    return `${listId}-${index}`;
  }

  function setActive(index) {
    active = index;
    list.querySelectorAll("[role=option]").forEach((option, i) => {
      option.setAttribute("aria-selected", String(i === index));
      option.classList.toggle("is-active", i === index);
      if (i === index) option.scrollIntoView({ block: "nearest" });
    });
    if (index >= 0) input.setAttribute("aria-activedescendant", optionId(index));
    else input.removeAttribute("aria-activedescendant");
  }

  function close() {
    clearTimeout(timer);
    controller?.abort();
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  }

  /** `shown` as the list's options, the first one active. */
  function showList(shown) {
    users = shown;
    list.replaceChildren(...users.map((user, index) => h("li", {
      className: "suggestion",
      attrs: { id: optionId(index), role: "option", "aria-selected": "false" },
      dataset: { username: user.username },
      text: user.username,
      on: {
        // Keep the focus in the input; the click then picks.
        mousedown: (event) => event.preventDefault(),
        click: () => choose(index),
      },
    })));
    const open = users.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    setActive(open ? 0 : -1);
    return open;
  }

  function render(found) {
    const skip = exclude();
    if (showList(found.filter((user) => !skip.has(user.username.toLowerCase())))) {
      say("");
      speak(tn("{count} suggestion. Use the arrow keys and Enter to choose.",
        "{count} suggestions. Use the arrow keys and Enter to choose.", users.length));
    } else {
      speak("");
      say(found.length ? t("Everyone by that name is already here.") : t("No one by that name."));
    }
  }

  async function search(query) {
    controller?.abort();
    controller = new AbortController();
    try {
      const data = await apiFetch(`${usersUrl}?q=${encodeURIComponent(query)}`, { signal: controller.signal });
      if (input.value.trim() !== query) return;
      render(data.users ?? []);
    } catch (error) {
      if (error.name === "AbortError") return;
      close();
      say(error instanceof ApiError && error.code === "RATE_LIMITED"
        ? errorText(error, { action: "search" }) : t("Suggestions are unavailable right now."));
    }
  }

  function choose(index, { byEnter = false } = {}) {
    const user = users[index];
    if (!user) return;
    close();
    say("");
    onChoose(user, { byEnter });
  }

  /**
   * While the answer for what is typed now is on its way, the list keeps only the names
   * that still match it (the server's rule: anywhere in the name), so that Enter never
   * picks a name the text no longer fits.
   */
  function narrow(query) {
    if (list.hidden) return;
    const part = query.toLowerCase();
    const keep = users.filter((user) => user.username.toLowerCase().includes(part));
    if (keep.length === users.length) return;
    if (!keep.length) {
      users = [];
      close();
      return;
    }
    const activeName = users[active]?.username;
    showList(keep);
    const again = keep.findIndex((user) => user.username === activeName);
    setActive(again >= 0 ? again : 0);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const query = input.value.trim();
    lastQuery = query;
    if (!query) {
      controller?.abort();
      close();
      say("");
      return;
    }
    narrow(query);
    timer = setTimeout(() => search(query), DEBOUNCE_MS);
  });

  input.addEventListener("keydown", (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    const open = !list.hidden && users.length > 0;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (open) setActive((active + 1) % users.length);
      else if (users.length && input.value.trim() === lastQuery) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        setActive(0);
      }
    } else if (event.key === "ArrowUp") {
      if (!open) return;
      event.preventDefault();
      setActive((active - 1 + users.length) % users.length);
    } else if (event.key === "Enter") {
      if (open && active >= 0) {
        event.preventDefault();
        choose(active, { byEnter: true });
      }
    } else if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    } else if (event.key === "Tab") {
      close();
    }
  });

  input.addEventListener("blur", () => setTimeout(close, 120));

  return {
    close,
    clear() {
      input.value = "";
      users = [];
      close();
    },
  };
}
