// Building DOM without HTML strings: every piece of user data goes in as text.

/**
 * Create an element. `props` may hold `className`, `text` (set as textContent),
 * `dataset`, `attrs` (set with setAttribute), `hidden`, and `on` ({event: handler}).
 * Children are nodes or strings (strings become text nodes, never markup).
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { className, text, dataset, attrs, hidden, on } = props;
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (dataset) for (const [key, value] of Object.entries(dataset)) node.dataset[key] = String(value);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  if (hidden) node.hidden = true;
  if (on) for (const [event, handler] of Object.entries(on)) node.addEventListener(event, handler);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * The number the server wrote into `element`'s data-<key> attribute (a limit, an id).
 * Missing is a bug in the page, never a reason to guess.
 */
export function dataNumber(element, key) {
  const raw = element.dataset[key];
  const value = Number(raw);
  if (!raw || !Number.isFinite(value)) throw new Error(`The page gives no number in data-${key}.`);
  return value;
}

/** Text only a screen reader hears (styled by `.sr-only`). */
export function srOnly(text) {
  return h("span", { className: "sr-only", text });
}

/** Say `text` through a polite live region, replacing what it said before. */
export function announce(region, text) {
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick makes screen readers repeat identical messages too.
  setTimeout(() => { region.textContent = text; }, 50);
}
