// Modal dialogs built on <dialog>: focus is trapped and restored by the browser, Escape
// cancels, and nothing blocks the page's scripts the way window.confirm() would.
import { h } from "./dom.js";
import { t } from "./i18n.js";

let counter = 0;

/**
 * Ask before doing something that cannot be undone. Resolves true when `confirm` is
 * chosen, false on Cancel, Escape or a click on the backdrop. Cancel has the focus.
 */
export function confirmDialog({ title, text = "", confirm = t("OK"), cancel = t("Cancel"), danger = false }) {
  counter += 1;
  const titleId = `dialog-title-${counter}`;
  const textId = `dialog-text-${counter}`;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const cancelButton = h("button", { className: "button", attrs: { type: "button", autofocus: true }, text: cancel });
    const confirmButton = h("button", {
      className: `button ${danger ? "danger-solid" : "primary"}`, attrs: { type: "button" }, text: confirm,
    });
    const dialog = h("dialog", {
      className: "modal confirm-dialog",
      attrs: { "aria-labelledby": titleId, "aria-describedby": text ? textId : null },
    },
    h("h2", { className: "modal-title", attrs: { id: titleId }, text: title }),
    text ? h("p", { className: "modal-text", attrs: { id: textId }, text }) : null,
    h("div", { className: "modal-buttons" }, cancelButton, confirmButton));

    cancelButton.addEventListener("click", () => dialog.close("cancel"));
    confirmButton.addEventListener("click", () => dialog.close("confirm"));
    // A click on the backdrop lands on the <dialog> itself, outside its box.
    dialog.addEventListener("click", (event) => {
      if (event.target !== dialog) return;
      const box = dialog.getBoundingClientRect();
      const inside = event.clientX >= box.left && event.clientX <= box.right
        && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) dialog.close("cancel");
    });
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
      if (opener?.isConnected && typeof opener.focus === "function") opener.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * A modal showing a picture full size, with links to open and download the original.
 * `typeInto` (a text box, the composer): typing while it shows closes it and goes on in
 * that box, where the focus returns when it closes, so that nothing typed is lost.
 */
export function imageViewer({ src, name, caption = "", typeInto = null }) {
  counter += 1;
  const titleId = `dialog-title-${counter}`;
  const close = h("button", { className: "button small viewer-close", attrs: { type: "button" }, text: t("Close") });
  const image = h("img", { className: "viewer-image", attrs: { src, alt: name } });
  const dialog = h("dialog", { className: "modal image-viewer", attrs: { "aria-labelledby": titleId } },
    h("div", { className: "viewer-bar" },
      h("h2", { className: "viewer-title", attrs: { id: titleId, title: name }, text: name }),
      caption ? h("span", { className: "viewer-caption", text: caption }) : null,
      h("span", { className: "viewer-links" },
        h("a", { className: "button small", attrs: { href: src, target: "_blank", rel: "noopener" }, text: t("Open") }),
        h("a", { className: "button small", attrs: { href: src, download: name }, text: t("Download") }),
        close)),
    h("div", { className: "viewer-stage" }, image));
  const opener = document.activeElement;
  const box = () => (typeInto?.isConnected && !typeInto.disabled ? typeInto : null);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target.classList.contains("viewer-stage")) dialog.close();
  });
  dialog.addEventListener("keydown", (event) => {
    // A character (not Space, which presses a button): the viewer closes and the focus
    // moves before the key's default, so the character lands in the box.
    const typed = [...(event.key ?? "")].length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey && !event.altKey;
    if (!typed || event.isComposing || !box()) return;
    event.stopPropagation();
    dialog.close();
    box().focus();
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    const next = box() ?? opener;
    if (next?.isConnected && typeof next.focus === "function") next.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}

/**
 * A modal that shows something (`body`, a node) under `title`, with Close; Escape and a
 * click on the backdrop close it too. Returns the <dialog>; `onClose()` runs once it is gone.
 */
export function infoDialog({ title, body, className = "", onClose = () => {} }) {
  counter += 1;
  const titleId = `dialog-title-${counter}`;
  const opener = document.activeElement;
  const close = h("button", { className: "button", attrs: { type: "button" }, text: t("Close") });
  const dialog = h("dialog", { className: `modal info-dialog ${className}`.trim(), attrs: { "aria-labelledby": titleId } },
    h("h2", { className: "modal-title", attrs: { id: titleId }, text: title }),
    h("div", { className: "modal-body" }, body),
    h("div", { className: "modal-buttons" }, close));
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right
      && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    onClose();
    if (opener?.isConnected && typeof opener.focus === "function") opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}
