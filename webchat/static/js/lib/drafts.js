// Drafts per room, kept in the browser (localStorage) under the user's id, so that what
// is written survives a room switch, a reload and a logout, and is never shown to
// another user of the same browser. Pure over a Storage-like object (unit-tested in
// tests/js/drafts.test.mjs); without storage (private mode, quota) every call is a no-op.
//
// A room's record, `webchat.draft.<user>.<room>`: {text, at, pending: [{clientId, text, at}]}.
// `text` is what the composer holds. A send moves the text into `pending` under its
// client_id, and only the server's ack of that client_id removes it: until then a reload
// cannot lose it. On opening a room the page sorts what is still pending (`recover`):
// stored already (the ack was lost), still in the outbox (it will be sent), or gone (the
// page holding it was closed): what is gone goes back into the composer.

export const PREFIX = "webchat.draft.";
/** The rooms whose drafts a user keeps; the oldest goes when another room needs room. */
export const MAX_ROOMS = 50;
/** A record longer than this (far past any message) never makes other drafts go for it. */
export const EVICTING_CHARS = 100_000;

const keyOf = (me, roomId) => `${PREFIX}${me}.${roomId}`;

/** localStorage, or null where it cannot be used (private mode, disabled storage). */
export function browserStorage() {
  try {
    const storage = globalThis.localStorage;
    storage.getItem(PREFIX);
    return storage;
  } catch {
    return null;
  }
}

/** Every key of `storage`, read before any is removed; none if it cannot be read. */
function keysOf(storage) {
  try {
    const keys = [];
    for (let i = 0; i < storage.length; i += 1) keys.push(storage.key(i));
    return keys.filter((key) => typeof key === "string");
  } catch {
    return [];
  }
}

/** Remove the drafts of every user but `me` (another user logged in on this browser). */
export function forgetOtherUsers(storage, me) {
  if (!storage) return;
  const mine = `${PREFIX}${me}.`;
  for (const key of keysOf(storage)) {
    if (!key.startsWith(PREFIX) || key.startsWith(mine)) continue;
    try {
      storage.removeItem(key);
    } catch {
      // Nothing more can be done; the key is still not this user's to read.
    }
  }
}

function parse(raw) {
  try {
    const record = JSON.parse(raw);
    if (!record || typeof record !== "object") return null;
    const pending = Array.isArray(record.pending)
      ? record.pending.filter((p) => p && typeof p.clientId === "string" && typeof p.text === "string")
      : [];
    return { text: typeof record.text === "string" ? record.text : "", at: Number(record.at) || 0, pending };
  } catch {
    return null;
  }
}

/**
 * The drafts of user `me` in `storage` (a Storage, or null). `now()` gives the time in
 * ms. Every call reads the record afresh, so that two tabs of the same user add to one
 * record instead of overwriting each other's pending sends.
 */
export function createDrafts({ storage, me, now = () => Date.now() }) {
  const empty = () => ({ text: "", at: 0, pending: [] });

  function read(roomId) {
    if (!storage) return empty();
    try {
      const raw = storage.getItem(keyOf(me, roomId));
      return (raw && parse(raw)) || empty();
    } catch {
      return empty();
    }
  }

  /** This user's other rooms' keys, oldest first. */
  function othersOldestFirst(roomId) {
    const mine = `${PREFIX}${me}.`;
    const own = keyOf(me, roomId);
    return keysOf(storage)
      .filter((key) => key.startsWith(mine) && key !== own)
      .map((key) => {
        let at = 0;
        try {
          at = parse(storage.getItem(key))?.at ?? 0;
        } catch {
          // An unreadable record goes first.
        }
        return { key, at };
      })
      .sort((a, b) => a.at - b.at)
      .map(({ key }) => key);
  }

  const tryRemove = (key) => {
    try {
      storage.removeItem(key);
    } catch {
      // Nothing more can be done.
    }
  };

  /** Write (or, when empty, remove) a room's record; whether it is stored. */
  function write(roomId, record) {
    if (!storage) return false;
    const key = keyOf(me, roomId);
    if (!record.text && !record.pending.length) {
      tryRemove(key);
      return true;
    }
    const raw = JSON.stringify({ ...record, at: now() });
    const mine = `${PREFIX}${me}.`;
    const count = keysOf(storage).filter((other) => other.startsWith(mine) && other !== key).length;
    let others = null;   // read only when some must make way
    // Keep at most MAX_ROOMS rooms: the oldest drafts make way.
    if (count >= MAX_ROOMS) {
      others = othersOldestFirst(roomId);
      for (const old of others.splice(0, count - (MAX_ROOMS - 1))) tryRemove(old);
    }
    for (;;) {
      try {
        storage.setItem(key, raw);
        return true;
      } catch {
        // Over the quota: the oldest of this user's other drafts go, one at a time.
        if (raw.length > EVICTING_CHARS) return false;
        others ??= othersOldestFirst(roomId);
        const old = others.shift();
        if (!old) return false;
        tryRemove(old);
      }
    }
  }

  function settle(roomId, clientId) {
    const record = read(roomId);
    const pending = record.pending.filter((p) => p.clientId !== clientId);
    if (pending.length === record.pending.length) return true;
    return write(roomId, { ...record, pending });
  }

  return {
    /** What the composer of `roomId` held ("" when nothing). */
    text: (roomId) => read(roomId).text,

    /** The composer of `roomId` now holds `text`. */
    save(roomId, text) {
      const record = read(roomId);
      if (record.text === text) return true;
      return write(roomId, { ...record, text });
    },

    /** `text` was sent as `clientId`: kept as pending until acked; the composer is empty. */
    sent(roomId, clientId, text) {
      const record = read(roomId);
      const pending = record.pending.filter((p) => p.clientId !== clientId);
      pending.push({ clientId, text, at: now() });
      return write(roomId, { ...record, text: "", pending });
    },

    /** The sends of `roomId` not acked yet, oldest first: [{clientId, text, at}]. */
    pendingOf: (roomId) => read(roomId).pending,

    /** The server stored `clientId` (its ack, or its copy in the room): no longer pending. */
    acked: (roomId, clientId) => settle(roomId, clientId),

    /** The user gave the send `clientId` up (discarded, or chose not to notify everyone). */
    forget: (roomId, clientId) => settle(roomId, clientId),

    /**
     * Sort what is pending in `roomId`: `stored(clientId)` (the room has it) is acked,
     * `held(clientId)` (the outbox still sends it) stays, the rest is gone and is put back
     * at the start of the text. Returns the new text when something came back, else null.
     */
    recover(roomId, { stored = () => false, held = () => false } = {}) {
      const record = read(roomId);
      if (!record.pending.length) return null;
      const lost = [];
      const pending = [];
      for (const p of record.pending) {
        if (stored(p.clientId)) continue;
        if (held(p.clientId)) pending.push(p);
        else lost.push(p.text);
      }
      const text = lost.length ? [...lost, record.text].filter(Boolean).join("\n") : record.text;
      write(roomId, { ...record, text, pending });
      return lost.length ? text : null;
    },
  };
}

/**
 * `save()` at most once per `delayMs` of quiet: `soon()` after each change, `flush()` to
 * save at once (the page is hidden or left), `cancel()` to forget a change.
 */
export function debounced(save, delayMs) {
  let timer = null;
  const flush = () => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    save();
  };
  return {
    soon() {
      clearTimeout(timer);
      timer = setTimeout(flush, delayMs);
    },
    flush,
    cancel() {
      clearTimeout(timer);
      timer = null;
    },
  };
}
