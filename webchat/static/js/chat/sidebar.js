// The chat page's room sidebar: my rooms, live (lib/roomlist.js: unread and mention
// badges, muted rooms greyed, newest activity first), the open room marked as the
// current page; one click opens another. Beside the chat on a wide screen; on a narrow
// one a drawer that the header's Rooms button opens (its badge counts what waits for me
// in the other rooms), and Escape, a click outside it or focus leaving it closes.
import { attention, badgeText, roomCounts } from "../lib/attention.js";
import { tn } from "../lib/i18n.js";
import { createRoomList } from "../lib/roomlist.js";

/**
 * `el`: nav (the sidebar), list, empty (its note for no rooms), template, toggle (the
 * header's button), backdrop.
 * `drawerQuery`: the media query under which the sidebar is a drawer (the CSS's).
 */
export function createSidebar({ el, typeLabels, roomUrl, currentId, drawerQuery }) {
  const drawer = window.matchMedia(drawerQuery);
  const rooms = createRoomList({ list: el.list, template: el.template, typeLabels, roomUrl, currentId, onChange: changed });

  function changed() {
    el.empty.hidden = el.list.children.length > 0;
    showWaiting();
  }

  /** The toggle's badge: what asks for me in the other rooms, counted as the tab's title is. */
  function showWaiting() {
    const others = rooms.items().filter((item) => Number(item.dataset.roomId) !== currentId).map((item) => roomCounts({
      type: item.dataset.type,
      notify: item.dataset.notify || null,
      unread_count: item.dataset.unread,
      mention_count: item.dataset.mentions,
    }));
    const { count } = attention(others);
    const badge = el.toggle.querySelector(".toggle-badge");
    badge.querySelector(".toggle-count").textContent = badgeText(count);
    badge.querySelector(".toggle-spoken").textContent = tn("{count} unread message", "{count} unread messages", count);
    badge.hidden = count === 0;
  }

  const isOpen = () => el.nav.classList.contains("is-open");

  function open() {
    el.nav.classList.add("is-open");
    el.toggle.setAttribute("aria-expanded", "true");
    el.backdrop.hidden = false;
    (el.list.querySelector("[aria-current]") ?? el.nav.querySelector("a"))?.focus();
  }

  /** Close the drawer; `focusToggle`: give the focus back to the button that opened it. */
  function close({ focusToggle = false } = {}) {
    if (!isOpen()) return;
    el.nav.classList.remove("is-open");
    el.toggle.setAttribute("aria-expanded", "false");
    el.backdrop.hidden = true;
    if (focusToggle) el.toggle.focus();
  }

  el.toggle.addEventListener("click", () => (isOpen() ? close({ focusToggle: true }) : open()));
  el.backdrop.addEventListener("click", () => close());
  el.nav.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    event.preventDefault();
    close({ focusToggle: true });
  });
  // Tabbing (or a screen reader) out of the drawer leaves it: it closes behind.
  el.nav.addEventListener("focusout", (event) => {
    if (isOpen() && event.relatedTarget && !el.nav.contains(event.relatedTarget) && event.relatedTarget !== el.toggle) close();
  });
  // Wide again: the sidebar is no drawer, nothing is open.
  drawer.addEventListener("change", () => { if (!drawer.matches) close(); });
  showWaiting();

  return {
    unread: (data) => rooms.unread(data),
    add: (room) => rooms.add(room),
    remove: (id) => rooms.remove(id),
    notify: (id, notify) => rooms.notify(id, notify),
    mark: () => rooms.mark(),
    replaceAll: (list, since) => rooms.replaceAll(list, since),
  };
}
