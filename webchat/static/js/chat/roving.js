// The message list as one Tab stop (a roving tabindex): one message at a time is in the
// Tab order, the newest one on screen until the reader picks another, and Tab from it
// goes on past the list, to the composer. In the list the arrow keys move from message
// to message, Home and End go to the first and the last; Enter, the menu key or
// Shift+F10 opens a message's menu (its .msg-tools, the first action focused), where the
// arrow keys move between the actions and Escape goes back to the message. A message's
// own controls (its menu, links, reactions, a quote) are in the Tab order only while the
// focus is on one of them: Tab runs through them, then past the list. The editor in
// place keeps its own keys and Tab order.

// What can take the focus inside a message.
const CONTROLS = "a[href], button, input, select, textarea, summary, [tabindex]";
// Keys that open a message's menu from the message itself.
const MENU_KEYS = new Set(["Enter", "ContextMenu"]);

/** `list`: the <ol> of messages; `scroller`: the box that scrolls it. */
export function createRoving({ list, scroller }) {
  let current = null;       // the message in the Tab order
  let focusedIn = null;     // the message the focus was in last, to take it back after a redraw
  let menuKeyAt = -Infinity; // when the menu key opened a menu: the browser's own menu follows it

  const messages = () => [...list.children].filter((node) => node.classList.contains("msg"));
  const messageOf = (node) => {
    const li = node?.closest?.("li.msg");
    return li?.parentElement === list ? li : null;
  };

  /** Take a message's controls out of the Tab order (`out`), or put them back. */
  function tame(li, out) {
    for (const control of li.querySelectorAll(CONTROLS)) {
      if (control.closest(".msg-edit")) continue;
      if (out) {
        if (control.dataset.tabindex === undefined) control.dataset.tabindex = control.getAttribute("tabindex") ?? "";
        control.tabIndex = -1;
      } else if (control.dataset.tabindex !== undefined) {
        if (control.dataset.tabindex === "") control.removeAttribute("tabindex");
        else control.setAttribute("tabindex", control.dataset.tabindex);
        delete control.dataset.tabindex;
      }
    }
  }

  function setCurrent(li) {
    if (current === li) return;
    if (current?.isConnected) current.tabIndex = -1;
    current = li;
    if (li) li.tabIndex = 0;
  }

  /** The newest message whose box is in view (or the newest of all, when none is). */
  function newestVisible() {
    const box = scroller.getBoundingClientRect();
    const all = messages();
    for (let i = all.length - 1; i >= 0; i -= 1) {
      const rect = all[i].getBoundingClientRect();
      if (rect.top < box.bottom && rect.bottom > box.top) return all[i];
      if (rect.bottom <= box.top) break;
    }
    return all.at(-1) ?? null;
  }

  /** While the focus is elsewhere, the Tab stop follows what is on screen. */
  function follow() {
    if (list.contains(document.activeElement)) return;
    setCurrent(newestVisible());
  }

  function go(li) {
    if (!li) return;
    setCurrent(li);
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: "nearest" });
  }

  /** Whether the focus is on one of `li`'s controls (not on the message itself). */
  const inControl = (li) => document.activeElement !== li && li.contains(document.activeElement);

  const tools = (li) => [...li.querySelectorAll(":scope .msg-tools > .msg-tool")];

  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        if (node.parentElement === list && node.classList.contains("msg")) {
          if (node !== current) node.tabIndex = -1;
          tame(node, true);
        } else {
          const li = messageOf(node);
          if (li) tame(li, !inControl(li));
        }
      }
    }
    // A message drawn again (an edit, a reaction, a tombstone) took the focused control
    // with it: the focus goes back to its message rather than to the page.
    if (focusedIn?.isConnected && (document.activeElement === document.body || !document.activeElement)) {
      go(focusedIn);
    }
    if (!current?.isConnected || current.parentElement !== list) current = null;
    follow();
  }).observe(list, { childList: true, subtree: true });

  let scrolled = false;
  scroller.addEventListener("scroll", () => {
    if (scrolled) return;
    scrolled = true;
    requestAnimationFrame(() => {
      scrolled = false;
      follow();
    });
  }, { passive: true });

  list.addEventListener("focusin", (event) => {
    const li = messageOf(event.target);
    if (!li) return;
    if (focusedIn && focusedIn !== li && focusedIn.isConnected) tame(focusedIn, true);
    focusedIn = li;
    setCurrent(li);
    tame(li, event.target === li);
  });

  list.addEventListener("focusout", (event) => {
    const li = messageOf(event.target);
    if (!li || li.contains(event.relatedTarget)) return;
    tame(li, true);
    // Focus that went somewhere (not lost with a node that was drawn again) is not taken back.
    if (event.relatedTarget) focusedIn = null;
  });

  list.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    const li = messageOf(event.target);
    if (!li) return;
    if (event.target === li) {
      const all = messages();
      const index = all.indexOf(li);
      let target;
      if (event.key === "ArrowDown") target = all[index + 1];
      else if (event.key === "ArrowUp") target = all[index - 1];
      else if (event.key === "Home") target = all[0];
      else if (event.key === "End") target = all.at(-1);
      else if (MENU_KEYS.has(event.key) || (event.key === "F10" && event.shiftKey)) {
        event.preventDefault();
        if (event.key !== "Enter") menuKeyAt = event.timeStamp;
        // A message without a menu (a notice, a room I left) may still hold a link.
        const first = tools(li)[0] ?? li.querySelector(CONTROLS);
        if (first) {
          tame(li, false);
          first.focus();
        }
        return;
      } else return;
      event.preventDefault();
      go(target);
      return;
    }
    // In the message's menu: the arrows between the actions, Escape back to the message.
    if (!event.target.matches(".msg-tools > .msg-tool")) return;
    const items = tools(li);
    const index = items.indexOf(event.target);
    let target;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") target = items[(index + 1) % items.length];
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") target = items[(index - 1 + items.length) % items.length];
    else if (event.key === "Home") target = items[0];
    else if (event.key === "End") target = items.at(-1);
    else if (event.key === "Escape") target = li;
    else return;
    event.preventDefault();
    target.focus();
  });

  // The menu key and Shift+F10 also ask for the browser's context menu: ours is open instead.
  list.addEventListener("contextmenu", (event) => {
    if (event.timeStamp - menuKeyAt < 1000) event.preventDefault();
    menuKeyAt = -Infinity;
  });

  follow();
}
