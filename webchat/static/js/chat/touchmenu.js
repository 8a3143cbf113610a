// A message's menu on a touch screen, where nothing hovers: a tap on a message shows its
// menu (.is-active) or hides it again, and so does a long press, as in the messaging
// apps, without the browser's own text menu. (A pointer shows the menu on hover, the
// keyboard on focus: chat.css and chat/roving.js.)

const LONG_PRESS_MS = 500;
const SLOP_PX = 10;   // a finger that moves further is scrolling, not pressing
// A tap or a press on one of these is theirs, not the message's.
const OWN_TARGETS = "a, button, textarea, input, .msg-tools";

export function createTouchMenu({ list }) {
  let press = null;     // {li, x, y, timer} while a finger is down on a message
  let pressed = null;   // the message a long press opened: the click that ends it is swallowed
  let touching = false; // the last pointer down was a finger

  const messageAt = (target) => (target.closest(OWN_TARGETS) ? null : target.closest(".msg[data-id]"));

  /** Show `li`'s menu (or hide it, `toggle`), and no other message's. */
  function activate(li, { toggle = false } = {}) {
    for (const active of list.querySelectorAll(".msg.is-active")) if (active !== li) active.classList.remove("is-active");
    if (!li) return;
    if (toggle) li.classList.toggle("is-active");
    else li.classList.add("is-active");
  }

  function cancel() {
    if (press) clearTimeout(press.timer);
    press = null;
  }

  list.addEventListener("pointerdown", (event) => {
    touching = event.pointerType === "touch";
    pressed = null;
    cancel();
    if (!touching) return;
    const li = messageAt(event.target);
    if (!li) return;
    press = {
      li, x: event.clientX, y: event.clientY,
      timer: setTimeout(() => {
        pressed = li;
        press = null;
        activate(li);
      }, LONG_PRESS_MS),
    };
  });
  list.addEventListener("pointermove", (event) => {
    if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > SLOP_PX) cancel();
  });
  for (const type of ["pointerup", "pointercancel"]) list.addEventListener(type, cancel);

  // A long press: Chromium on a phone says so with a contextmenu event (before the timer).
  list.addEventListener("contextmenu", (event) => {
    if (!touching) return;
    const li = messageAt(event.target);
    if (!li) return;
    event.preventDefault();
    cancel();
    pressed = li;
    activate(li);
  });

  list.addEventListener("click", (event) => {
    if (pressed) {
      pressed = null;
      return;
    }
    if (event.target.closest(OWN_TARGETS)) return;
    activate(event.target.closest(".msg[data-id]"), { toggle: true });
  });
}
