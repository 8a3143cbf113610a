// Uploads from the chat page: the composer's file button, drag and drop onto the chat,
// and pasted images. Each upload shows a progress bar with Cancel; the stored message
// comes back in the answer and through `new_message`, merged once by its seq.
import { ApiError } from "../lib/api.js";
import { h, srOnly } from "../lib/dom.js";
import { errorText } from "../lib/errors.js";
import { fileSize } from "../lib/format.js";
import { t } from "../lib/i18n.js";
import { uploadFile } from "../lib/upload.js";

const PARALLEL = 2;   // uploads at once; the rest wait their turn
const RETRYABLE = new Set(["RATE_LIMITED", "SERVICE_UNAVAILABLE", "NETWORK_ERROR"]);
const OUT_OF_ROOM = { code: "USER_NOT_IN_CHAT_ROOM" };

function paperclip() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M21.4 11.1l-8.5 8.5a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6l7.8-7.8");
  svg.append(path);
  return svg;
}

/** "Pasted image 2026-11-22 14.05.09.png" for a clipboard image that came without a useful name. */
function pastedName(file) {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}`;
  const extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg").replace(/[^a-z0-9]/g, "");
  return `${t("Pasted image {time}", { time: stamp })}.${extension}`;
}

/** A row's button: `label` shown, `name` heard ("Cancel 보고서.pdf"). */
function action(className, label, name, onClick) {
  return h("button", { className, attrs: { type: "button", "aria-label": name }, text: label, on: { click: onClick } });
}

/**
 * `options`: url (POST target), maxBytes, list (the <ul> showing uploads), dropZone
 * (the element that takes drops), pasteTarget (the composer's textarea), newClientId(),
 * onUploaded(message), canUpload() (false once the user is out of the room), announce(text),
 * takeReplyTo() (the id of the message the next upload answers, taken by the first file
 * of a batch; null when none).
 */
export function createUploads(options) {
  const { url, maxBytes, list, dropZone, pasteTarget, newClientId, onUploaded, canUpload, announce, takeReplyTo } = options;
  const uploads = [];
  let fileInput = null;
  let button = null;

  function running() {
    return uploads.filter((u) => u.state === "uploading" || u.state === "processing").length;
  }

  function remove(upload) {
    const index = uploads.indexOf(upload);
    if (index >= 0) uploads.splice(index, 1);
    upload.node.remove();
    list.hidden = uploads.length === 0;
  }

  function render(upload) {
    const { file, state } = upload;
    const percent = Math.round(upload.progress * 100);
    const node = upload.node;
    node.className = `upload is-${state}`;
    let status;
    let bar = null;
    const actions = [];
    if (state === "waiting") status = t("Waiting…");
    else if (state === "uploading") status = `${percent}%`;
    else if (state === "processing") status = t("Processing…");
    else status = upload.error;
    if (state === "waiting" || state === "uploading" || state === "processing") {
      bar = h("progress", {
        className: "upload-progress",
        attrs: { max: 100, value: state === "waiting" ? 0 : percent, "aria-label": t("Uploading {name}", { name: file.name }) },
      });
      actions.push(action("link-button upload-cancel", t("Cancel"), t("Cancel {name}", { name: file.name }), () => cancel(upload)));
    } else {
      if (upload.retryable) {
        actions.push(action("link-button", t("Retry"), t("Retry {name}", { name: file.name }), () => retry(upload)));
      }
      actions.push(action("link-button", t("Dismiss"), t("Dismiss {name}", { name: file.name }), () => remove(upload)));
    }
    node.replaceChildren(...[
      h("div", { className: "upload-line" },
        h("span", { className: "upload-name", attrs: { title: file.name }, text: file.name }),
        h("span", { className: "upload-size", text: fileSize(file.size) }),
        h("span", { className: "upload-actions" }, ...actions)),
      bar,
      h("p", {
        className: `upload-status${state === "failed" ? " is-error" : ""}`,
        attrs: state === "failed" ? { role: "alert" } : {},
        text: status,
      }),
    ].filter(Boolean));
  }

  /** Update the bar and the percentage without rebuilding the row (keeps focus on Cancel). */
  function showProgress(upload) {
    const percent = Math.round(upload.progress * 100);
    const bar = upload.node.querySelector("progress");
    const status = upload.node.querySelector(".upload-status");
    if (!bar || !status) {
      render(upload);
      return;
    }
    if (upload.state === "processing") {
      bar.removeAttribute("value");   // indeterminate while the server makes the thumbnail
      status.textContent = t("Processing…");
    } else {
      bar.value = percent;
      status.textContent = `${percent}%`;
    }
    upload.node.className = `upload is-${upload.state}`;
  }

  /** Not uploaded, for `error` (an ApiError, or `{code}` when the page refuses it). */
  function fail(upload, error, retryable = false) {
    const text = errorText(error, {
      action: "upload", limit: fileSize(maxBytes), seconds: Math.max(1, Number(error.details?.retry_after) || 1),
    });
    upload.state = "failed";
    upload.error = t("Not uploaded: {reason}", { reason: text });
    upload.retryable = retryable;
    upload.request = null;
    render(upload);
  }

  function pump() {
    while (running() < PARALLEL) {
      const next = uploads.find((u) => u.state === "waiting");
      if (!next) return;
      start(next);
    }
  }

  function start(upload) {
    if (!canUpload()) {
      fail(upload, OUT_OF_ROOM);
      return;
    }
    upload.state = "uploading";
    upload.progress = 0;
    render(upload);
    const request = uploadFile(url, upload.file, {
      clientId: upload.clientId,
      replyTo: upload.replyTo,
      onProgress: (fraction) => {
        upload.progress = fraction;
        if (fraction >= 1 && upload.state === "uploading") upload.state = "processing";
        showProgress(upload);
      },
    });
    upload.request = request;
    request.promise.then(
      (data) => {
        if (upload.request !== request) return;
        upload.request = null;
        remove(upload);
        if (data?.message) onUploaded(data.message);
        announce(t("{name} uploaded.", { name: upload.file.name }));
      },
      (error) => {
        if (upload.request !== request) return;
        if (error.name === "AbortError") return;
        if (error instanceof ApiError) fail(upload, error, RETRYABLE.has(error.code) || error.status >= 500);
        else fail(upload, error, true);
        announce(t("{name} was not uploaded.", { name: upload.file.name }));
      },
    ).finally(pump);
  }

  function cancel(upload) {
    const request = upload.request;
    upload.request = null;
    request?.abort();
    remove(upload);
    announce(t("Upload of {name} cancelled.", { name: upload.file.name }));
    pump();
  }

  function retry(upload) {
    upload.state = "waiting";
    upload.error = null;
    render(upload);
    pump();
  }

  /** Queue files; those over the limit or empty are refused here, without a request. */
  function add(files) {
    if (!canUpload() || !files.length) return;
    let replyTo = takeReplyTo();
    for (const file of files) {
      const upload = {
        file, clientId: newClientId(), replyTo, state: "waiting", progress: 0, error: null, retryable: false, request: null,
        node: h("li", { className: "upload" }),
      };
      replyTo = null;
      uploads.push(upload);
      list.append(upload.node);
      if (file.size === 0) fail(upload, { code: "FILE_EMPTY" });
      else if (file.size > maxBytes) fail(upload, { code: "FILE_TOO_LARGE" });
      else render(upload);
    }
    list.hidden = uploads.length === 0;
    pump();
  }

  // ------------------------------------------------------------------ drag and drop
  const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes("Files");
  let depth = 0;
  // What the drop target says over the chat (chat.css writes it with attr(), in the page language).
  dropZone.dataset.dropLabel = t("Drop files to share them");
  dropZone.addEventListener("dragenter", (event) => {
    if (!hasFiles(event) || !canUpload()) return;
    event.preventDefault();
    depth += 1;
    dropZone.classList.add("is-drop-target");
  });
  dropZone.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !canUpload()) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  dropZone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) dropZone.classList.remove("is-drop-target");
  });
  dropZone.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    dropZone.classList.remove("is-drop-target");
    add(Array.from(event.dataTransfer.files));
  });
  // A file dropped next to the chat must not replace the page.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => { if (hasFiles(event)) event.preventDefault(); });
  }

  // ------------------------------------------------------------------ paste
  pasteTarget.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData?.files ?? []);
    if (!files.length || !canUpload()) return;
    event.preventDefault();
    add(files.map((file) => (file.type.startsWith("image/") && (!file.name || file.name === "image.png")
      ? new File([file], pastedName(file), { type: file.type })
      : file)));
  });

  return {
    /** The composer's [data-slot=composer-tools]: the file button. */
    composerTools(slot) {
      fileInput = h("input", { attrs: { type: "file", multiple: true, id: "file-input", tabindex: "-1", "aria-hidden": "true" }, hidden: true });
      button = h("button", {
        className: "button tool-button", attrs: { type: "button", id: "attach-button", title: t("Attach files (or drop them on the chat, or paste an image)") },
      }, paperclip(), srOnly(t("Attach files")));
      button.addEventListener("click", () => fileInput.click());
      fileInput.addEventListener("change", () => {
        add(Array.from(fileInput.files ?? []));
        fileInput.value = "";
      });
      slot.append(fileInput, button);
    },

    /** Out of the room: stop what is running and take the button away. */
    disable() {
      if (button) button.disabled = true;
      if (fileInput) fileInput.disabled = true;
      for (const upload of [...uploads]) {
        if (upload.request) {
          upload.request.abort();
          fail(upload, OUT_OF_ROOM);
        } else if (upload.state === "waiting") {
          fail(upload, OUT_OF_ROOM);
        }
      }
    },
  };
}
