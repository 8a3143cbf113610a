// Keeping the chat page's timeline complete and current: `open_room` on every
// (re)connect, then the room's change feed (`/changes?after_rev=`, page by page) from
// the highest rev held before the connection was lost, after each open and whenever a
// seq jumps: new messages, edits, deletes and reactions alike, in their current state.
// A page that is very far behind opens the room afresh instead. Older pages when the
// reader scrolls up, and the run from a message further back (a quote's parent). Opened
// at a message far back (a search hit), the page holds a window around it and pages
// towards the latest as the reader scrolls down, or jumps there at once.
import { ApiError, apiFetch, goToLogin } from "../lib/api.js";
import { singleFlight } from "../lib/flight.js";
import { t } from "../lib/i18n.js";

const REOPEN_MS = 2000;          // open_room failed for a reason other than membership
const CATCH_UP_RETRY_MS = 3000;  // a failed catch-up with a gap we know of tries again
const FAR_PAGES = 4;             // more change pages than this behind: open the room afresh
const JUMP_PAGES = 20;           // a run further back than this many full pages is not loaded
// The feed is asked from a little before the highest rev seen: events of two writes that
// crossed in flight (or an upload's answer that came before an event) must not leave a
// change behind, and taking a message again changes nothing (timeline.js keeps the newest).
const REV_SLACK = 20;

/** The seq of the last of `messages` (ascending), or null. */
const lastSeqOf = (messages) => (messages.length ? messages[messages.length - 1].seq : null);

/**
 * `landing(ack)`, on the page's first open (and after a reset, but not after a jump to
 * the latest): the seq to open the room at instead of its latest page (a search hit, the
 * first unread further back, where the reader was), or null; `onLanded(seq)` hears that
 * its window is on the page (or, with null, that the latest page is instead).
 * `connected()` says whether the socket is; `ask(event, payload)` emits with an ack.
 * `show(change, {live})` shows a timeline merge; `onOpened(ack)` takes an open_room ack
 * (before the catch-up starts); `onReset()` empties the list before the room is opened
 * afresh; `onRemoved()` hears that the user is no longer a member.
 * `history`: the "Load earlier messages" button and the status line above the list;
 * `unfilled()` says whether the list does not fill the view yet. `changesUrl` is the
 * room's change feed, `changesPage` its page size; `catchUpPage` the largest page of
 * messages.
 */
export function createSync(options) {
  const { connected, ask, roomId, timeline, messagesUrl, changesUrl, loginUrl, pageSize, catchUpPage, changesPage } = options;
  const { history, unfilled, show, onOpened, onReset, onRemoved, landing = () => null, onLanded } = options;
  let jumped = false;   // the next first open is a jump to the latest (no divider to land on)
  let connection = 0;   // counts connections, to drop answers meant for an old one
  let opened = false;   // open_room answered on the current connection
  let disabled = false;
  let since = null;     // the change feed is wanted from this rev (null: not wanted)
  let resetOnce = false;   // a gap the feed did not fill reopens the room, once per connection

  /** Ask the change feed for everything after `rev` (the lowest asked for wins). */
  function wantChanges(rev) {
    const from = Math.max(0, rev - REV_SLACK);
    since = since === null ? from : Math.min(since, from);
  }

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
        const roomRev = Number(ack.last_rev ?? ack.room?.last_rev);
        if (timeline.started) {
          // Back after a while: from where this page stood when the connection went (a
          // seq jump may have asked for earlier), unless that is too far behind.
          if (since === null) wantChanges(timeline.lastRev);
          if (roomRev - since > FAR_PAGES * changesPage) reset();
        }
        const first = !timeline.started;
        const target = first && !jumped ? landing(ack) : null;
        onOpened(ack, { landing: target !== null, jumped: first && jumped });
        jumped = false;
        if (first) {
          timeline.noteRev(roomRev);
          since = null;
          wantChanges(Number.isInteger(roomRev) ? roomRev : timeline.lastRev);
        }
        // Always, not only after a reconnect: it also covers a change committed between
        // the server reading this page and adding the socket to the room's stream.
        if (target === null) catchingUp.run();
        else land(target, ack).then(() => catchingUp.run());
      } else if (["USER_NOT_IN_CHAT_ROOM", "ROOM_NOT_FOUND"].includes(ack?.error?.code)) {
        onRemoved();
      } else {
        again();
      }
    }, () => { if (current()) again(); });
  }

  /**
   * The first open, at `seq`: the page around it, as a window that may stop short of the
   * latest message. If it cannot be loaded, the latest page of `ack` instead.
   */
  async function land(seq, ack) {
    const mine = connection;
    if (timeline.ascending().length) {
      // Live messages that came before the ack belong to the latest page, not the window.
      const rev = timeline.lastRev;
      timeline.reset();
      onReset();
      timeline.noteRev(rev);
    }
    timeline.landing();
    let data = null;
    try {
      data = await apiFetch(`${messagesUrl}?around_seq=${seq}&limit=${pageSize}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) goToLogin(loginUrl);
    }
    if (mine !== connection || timeline.started) return;
    const found = Boolean(data?.messages?.length);
    if (found) show(timeline.startWindow(data.messages, data.has_more_before, data.has_more_after));
    else show(timeline.startWindow(ack.messages ?? [], ack.has_more, false));
    updateHistory();   // before the view is placed: the history line above takes room
    onLanded(found ? seq : null);
  }

  /** Forget the messages and open the room afresh, as on the first connect. */
  function reset() {
    timeline.reset();
    onReset();
    since = null;
  }

  const catchingUp = singleFlight(async () => {
    if (!timeline.started || since === null) return 0;
    const mine = connection;
    let cursor = since;
    since = null;
    try {
      for (let pages = 1; ; pages += 1) {
        const data = await apiFetch(`${changesUrl}?after_rev=${cursor}&limit=${changesPage}`);
        if (mine !== connection || !timeline.started) return 0;
        show(timeline.apply(data.messages ?? []), { live: true });
        const next = Number(data.last_rev);
        timeline.noteRev(next);
        if (!data.has_more || !(next > cursor)) break;
        if (pages >= FAR_PAGES) {
          // Further behind than it said: the latest page is quicker than every change.
          reset();
          open();
          return 0;
        }
        cursor = next;
      }
      if (timeline.hasGap() && !resetOnce) {
        // The feed holds every new message: a gap it left means this page is confused.
        resetOnce = true;
        reset();
        open();
      }
      return 0;
    } catch (error) {
      wantChanges(cursor);
      if (error instanceof ApiError && error.status === 401) goToLogin(loginUrl);
      else if (error instanceof ApiError && error.status === 403) onRemoved();
      // Otherwise the next reconnect or seq jump tries again; a gap we know of, sooner.
      else if (timeline.hasGap()) return CATCH_UP_RETRY_MS;
      return 0;
    }
  });

  /**
   * Load the messages from around `seq` up to the loaded run, so that the one at `seq` is
   * on the page: the page around it, then what lies between, merged at once so that the
   * run stays without gaps. Resolves true when it is here, false when it is too far back.
   */
  async function loadAround(seq) {
    if (!timeline.started) return false;
    if (timeline.get(seq)) return true;
    const data = await apiFetch(`${messagesUrl}?around_seq=${seq}&limit=${pageSize}`);
    const run = [...(data.messages ?? [])];
    let cursor = lastSeqOf(run);
    if (cursor === null) return false;
    for (let pages = 0; cursor < timeline.lowSeq - 1; pages += 1) {
      if (pages >= JUMP_PAGES) return false;
      const page = await apiFetch(`${messagesUrl}?after_seq=${cursor}&limit=${catchUpPage}`);
      const messages = (page.messages ?? []).filter((m) => m.seq < timeline.lowSeq);
      run.push(...messages);
      if (!page.has_more || !messages.length) break;
      cursor = lastSeqOf(messages);
    }
    show(timeline.mergeOlder(run, data.has_more_before));
    updateHistory();
    return Boolean(timeline.get(seq));
  }

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

  // A window far back, towards the latest: page after page as the reader scrolls down.
  const loadingNewer = singleFlight(async () => {
    if (!timeline.started || !timeline.hasNewer) return;
    const revBefore = timeline.lastRev;
    const from = timeline.topSeq;
    try {
      const data = await apiFetch(`${messagesUrl}?after_seq=${from}&limit=${catchUpPage}`);
      // Jumped to the latest meanwhile: this page belongs to a window that is gone.
      if (!timeline.hasNewer || timeline.topSeq !== from) return;
      show(timeline.mergeNewer(data.messages ?? [], data.has_more));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) goToLogin(loginUrl);
      return;
    }
    if (!timeline.hasNewer) {
      // At the latest now: what was written while the last page was read came live and
      // was left out then, so the change feed brings it.
      wantChanges(revBefore);
      catchingUp.run();
    }
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
      resetOnce = false;
      if (!disabled) open();
    },

    /** The connection went: what came until now is here, what comes next is not. */
    disconnected() {
      opened = false;
      if (timeline.started) wantChanges(timeline.lastRev);
    },

    /**
     * A live message came; `revBefore` is the rev held before it. A jump in seq means
     * something was missed since then: fetch the changes after it.
     */
    noteArrival(revBefore) {
      if (!timeline.hasGap()) return;
      wantChanges(revBefore);
      catchingUp.run();
    },

    loadAround,

    loadOlder: () => loadingOlder.run(),

    loadNewer: () => loadingNewer.run(),

    /** Leave a window far back for the latest messages: the room opened afresh. */
    toLatest() {
      if (!timeline.hasNewer) return;
      reset();
      jumped = true;
      if (connected()) open();
    },

    /** No longer a member: the room is not opened again. */
    disable() {
      disabled = true;
    },
  };
}
