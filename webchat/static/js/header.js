// Every signed-in page's header: Ctrl+K (⌘K) or / focuses the search box, as in other
// chats. "/" only when it would not be typed into something; Escape leaves the box.
// And whoever is signed in now, the drafts other users left in this browser go.
const box = document.getElementById("site-search");

/** Whether `node` takes typing (where "/" is a character, not a shortcut). */
function typesText(node) {
  if (!(node instanceof HTMLElement)) return false;
  return node.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(node.tagName);
}

if (box) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing || event.altKey) return;
    const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k" && !event.shiftKey;
    const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !typesText(event.target);
    if (!ctrlK && !slash) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.isComposing) box.blur();
  });
}

// Loaded after the keys are wired, so that the shortcuts never wait for it.
const me = Number(document.querySelector(".whoami")?.dataset.userId);
if (Number.isSafeInteger(me) && me > 0) {
  import("./lib/drafts.js").then(({ browserStorage, forgetOtherUsers }) => forgetOtherUsers(browserStorage(), me));
}
