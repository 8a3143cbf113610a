// The chat page's message list: stored messages in seq order with the pending ones
// below, the reader's place kept while it changes (pinned to the bottom, or anchored on
// the first visible message), the "New messages" button and the unread divider. A
// window far back (timeline.hasNewer) is never pinned to its bottom: the button takes
// the reader to the latest messages instead, and scrolling down asks for newer pages.
import { announce, h } from "../lib/dom.js";
import { t, tn } from "../lib/i18n.js";
import { fillMessage, fillPending, regroup, spoken } from "./render.js";

const BOTTOM_SLACK_PX = 48;      // this close to the bottom counts as "at the bottom"
const OLDER_TRIGGER_PX = 120;    // this close to the top (or bottom, far back) asks for more
const HIGHLIGHT_MS = 2500;       // how long a message jumped to stays highlighted

/**
 * `el`: scroller, list, newMessages (the button), firstUnread (the button up to the
 * divider), announcer. `decorate(slots, message)`
 * fills a message's slots (render.js); `pendingQuote(entry)` is the quote above a
 * pending reply (or null); `thumbnailBox` is the server's; `typeInto` the box that typing
 * in the image viewer goes to (the composer); `nameOf(id)` a member's
 * username (for the mentions in bodies). Callbacks: `onLook()` when the reader may have
 * seen something new, `onNearTop()` when older messages are wanted, `onNearBottom()`
 * when newer ones are (a window far back), `onJump()` after the button took the reader
 * down.
 */
export function createView(options) {
  const { el, timeline, me, myName, nameOf, decorate, pendingQuote, thumbnailBox, typeInto } = options;
  const { onLook, onNearTop, onNearBottom, onJump } = options;
  const nodes = new Map();          // seq -> its <li>
  const pendingNodes = new Map();   // client_id -> its <li>
  let stickToBottom = true;
  let unseen = 0;                   // new messages below the view
  let lastScrollTop = 0;
  let divider = null;               // the "New messages" <li>, placed once, on the first open
  let dividerPointer = 0;
  let caughtUp = false;             // the reader reached the latest after the divider: no button up to it

  const attachment = { thumbnailBox, onLoad: imageLoaded, typeInto };
  const render = (li, message) => fillMessage(li, message, { me, decorate, attachment, nameOf });

  /** A thumbnail that finishes loading must not leave a pinned view short of the bottom. */
  function imageLoaded() {
    if (stickToBottom) scrollToBottom();
  }

  /** The message node after `node`, past the unread divider: its day and header depend on what precedes it. */
  function nextMessage(node) {
    let next = node.nextElementSibling;
    while (next && !next.classList.contains("msg")) next = next.nextElementSibling;
    return next;
  }

  function placed(li) {
    regroup(li);
    regroup(nextMessage(li));
  }

  function removeNode(li) {
    const next = nextMessage(li);
    li.remove();
    regroup(next);
  }

  /** Put a stored message's node in seq order, always above the pending ones. */
  function insert(message) {
    const li = render(h("li"), message);
    nodes.set(message.seq, li);
    // The next stored message on the page (the rest of its batch may not be yet).
    let next = timeline.next(message.seq);
    while (next && !nodes.has(next.seq)) next = timeline.next(next.seq);
    const before = next ? nodes.get(next.seq) : pendingNodes.values().next().value;
    el.list.insertBefore(li, before ?? null);
    placed(li);
  }

  function atBottom() {
    if (timeline.hasNewer) return false;
    const s = el.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= BOTTOM_SLACK_PX;
  }

  function scrollToBottom() {
    el.scroller.scrollTop = el.scroller.scrollHeight;
    stickToBottom = true;
    hideNewMessages();
  }

  function firstVisibleNode() {
    const top = el.scroller.getBoundingClientRect().top;
    for (const node of el.list.children) if (node.getBoundingClientRect().bottom > top) return node;
    return null;
  }

  /** Run `mutate`, then restore the reader's place; returns whether it was pinned. */
  function keepingPosition(mutate) {
    const pinned = stickToBottom || atBottom();
    const anchor = pinned ? null : firstVisibleNode();
    const before = anchor ? anchor.getBoundingClientRect().top : 0;
    mutate();
    if (pinned) scrollToBottom();
    else if (anchor?.isConnected) el.scroller.scrollTop += anchor.getBoundingClientRect().top - before;
    return pinned;
  }

  /** The button: to the latest messages from a window far back, else to the unseen ones. */
  function refreshButton() {
    let label = null;
    if (timeline.hasNewer) label = t("Jump to the latest messages");
    else if (unseen) label = tn("{count} new message", "{count} new messages", unseen);
    el.newMessages.hidden = label === null;
    if (label !== null) el.newMessages.firstChild.textContent = `${label} `;
  }

  function showNewMessages(count) {
    unseen += count;
    refreshButton();
  }

  function hideNewMessages() {
    unseen = 0;
    refreshButton();
  }

  /** The newest stored message with its node on screen, or null. */
  function newestVisible() {
    const box = el.scroller.getBoundingClientRect();
    for (const message of timeline.descending()) {
      const rect = nodes.get(message.seq).getBoundingClientRect();
      if (rect.bottom <= box.top) return null;   // this one and all older are above the view
      if (rect.top < box.bottom && rect.height > 0) return message;
    }
    return null;
  }

  /** Put the divider before the first loaded message after the old pointer. */
  function positionDivider() {
    if (!divider) return;
    const first = timeline.firstAfter(dividerPointer);
    const node = first && nodes.get(first.seq);
    if (!node || divider.nextElementSibling === node) return;
    const after = divider.nextElementSibling;
    el.list.insertBefore(divider, node);
    regroup(node);
    regroup(after);
  }

  /** "First unread ↑": while the divider is above the view, until the reader has caught up. */
  function refreshFirstUnread() {
    if (!el.firstUnread) return;
    if (divider && atBottom()) caughtUp = true;
    const above = divider?.isConnected && divider.getBoundingClientRect().bottom <= el.scroller.getBoundingClientRect().top;
    el.firstUnread.hidden = !(above && !caughtUp);
  }

  /** Scroll so that the divider sits at the top of the view. */
  function toDivider() {
    const box = el.scroller.getBoundingClientRect();
    el.scroller.scrollTop += divider.getBoundingClientRect().top - box.top - 8;
    stickToBottom = atBottom();
    lastScrollTop = el.scroller.scrollTop;
  }

  el.scroller.addEventListener("scroll", () => {
    const top = el.scroller.scrollTop;
    // Only the reader scrolling up unpins the view. A scroll event that is dispatched
    // after the view got shorter (the composer grew) but before the ResizeObserver has
    // scrolled down again must not: scrollTop did not move, the bottom did.
    if (top < lastScrollTop - 1 || !stickToBottom) stickToBottom = atBottom();
    lastScrollTop = top;
    if (stickToBottom) hideNewMessages();
    onLook();
    if (el.scroller.scrollTop < OLDER_TRIGGER_PX) onNearTop();
    const below = el.scroller.scrollHeight - el.scroller.scrollTop - el.scroller.clientHeight;
    if (timeline.hasNewer && below < OLDER_TRIGGER_PX) onNearBottom();
    refreshFirstUnread();
  }, { passive: true });

  new ResizeObserver(() => { if (stickToBottom) scrollToBottom(); }).observe(el.scroller);

  el.newMessages.addEventListener("click", () => {
    scrollToBottom();
    onJump();
  });

  el.firstUnread?.addEventListener("click", () => {
    if (!divider?.isConnected) return;
    toDivider();
    refreshFirstUnread();
  });

  return {
    keepingPosition,
    scrollToBottom,
    newestVisible,

    /** Whether the list does not fill the view yet (more history would help). */
    unfilled() {
      return el.scroller.scrollHeight <= el.scroller.clientHeight;
    },

    /**
     * Show what a timeline merge changed (call inside keepingPosition). Returns the
     * arrivals from others, which `arrived()` counts and announces.
     */
    show(change) {
      for (const entry of change.settled) {
        removeNode(pendingNodes.get(entry.clientId));
        pendingNodes.delete(entry.clientId);
      }
      for (const message of change.changed) regroup(render(nodes.get(message.seq), message));
      for (const message of change.added) insert(message);
      if (change.added.length) positionDivider();
      refreshButton();
    },

    /**
     * New messages from others came at the bottom: offer them with the button when the
     * reader is scrolled up, and say them (one announcement per batch: a live region
     * only reliably speaks its latest text) when `live`.
     */
    arrived(change, { pinned, live }) {
      const fresh = change.arrived.filter((m) => m.sender?.id !== me);
      if (!pinned && timeline.started && fresh.length) showNewMessages(fresh.length);
      if (live && fresh.length === 1) announce(el.announcer, spoken(fresh[0]));
      else if (live && fresh.length > 1) announce(el.announcer, tn("{count} new message", "{count} new messages", fresh.length));
    },

    /** A stored message in a new state (a tombstone), keeping the reader's place. */
    redraw(message) {
      const li = nodes.get(message.seq);
      if (li) keepingPosition(() => regroup(render(li, message)));
    },

    /** A stored message's <li>, if it is on the page. */
    node: (seq) => nodes.get(seq) ?? null,

    /** Scroll the message at `seq` to the middle of the view and highlight it for a moment. */
    reveal(seq) {
      const li = nodes.get(seq);
      if (!li) return false;
      li.scrollIntoView({ block: "center" });
      stickToBottom = atBottom();
      lastScrollTop = el.scroller.scrollTop;
      li.classList.remove("is-highlighted");
      void li.offsetWidth;   // restart the animation when it is jumped to again
      li.classList.add("is-highlighted");
      setTimeout(() => li.classList.remove("is-highlighted"), HIGHLIGHT_MS);
      return true;
    },

    /** Mark the message at `seq` as the one searched for, until the page is left. */
    markHit(seq) {
      for (const li of el.list.querySelectorAll(".msg.is-hit")) li.classList.remove("is-hit");
      nodes.get(seq)?.classList.add("is-hit");
    },

    /** The room is opened afresh: every stored message goes (the pending ones stay). */
    reset() {
      for (const li of nodes.values()) li.remove();
      nodes.clear();
      divider?.remove();
      divider = null;
      dividerPointer = 0;
      hideNewMessages();
      refreshFirstUnread();
    },

    /**
     * Where the reader is: the first message in view and how far below the view's top it
     * starts (px), or `{atBottom: true}` when the view is pinned to the latest.
     */
    place() {
      if (stickToBottom || atBottom()) return { atBottom: true };
      const box = el.scroller.getBoundingClientRect();
      for (const message of timeline.ascending()) {
        const rect = nodes.get(message.seq)?.getBoundingClientRect();
        if (rect && rect.bottom > box.top + 1) return { seq: message.seq, offset: Math.round(rect.top - box.top) };
      }
      return { atBottom: true };
    },

    /** Put the reader back at a `place()`; false when its message is not on the page. */
    restorePlace({ seq, offset }) {
      const li = nodes.get(seq);
      if (!li) return false;
      const box = el.scroller.getBoundingClientRect();
      el.scroller.scrollTop += li.getBoundingClientRect().top - box.top - (Number(offset) || 0);
      stickToBottom = atBottom();
      lastScrollTop = el.scroller.scrollTop;
      return true;
    },

    /** A message's [data-slot=<name>], if it is on the page. */
    slot(seq, name) {
      return nodes.get(seq)?.querySelector(`[data-slot=${name}]`) ?? null;
    },

    /** A pending message of mine, at the bottom, in its order among the pending ones. */
    addPending(entry, status) {
      const li = fillPending(h("li"), entry, { me, myName, status, quote: pendingQuote });
      const later = timeline.pending().find((other) => other.order > entry.order && pendingNodes.has(other.clientId));
      pendingNodes.set(entry.clientId, li);
      el.list.insertBefore(li, later ? pendingNodes.get(later.clientId) : null);
      placed(li);
      scrollToBottom();
    },

    redrawPending(entry, status) {
      keepingPosition(() => regroup(fillPending(pendingNodes.get(entry.clientId), entry, { me, myName, status, quote: pendingQuote })));
    },

    removePending(entry) {
      keepingPosition(() => removeNode(pendingNodes.get(entry.clientId)));
      pendingNodes.delete(entry.clientId);
    },

    /**
     * On the first open: a divider before what others wrote after `pointer` (the read
     * pointer the room was opened with), scrolled to the top of the view, and the rest
     * offered with the button.
     */
    placeDivider(pointer) {
      dividerPointer = Number(pointer) || 0;
      if (!dividerPointer || !timeline.unreadAfter(dividerPointer)) return;
      divider = h("li", { className: "unread-divider", attrs: { role: "separator", "aria-label": t("New messages") } },
        h("span", { className: "unread-divider-label", text: t("New messages") }));
      el.list.append(divider);
      positionDivider();
      caughtUp = false;
      toDivider();
      refreshFirstUnread();
      if (stickToBottom) return;
      const below = timeline.unreadAfter(dividerPointer, newestVisible()?.seq ?? 0);
      if (below) showNewMessages(below);
    },
  };
}
