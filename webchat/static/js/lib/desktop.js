// Desktop notifications and the notification sound, for every page with a socket.
// The permission is asked only when the user clicks "Enable desktop notifications",
// never on load. A `notification` event is shown when this tab is hidden or the message
// is in another room than the one open here; its tag is the room's id, so a burst in one
// room replaces one notification; a click focuses the tab and opens the room; an
// `unread` event saying the room is read (on any device) closes it. Every tab of mine
// gets the event: the tabs agree through a Web Lock and localStorage that one shows it,
// and none if a tab has that room open in front of me. The sound (off by default) is a
// short tone made with WebAudio; both choices are kept in localStorage.
import { h } from "./dom.js";
import { previewText } from "./format.js";
import { t } from "./i18n.js";

const SOUND_KEY = "webchat.notify.sound";       // "on" | absent
const DESKTOP_KEY = "webchat.notify.desktop";   // "off" | absent (on once permitted)
const SEEN_PREFIX = "webchat.notify.seen.";     // + room id: the newest message id a tab dealt with
const OTHER_TABS_WAIT_MS = 250;   // a tab showing the room gets to say so first
const LOCK = "webchat-notify";

const supported = () => typeof window.Notification === "function";
const stored = (key) => { try { return localStorage.getItem(key); } catch { return null; } };
const store = (key, value) => {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* private mode: the choice lasts as long as the page */ }
};

/** Run `work` with the other tabs of this site kept out (Web Locks), or just run it. */
function exclusively(work) {
  if (navigator.locks?.request) return navigator.locks.request(LOCK, work);
  return Promise.resolve().then(work);
}

/** Whether a tab dealt with this message of this room (or a newer one) already; if not, note it. */
function claim(roomId, messageId) {
  const key = SEEN_PREFIX + roomId;
  if (Number(stored(key)) >= messageId) return false;
  store(key, String(messageId));
  return true;
}

/**
 * `openRoomId`: the room this page shows (null on the room list); `roomName(id)`: its
 * name; `openRoom(id)`: go to a room. Returns {notification, unread, controls}.
 */
export function createDesktop({ openRoomId = null, roomName = () => null, openRoom }) {
  const shown = new Map();   // room id -> {notification, mentioned}
  let audio = null;
  const panels = new Set();  // the controls on the page, redrawn when something changes

  const desktopOn = () => supported() && Notification.permission === "granted" && stored(DESKTOP_KEY) !== "off";
  const soundOn = () => stored(SOUND_KEY) === "on";

  function tone() {
    try {
      audio ??= new AudioContext();
      if (audio.state === "suspended") audio.resume().catch(() => {});
      const now = audio.currentTime;
      const gain = audio.createGain();
      gain.connect(audio.destination);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
      for (const [frequency, at] of [[880, 0], [1320, 0.09]]) {
        const oscillator = audio.createOscillator();
        oscillator.type = "sine";
        oscillator.frequency.setValueAtTime(frequency, now + at);
        oscillator.connect(gain);
        oscillator.start(now + at);
        oscillator.stop(now + 0.35);
      }
    } catch { /* no audio here: stay silent */ }
  }

  function show(roomId, message, mentioned) {
    if (desktopOn()) {
      // Closed before its successor comes: the same tag would take the new one with it.
      shown.get(roomId)?.notification.close();
      const sender = message.sender?.username ?? "";
      const room = roomName(roomId);
      let title = room ?? sender;
      if (mentioned && room) title = t("{sender} mentioned you in {room}", { sender, room });
      const notification = new Notification(title, {
        body: previewText(message, 200),
        tag: String(roomId),
        lang: document.documentElement.lang || undefined,
        data: { roomId, messageId: message.id },
      });
      notification.addEventListener("click", () => {
        window.focus();
        notification.close();
        if (roomId !== openRoomId) openRoom(roomId);
      });
      notification.addEventListener("close", () => {
        if (shown.get(roomId)?.notification === notification) shown.delete(roomId);
      });
      shown.set(roomId, { notification, mentioned });
    }
    if (soundOn()) tone();
  }

  async function onNotification({ room_id: rawId, message, mentioned = false } = {}) {
    const roomId = Number(rawId);
    if (!roomId || !message?.id || (!desktopOn() && !soundOn())) return;
    const inFront = document.visibilityState === "visible" && roomId === openRoomId;
    if (inFront) {
      // I am looking at it here: no other tab of mine alerts me about it.
      await exclusively(() => claim(roomId, message.id));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, OTHER_TABS_WAIT_MS));
    const mine = await exclusively(() => claim(roomId, message.id));
    if (mine) show(roomId, message, Boolean(mentioned));
  }

  /** An `unread` event: the room read up to what was shown closes its notification. */
  function unread({ room_id: rawId, unread_count: count, mention_count: mentions } = {}) {
    const roomId = Number(rawId);
    const entry = shown.get(roomId);
    if (!entry) return;
    if (count === 0 || (entry.mentioned && mentions === 0)) {
      entry.notification.close();
      shown.delete(roomId);
    }
  }

  function checkbox(id, label, checked, onChange) {
    const input = h("input", { attrs: { type: "checkbox", id } });
    input.checked = checked;
    input.addEventListener("change", () => onChange(input.checked));
    return h("label", { className: "checkbox", attrs: { for: id } }, input, " ", h("span", { text: label }));
  }

  function fill(panel) {
    const { prefix } = panel.dataset;
    const parts = [];
    if (!supported()) {
      parts.push(h("p", { className: "notify-note", text: t("This browser cannot show desktop notifications.") }));
    } else if (Notification.permission === "default") {
      parts.push(h("button", {
        className: "button small desktop-enable", attrs: { type: "button" }, text: t("Enable desktop notifications"),
        on: {
          click: async () => {
            await Notification.requestPermission();
            store(DESKTOP_KEY, null);
            redraw();
          },
        },
      }));
    } else if (Notification.permission === "granted") {
      parts.push(checkbox(`${prefix}-desktop`, t("Show desktop notifications"), desktopOn(), (on) => {
        store(DESKTOP_KEY, on ? null : "off");
        redraw();
      }));
    } else {
      parts.push(h("p", { className: "notify-note", text: t("Desktop notifications are blocked in this browser's settings for this site.") }));
    }
    parts.push(checkbox(`${prefix}-sound`, t("Play a sound for notifications"), soundOn(), (on) => {
      store(SOUND_KEY, on ? "on" : null);
      // The click is the gesture the browser wants before a page may play sound.
      if (on) tone();
      redraw();
    }));
    panel.replaceChildren(...parts);
  }

  function redraw() {
    for (const panel of panels) if (panel.isConnected) fill(panel);
  }

  // Another tab changed a choice.
  window.addEventListener("storage", (event) => { if (event.key === SOUND_KEY || event.key === DESKTOP_KEY) redraw(); });

  return {
    /** A `notification` event. */
    notification: onNotification,
    unread,

    /** The desktop and sound controls, as a node; `prefix` makes their ids unique. */
    controls(prefix = "notify") {
      const panel = h("div", { className: "desktop-controls", dataset: { prefix } });
      panels.add(panel);
      fill(panel);
      return panel;
    },
  };
}
