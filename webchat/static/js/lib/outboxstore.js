// Where the chat page's outbox keeps the messages it has not delivered yet, so that they
// survive a reload: IndexedDB, one store keyed by client_id, read per user and room.
// Without IndexedDB (private modes, a blocked or failing database) the same interface is
// kept in memory, and the outbox works as it did before: for as long as the page lives.
//
// A record: {client_id, user_id, room_id, body, reply_to (the quote, or null), order
// (the created order), created_at (ms), confirmed (@room agreed to), failure (the
// error that stopped it, or null)}. No method rejects: a failing database reads as
// empty, writes that did not happen resolve false, and `has` says true when it cannot
// tell (a resend is harmless: the server is idempotent on client_id).

const DB_NAME = "webchat-outbox";
const DB_VERSION = 1;
const STORE = "entries";
const BY_ROOM = "by_user_room";   // index on [user_id, room_id]
const OPEN_TIMEOUT_MS = 3000;     // a database that neither opens nor fails by then is not used

const byOrder = (a, b) => a.order - b.order;

/**
 * The same store in memory: for the page's lifetime only (`persistent` false). `records`
 * (client_id -> record) may be shared, as the unit tests share one between "tabs".
 */
export function memoryStore({ userId, roomId, records = new Map() }) {
  return {
    persistent: false,
    async load() {
      return [...records.values()].filter((r) => r.user_id === userId && r.room_id === roomId).sort(byOrder);
    },
    async put(record) {
      records.set(record.client_id, { ...record, user_id: userId, room_id: roomId });
      return true;
    },
    async remove(clientId) {
      records.delete(clientId);
    },
    async has(clientId) {
      return records.get(clientId)?.user_id === userId;
    },
  };
}

function openDatabase(factory) {
  return new Promise((resolve, reject) => {
    const request = factory.open(DB_NAME, DB_VERSION);   // may throw (a context without storage): rejects
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error("IndexedDB did not open in time"));
    }, OPEN_TIMEOUT_MS);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(STORE)) {
        db.createObjectStore(STORE, { keyPath: "client_id" }).createIndex(BY_ROOM, ["user_id", "room_id"]);
      }
    };
    request.onsuccess = () => {
      clearTimeout(timer);
      const db = request.result;
      if (late || !db.objectStoreNames.contains(STORE)) {
        db.close();   // the page goes on in memory
        reject(new Error("The outbox store is not there"));
        return;
      }
      // A newer version of the page wants to upgrade: let it.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(request.error);
    };
  });
}

/** One request in its own transaction; resolves to its result once the transaction committed. */
function run(db, mode, work) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function databaseStore(db, { userId, roomId }) {
  return {
    persistent: true,
    async load() {
      try {
        const records = await run(db, "readonly", (store) => store.index(BY_ROOM).getAll([userId, roomId]));
        return records.sort(byOrder);
      } catch {
        return [];
      }
    },
    async put(record) {
      try {
        await run(db, "readwrite", (store) => store.put({ ...record, user_id: userId, room_id: roomId }));
        return true;
      } catch {
        return false;
      }
    },
    async remove(clientId) {
      try {
        await run(db, "readwrite", (store) => store.delete(clientId));
      } catch {
        // It stays behind; the next send of it finds it stored on the server.
      }
    },
    async has(clientId) {
      try {
        const record = await run(db, "readonly", (store) => store.get(clientId));
        return record?.user_id === userId;
      } catch {
        return true;
      }
    },
  };
}

/**
 * The outbox store of `userId` in `roomId`: IndexedDB when it opens, else memory.
 * `factory` is the IndexedDB factory (the page's, unless a test gives another).
 */
export async function openOutboxStore({ userId, roomId, factory = globalThis.indexedDB }) {
  if (!factory) return memoryStore({ userId, roomId });
  try {
    return databaseStore(await openDatabase(factory), { userId, roomId });
  } catch {
    return memoryStore({ userId, roomId });
  }
}
