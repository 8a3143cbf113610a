// The chat page's composer: the character counter against the server's limit (shown
// only near it), Enter to send (the whole composed text once, lib/enterkey.js),
// Shift+Enter for a new line; in an empty composer the Up arrow edits my last message,
// and Escape drops a reply being written.
import { onEnter } from "../lib/enterkey.js";
import { charCount } from "../lib/format.js";
import { t } from "../lib/i18n.js";

// The share of the limit past which the counter shows (in the warning colour).
const NEAR = 0.9;

/**
 * `el`: composer (the form), input, send, count, counter, error. `maxLength`: the
 * server's limit. `onSend(body)` takes a message; `onInput()` hears each edit typed;
 * `onChange()` every change of the text, typed or not (a send, a restore: the draft);
 * `onEditLast()` (Up in an empty composer) and `onEscape()` say whether they did something.
 */
export function createComposer({ el, maxLength, onSend, onInput, onChange = () => {}, onEditLast = () => false, onEscape = () => false }) {
  let disabled = false;
  let wasOver = false;

  const tooLong = (count) => t("Too long: {over} characters over the {limit} limit.", { over: count - maxLength, limit: maxLength });

  function showError(text) {
    el.error.textContent = text;
    el.input.setAttribute("aria-invalid", text ? "true" : "false");
  }

  function update() {
    const count = charCount(el.input.value.trim());
    const over = count > maxLength;
    const near = count > maxLength * NEAR;
    el.count.textContent = String(count);
    el.counter.hidden = !near;
    el.counter.classList.toggle("is-near", near && !over);
    el.counter.classList.toggle("is-over", over);
    el.send.disabled = disabled || count === 0 || over;
    if (over !== wasOver) {
      showError(over ? tooLong(count) : "");
      wasOver = over;
    }
    if (!CSS.supports("field-sizing", "content")) {
      el.input.style.height = "auto";
      el.input.style.height = `${Math.min(el.input.scrollHeight + 2, 200)}px`;
    }
  }

  function submit() {
    if (disabled) return;
    const body = el.input.value.trim();
    const count = charCount(body);
    if (count === 0) {
      showError(t("Write something first."));
      return;
    }
    if (count > maxLength) {
      showError(tooLong(count));
      return;
    }
    el.input.value = "";
    wasOver = false;
    showError("");
    update();
    onChange();
    onSend(body);
  }

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    el.input.focus();
  });

  onEnter(el.input, () => {
    submit();
    return true;
  });

  el.input.addEventListener("keydown", (event) => {
    // While an IME composes (Korean, Japanese, ...), its keys are its own.
    if (event.isComposing || event.keyCode === 229) return;
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    if (event.key === "ArrowUp" && plain && !disabled && el.input.value === "") {
      if (onEditLast()) event.preventDefault();
      return;
    }
    if (event.key === "Escape" && onEscape()) event.preventDefault();
  });

  el.input.addEventListener("input", () => {
    if (el.error.textContent && !wasOver) showError("");
    update();
    onInput();
    onChange();
  });

  update();

  return {
    /** Whether something is written (so that typing is worth telling). */
    hasText: () => Boolean(el.input.value.trim()),
    /** The text as it stands (for the draft). */
    text: () => el.input.value,
    focus: () => el.input.focus(),

    /** Put `text` in the box (a draft coming back), in place of what is there. */
    setText(text) {
      if (disabled) return;
      el.input.value = text;
      update();
      onChange();
    },

    /** A message that was not sent comes back to be reworded, unless something new is written. */
    restore(text) {
      if (disabled || el.input.value.trim()) return;
      el.input.value = text;
      update();
      onChange();
      el.input.focus();
    },

    /** No longer a member: nothing more can be written. */
    disable() {
      disabled = true;
      el.input.disabled = true;
      el.input.placeholder = t("You can no longer write in this room");
      update();
    },
  };
}
