// Enter in a text box that an IME writes into (Korean, Japanese, Chinese): one press of
// Enter acts once (sends, saves, picks a mention), with the whole composed text, and
// never while a Japanese or Chinese candidate is being chosen. The composer, the edit
// box and the @ autocomplete hear Enter through `onEnter`, never through keydown.
//
// The sequences handled (`createEnterState` is pure and unit-tested in tests/js/):
// - plain Enter, no composition: acts at once;
// - Enter during a Hangul composition (Chrome and Firefox: keydown with isComposing, or
//   keyCode 229): its default is prevented (no new line), and it acts once the
//   composition has ended (compositionend, then a task later, when the value holds the
//   committed syllable). A real IME ends it with the key; a composition still open at the
//   key's keyup (CDP's Input.imeSetComposition, a prevented default) is committed by
//   moving the focus out and back, which every browser treats as "commit";
// - the Enter keydown that Chrome sends again after such a commit (keyCode 13, not
//   composing, before the keyup) is swallowed: one press, one action;
// - Safari, which ends the composition before the keydown (compositionend, then keydown
//   with keyCode 229 and isComposing false): acts if the composition was Hangul;
// - Enter during any other composition (Japanese, Chinese): the IME commits the
//   candidate and nothing acts (its default is prevented: a real IME has consumed the
//   key already, and nothing else may add a new line);
// - Shift+Enter, composing or not: left to the browser, a new line (the IME commits first).

/** Jamo, compatibility jamo and syllables: the text a Korean IME composes. */
const HANGUL = /[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]/u;

/** How long after a composed Enter its repeat is still taken for the same press, in ms. */
export const SWALLOW_MS = 500;
/** How long a composed Enter waits for its composition to end before it is forgotten. */
export const COMMIT_WAIT_MS = 1000;
/** How long after the keyup a composition still open is committed by hand. */
export const FORCE_COMMIT_MS = 30;

const NOTHING = Object.freeze({ prevent: false, stop: false, act: null });

export const isHangul = (text) => HANGUL.test(text ?? "");

/** Whether a key event (or its plain-object copy) is Enter, by its key or its physical key. */
export function isEnter(event) {
  return event.key === "Enter" || event.code === "Enter" || event.code === "NumpadEnter";
}

const modifiers = (event) => ({ altKey: Boolean(event.altKey), ctrlKey: Boolean(event.ctrlKey), metaKey: Boolean(event.metaKey) });

/**
 * The decisions for one box, from its key and composition events (`now` in ms). keyDown
 * returns {prevent, stop, act}: prevent the default, stop other listeners, and `act`
 * (the press's modifiers) when Enter should act now; compositionEnd returns the `act`
 * of an Enter that waited for it (or null); keyUp whether to commit by hand.
 */
export function createEnterState() {
  let composing = false;
  let text = "";             // the composition's text so far (compositionupdate)
  let ended = null;          // {hangul} of a composition that ended since the last key
  let waiting = null;        // {mods, at}: an Enter that acts once its composition ends
  let commitDue = false;     // an Enter was pressed during the open composition
  let swallowUntil = 0;      // a second keydown of the same press, until then

  return {
    compositionStart() {
      composing = true;
      text = "";
      ended = null;
    },

    compositionUpdate(data) {
      if (typeof data === "string") text = data;
    },

    compositionEnd(data, now) {
      const hangul = isHangul(data || text);
      composing = false;
      commitDue = false;
      text = "";
      if (waiting) {
        const { mods, at } = waiting;
        waiting = null;
        return now - at <= COMMIT_WAIT_MS ? mods : null;
      }
      ended = { hangul };
      return null;
    },

    keyDown(event, now) {
      const endedBefore = ended;
      ended = null;
      if (!isEnter(event)) {
        swallowUntil = 0;
        return NOTHING;
      }
      if (now < swallowUntil) {
        swallowUntil = 0;
        return { prevent: true, stop: true, act: null };
      }
      if (event.shiftKey) return NOTHING;
      const mods = modifiers(event);
      if (composing || event.isComposing) {
        commitDue = composing;
        if (isHangul(text)) {
          waiting = { mods, at: now };
          swallowUntil = now + SWALLOW_MS;
        }
        return { prevent: true, stop: true, act: null };
      }
      if (event.keyCode === 229 && endedBefore) {
        return { prevent: true, stop: true, act: endedBefore.hangul ? mods : null };
      }
      return { prevent: false, stop: false, act: mods };
    },

    keyUp(event) {
      if (!isEnter(event)) return false;
      swallowUntil = 0;
      return composing && commitDue;
    },

    /** Whether an Enter still waits for the open composition to end. */
    commitDue: () => composing && commitDue,
  };
}

const boxes = new WeakMap();   // textarea -> {handlers}

function wire(input) {
  const state = createEnterState();
  const handlers = [];

  /** The handlers in turn until one acts; whether one did. */
  const act = (mods) => handlers.some(({ handler }) => handler(mods) === true);

  input.addEventListener("compositionstart", () => state.compositionStart());
  input.addEventListener("compositionupdate", (event) => state.compositionUpdate(event.data));
  input.addEventListener("compositionend", (event) => {
    const mods = state.compositionEnd(event.data, Date.now());
    // A task later, when the committed text is the box's value in every browser.
    if (mods) setTimeout(() => act(mods), 0);
  });
  // Capturing, so that it runs before the box's other keydown listeners.
  input.addEventListener("keydown", (event) => {
    const decision = state.keyDown(event, Date.now());
    if (decision.prevent) event.preventDefault();
    if (decision.stop) event.stopImmediatePropagation();
    if (decision.act && act(decision.act)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  input.addEventListener("keyup", (event) => {
    if (!state.keyUp(event)) return;
    setTimeout(() => {
      if (!state.commitDue() || document.activeElement !== input) return;
      input.blur();
      input.focus();
    }, FORCE_COMMIT_MS);
  });
  return { handlers };
}

/**
 * Call `handler(mods)` when Enter (not Shift+Enter) should act in `input`; it returns
 * true when it did something (then nothing else hears that Enter). `first` handlers are
 * asked before the others (the @ list before the composer). Returns a function that
 * takes the handler off.
 */
export function onEnter(input, handler, { first = false } = {}) {
  let box = boxes.get(input);
  if (!box) {
    box = wire(input);
    boxes.set(input, box);
  }
  const entry = { handler };
  if (first) box.handlers.unshift(entry);
  else box.handlers.push(entry);
  return () => {
    const index = box.handlers.indexOf(entry);
    if (index >= 0) box.handlers.splice(index, 1);
  };
}
