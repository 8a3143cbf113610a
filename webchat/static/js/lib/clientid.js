// A client_id for a message or an upload: what makes a retry idempotent.

/** A random v4 UUID. */
export function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http on a LAN have no randomUUID; build a v4 UUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
