// Signup page: tell the user whether the username is free while they type.
import { t } from "./lib/i18n.js";

const form = document.getElementById("signup-form");
const input = document.getElementById("username");
const help = document.getElementById("username-help");
const url = form.dataset.availableUrl;
const hint = form.dataset.usernameHint;
let timer = null;
let controller = null;

function show(text, kind) {
  help.replaceChildren();
  const span = document.createElement("span");
  span.className = kind;
  span.textContent = text;
  help.append(span);
  input.setAttribute("aria-invalid", kind === "error-text" ? "true" : "false");
}

async function check() {
  const username = input.value.trim();
  controller?.abort();
  if (!username) {
    show(hint, "hint-text");
    return;
  }
  controller = new AbortController();
  try {
    const response = await fetch(`${url}?username=${encodeURIComponent(username)}`, {
      signal: controller.signal, headers: { Accept: "application/json" },
    });
    const data = await response.json();
    if (input.value.trim() !== username) return;
    if (data.available) show(t("“{name}” is available.", { name: username }), "ok-text");
    else show(data.reason || t("That username is taken."), "error-text");
  } catch (error) {
    if (error.name !== "AbortError") show(t("Could not check the name right now."), "hint-text");
  }
}

input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(check, 250);
});
// What was typed (or autofilled) before this module finished loading is checked too,
// unless the server refused it: its reason stays until the name changes (a look-alike of
// an existing name, say, which only the signup itself checks).
if (input.value.trim() && input.getAttribute("aria-invalid") !== "true") check();
