// Keeping the chat page's timeline complete: `open_room` on every (re)connect, the
// catch-up of everything after the last seq without a gap (`after_seq`, page by page)
// after each open and whenever a seq jumps, and older pages when the reader scrolls up.
import { ApiError, apiFetch, goToLogin } from "../lib/api.js";
import { singleFlight } from "../lib/flight.js";
import { t } from "../lib/i18n.js";

const REOPEN_MS = 2000;          // open_room failed for a reason other than membership
const CATCH_UP_RETRY_MS = 3000;  // a failed catch-up with a gap we know of tries again

/**
 * `connected()` says whether the socket is; `ask(event, payload)` emits with an ack.
 * `show(change, {live})` shows a timeline merge; `onOpened(ack)` takes an open_room ack
 * (before the catch-up starts); `onRemoved()` hears that the user is no longer a member.
 * `history`: the "Load earlier messages" button and the status line above the list;
 * `unfilled()` says whether the list does not fill the view yet.
 */
export function createSync(options) {
  const { connected, ask, roomId, timeline, messagesUrl, loginUrl, pageSize, catchUpPage } = options;
  const { history, unfilled, show, onOpened, onRemoved } = options;
  let connection = 0;   // counts connections, to drop answers meant for an old one
  let opened = false;   // open_room answered on the current connection
  let disabled = false;

  function updateHistory() {
    history.loadOlder.hidden = !(timeline.started && timeline.hasOlder);
    if (timeline.started && !timeline.hasOlder && !history.status.textContent) {
      history.status.textContent = t("This is the beginning of the room.");
    }
  }

  function open() {
    const mine = connection;
    const current = () => mine === connection && connected();
    const again = () => setTimeout(() => { if (current()) open(); }, REOPEN_MS);
    ask("open_room", { room_id: roomId }).then((ack) => {
      if (!current()) return;
      if (ack?.ok) {
        opened = true;
        onOpened(ack);
        // Always, not only after a reconnect: it also covers a message committed between
        // the server reading this page and adding the socket to the room's stream.
        catchingUp.run();
      } else if (["USER_NOT_IN_CHAT_ROOM", "ROOM_NOT_FOUND"].includes(ack?.error?.code)) {
        onRemoved();
      } else {
        again();
      }
    }, () => { if (current()) again(); });
  }

  const catchingUp = singleFlight(async () => {
    if (!timeline.started) return 0;
    try {
      let cursor = timeline.topSeq;
      for (;;) {
        const data = await apiFetch(`${messagesUrl}?after_seq=${cursor}&limit=${catchUpPage}`);
        const page = data.messages ?? [];
        show(timeline.merge(page), { live: true });
        if (!data.has_more || !page.length) return 0;
        cursor = Math.max(timeline.topSeq, page[page.length - 1].seq);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) goToLogin(loginUrl);
      else if (error instanceof ApiError && error.status === 403) onRemoved();
      // Otherwise the next reconnect or seq jump tries again; a gap we know of, sooner.
      else if (timeline.hasGap()) return CATCH_UP_RETRY_MS;
      return 0;
    }
  });

  const loadingOlder = singleFlight(async () => {
    // Page in until there is something to scroll (or nothing more to load).
    do {
      if (!timeline.started || !timeline.hasOlder) return;
      history.loadOlder.disabled = true;
      history.status.textContent = t("Loading earlier messages…");
      try {
        const data = await apiFetch(`${messagesUrl}?before_seq=${timeline.lowSeq}&limit=${pageSize}`);
        show(timeline.mergeOlder(data.messages ?? [], data.has_more));
        history.status.textContent = "";
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) goToLogin(loginUrl);
        history.status.textContent = t("Could not load earlier messages.");
        return;
      } finally {
        history.loadOlder.disabled = false;
        updateHistory();
      }
    } while (unfilled());
  }, { queue: false });

  history.loadOlder.addEventListener("click", () => loadingOlder.run());

  return {
    /** Which connection this is: an answer to an older one is stale. */
    get connection() { return connection; },

    /** Whether the room is open on the current connection (events may be sent). */
    isOpen: () => opened && connected(),

    /** Show or hide "Load earlier messages", and say when the history is all here. */
    updateHistory,

    /** The socket (re)connected: open the room again. */
    connected() {
      connection += 1;
      opened = false;
      if (!disabled) open();
    },

    disconnected() {
      opened = false;
    },

    /** A live message showed a jump in seq: fetch what is missing. */
    noteArrival() {
      if (timeline.hasGap()) catchingUp.run();
    },

    loadOlder: () => loadingOlder.run(),

    /** No longer a member: the room is not opened again. */
    disable() {
      disabled = true;
    },
  };
}
