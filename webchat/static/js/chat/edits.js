// Editing my own messages: "Edit" in a message's menu (or the Up arrow in an empty
// composer, for my newest one) turns its body into an editor in place: Enter saves
// (`edit_message`), Shift+Enter is a new line, Escape cancels, and a refusal is shown
// under it in the server's sentence. An edited message says "(edited)", with the time
// in its tooltip; a click shows its versions (`/messages/<id>/history`).
import { apiFetch, serverNow } from "../lib/api.js";
import { infoDialog } from "../lib/dialog.js";
import { announce, h } from "../lib/dom.js";
import { onEnter } from "../lib/enterkey.js";
import { errorText } from "../lib/errors.js";
import { charCount, fullTime, parseTime } from "../lib/format.js";
import { t } from "../lib/i18n.js";
import { editableFor, isEditable, lastEditable } from "./editable.js";
import { CONFIRMATION_REQUIRED, confirmEveryone } from "./everyone.js";

const NO_ANSWER = { code: "NO_ANSWER" };

/**
 * `maxLength`: the server's body limit. `ask(event, payload)` emits with an ack;
 * `timeline` is the page's; `onSaved(message)` shows a stored copy; `redraw(messageId)`
 * draws a message again as the timeline holds it; `node(messageId)` is its <li>, if on
 * the page; `historyUrl(messageId)` its versions; `onDone()` runs when an edit ends (the
 * composer takes the focus back); `onEditor(textarea)` wires an editor's box (the @
 * autocomplete).
 */
export function createEdits({ me, maxLength, ask, timeline, onSaved, redraw, node, historyUrl, onDone, announcer, onEditor = () => {} }) {
  let editing = null;   // {id, form, input, error, saving, hadFocus}
  let disabled = false;

  const tooLong = (count) => t("Too long: {over} characters over the {limit} limit.", { over: count - maxLength, limit: maxLength });

  function showError(text) {
    if (!editing) return;
    editing.error.textContent = text;
    editing.input.setAttribute("aria-invalid", text ? "true" : "false");
  }

  function finish(id, { focusComposer = true } = {}) {
    if (!editing || editing.id !== id) return;
    editing = null;
    redraw(id);
    if (focusComposer) onDone();
  }

  async function save({ confirmed = false } = {}) {
    if (!editing || editing.saving) return;
    const { id } = editing;
    const message = timeline.byId(id);
    const body = editing.input.value.trim();
    const count = charCount(body);
    if (!count) {
      showError(t("Write something first."));
      return;
    }
    if (count > maxLength) {
      showError(tooLong(count));
      return;
    }
    if (message && body === message.body) {
      finish(id);
      return;
    }
    editing.saving = true;
    editing.form.classList.add("is-saving");
    showError("");
    let ack;
    try {
      ack = await ask("edit_message", confirmed ? { message_id: id, body, confirm: true } : { message_id: id, body });
    } catch {
      ack = { ok: false, error: NO_ANSWER };
    }
    if (!editing || editing.id !== id) {
      if (ack?.ok) onSaved(ack.message);
      return;
    }
    editing.saving = false;
    editing.form.classList.remove("is-saving");
    if (ack?.error?.code === CONFIRMATION_REQUIRED && !confirmed) {
      const input = editing.input;
      const go = await confirmEveryone(ack.error);
      if (go && editing?.id === id) save({ confirmed: true });
      else if (!go && input.isConnected) input.focus();
      return;
    }
    if (ack?.ok) {
      editing = null;
      onSaved(ack.message);
      redraw(id);
      announce(announcer, t("Message edited."));
      onDone();
      return;
    }
    showError(errorText(ack?.error, { action: "edit" }));
    editing.input.focus();
  }

  function editor(message) {
    const input = h("textarea", {
      className: "msg-edit-input",
      attrs: { rows: 2, "aria-label": t("Edit your message"), "aria-describedby": `edit-hint-${message.id} edit-error-${message.id}` },
    });
    input.value = message.body;
    const error = h("p", { className: "msg-edit-error", attrs: { id: `edit-error-${message.id}`, role: "alert" } });
    const cancel = h("button", { className: "button small", attrs: { type: "button" }, text: t("Cancel") });
    const submit = h("button", { className: "button small primary", attrs: { type: "submit" }, text: t("Save") });
    const form = h("form", { className: "msg-edit", attrs: { novalidate: true } },
      input,
      h("div", { className: "msg-edit-bar" },
        h("p", { className: "msg-edit-hint", attrs: { id: `edit-hint-${message.id}` },
          text: t("Enter to save, Shift+Enter for a new line, Esc to cancel") }),
        h("span", { className: "msg-edit-buttons" }, cancel, submit)),
      error);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save();
    });
    cancel.addEventListener("click", () => finish(message.id));
    // Enter saves, once, with the whole composed text (lib/enterkey.js).
    onEnter(input, () => {
      save();
      return true;
    });
    input.addEventListener("keydown", (event) => {
      if (event.isComposing || event.keyCode === 229 || event.key !== "Escape") return;
      event.preventDefault();
      event.stopPropagation();
      finish(message.id);
    });
    input.addEventListener("input", () => { if (editing?.error.textContent) showError(""); });
    onEditor(input);
    return { id: message.id, form, input, error, saving: false };
  }

  /** Open the editor on my message `id` (closing another one), scrolled into view. */
  function start(id) {
    const message = timeline.byId(id);
    if (disabled || !isEditable(message, me, serverNow())) return false;
    if (editing?.id === id) {
      editing.input.focus();
      return true;
    }
    const previous = editing?.id;
    editing = editor(message);
    if (previous !== undefined) redraw(previous);
    redraw(id);
    node(id)?.scrollIntoView({ block: "nearest" });
    const { input } = editing;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    return true;
  }

  function versionList(versions) {
    const last = versions.length - 1;
    return h("ol", { className: "history-list" }, versions.map((version, index) => {
      const date = parseTime(version.at);
      let label = null;
      if (index === 0) label = t("Original");
      else if (index === last) label = t("Current");
      return h("li", { className: "history-item" },
        h("p", { className: "history-meta" },
          h("time", { attrs: { datetime: date ? date.toISOString() : null }, text: fullTime(date) }),
          label ? h("span", { className: "history-label", text: label }) : null),
        // The source as typed, Markdown and all: what changed between versions.
        h("p", { className: "history-body", text: version.body }));
    }));
  }

  /** The dialog of a message's versions, oldest first. */
  async function showHistory(message) {
    const body = h("div", { className: "history" }, h("p", { className: "history-status", text: t("Loading…") }));
    infoDialog({ title: t("Edit history"), body, className: "history-dialog" });
    try {
      const data = await apiFetch(historyUrl(message.id));
      const versions = Array.isArray(data.versions) ? data.versions : [];
      body.replaceChildren(versions.length ? versionList(versions) : h("p", { className: "history-status", text: t("No earlier versions.") }));
    } catch (error) {
      body.replaceChildren(h("p", { className: "history-status is-error", attrs: { role: "alert" }, text: errorText(error) }));
    }
  }

  return {
    /** A message's menu: Edit (mine, while it may be edited), Edit history (when edited). */
    offer(tools, message) {
      if (message.edited_at && !message.deleted) {
        tools.append(h("button", {
          className: "msg-tool msg-history-button", attrs: { type: "button" }, text: t("Edit history"),
          on: { click: () => showHistory(message) },
        }));
      }
      if (disabled || !isEditable(message, me, serverNow())) return;
      const button = h("button", {
        className: "msg-tool msg-edit-button", attrs: { type: "button", "aria-label": t("Edit this message"), title: t("Edit") },
        text: t("Edit"),
      });
      button.addEventListener("click", () => start(message.id));
      tools.append(button);
      const left = editableFor(message, serverNow());
      // The window closes: the offer goes (a redraw since took it away already).
      if (Number.isFinite(left)) setTimeout(() => button.remove(), left);
    },

    /** The header's "(edited)": the time in its tooltip, the versions on a click. */
    fillEdited(slot, message) {
      if (!message.edited_at || message.deleted) return;
      const date = parseTime(message.edited_at);
      const title = t("Edited {time}. Show the edit history", { time: fullTime(date) });
      slot.append(h("button", {
        className: "link-button msg-edited", attrs: { type: "button", title, "aria-label": title }, text: t("(edited)"),
        on: { click: () => showHistory(message) },
      }));
    },

    /** The body slot: the editor in place of the body, while this message is edited. */
    fillBody(slot, message) {
      if (!editing || editing.id !== message.id) return;
      if (message.deleted) {
        editing = null;
        return;
      }
      const { input } = editing;
      const focused = document.activeElement === input;
      const [from, to] = [input.selectionStart, input.selectionEnd];
      slot.replaceChildren(editing.form);
      // The <li> is filled again around the editor: give the focus back once it is in.
      if (focused) queueMicrotask(() => { input.focus(); input.setSelectionRange(from, to); });
    },

    /** Whether `id` is being edited. */
    isEditing: (id) => editing?.id === Number(id),

    /** The Up arrow in an empty composer: edit my newest message, if I still may. */
    editLast() {
      const target = lastEditable(timeline.descending(), me, serverNow());
      return target ? start(target.id) : false;
    },

    start,
    showHistory,

    /** No longer a member: no more edits. */
    disable() {
      disabled = true;
      if (editing) finish(editing.id, { focusComposer: false });
    },
  };
}
