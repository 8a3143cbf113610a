// The room header's notification menu: what alerts me in this room (all messages,
// mentions only, nothing), saved with PUT /rooms/<id>/notify and followed when another
// tab changes it (`notify_changed`); below, the desktop and sound controls (lib/desktop.js).
import { apiFetch } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { errorText } from "../lib/errors.js";
import { t } from "../lib/i18n.js";

const LEVELS = {
  all: () => t("All messages"),
  mentions: () => t("Mentions and replies only"),
  mute: () => t("Nothing (muted)"),
};
const SUMMARY = {
  all: () => t("Notifications: all"),
  mentions: () => t("Notifications: mentions"),
  mute: () => t("Notifications: muted"),
};

/** `url`: the room's notify endpoint; `level`: the setting now; `desktop`: lib/desktop.js's; `onChange(level)`. */
export function createNotifyLevel({ url, level, desktop, onChange = () => {} }) {
  let current = level;
  let disabled = false;
  const summary = h("summary", { className: "button small notify-summary" });
  const status = h("p", { className: "notify-status", attrs: { role: "status" } });
  const radios = new Map();
  const choices = h("fieldset", { className: "notify-levels" },
    h("legend", { text: t("Notify me about") }),
    Object.entries(LEVELS).map(([value, label]) => {
      const input = h("input", { attrs: { type: "radio", name: "notify-level", value, id: `notify-${value}` } });
      radios.set(value, input);
      input.addEventListener("change", () => { if (input.checked) save(value); });
      return h("label", { className: "radio", attrs: { for: `notify-${value}` } }, input, " ", h("span", { text: label() }));
    }));
  const details = h("details", { className: "notify-menu", attrs: { id: "notify-menu" } },
    summary,
    h("div", { className: "popover notify-popover" }, choices, status, desktop.controls("room-notify")));

  function show(value) {
    current = value;
    details.dataset.level = value;
    summary.textContent = (SUMMARY[value] ?? SUMMARY.mentions)();
    for (const [key, input] of radios) input.checked = key === value;
  }

  async function save(value) {
    const before = current;
    show(value);
    status.textContent = "";
    try {
      const { room } = await apiFetch(url, { method: "PUT", json: { notify: value } });
      show(room?.notify ?? value);
      onChange(current);
    } catch (error) {
      show(before);
      status.textContent = errorText(error);
    }
  }

  details.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && details.open) {
      details.open = false;
      summary.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (details.open && !details.contains(event.target)) details.open = false;
  });
  show(level);

  return {
    element: details,
    /** `notify_changed` from another tab (or this one's own save coming back). */
    changed(value) {
      if (value in LEVELS && value !== current) show(value);
    },
    disable() {
      disabled = true;
      details.open = false;
      for (const input of radios.values()) input.disabled = disabled;
    },
  };
}
