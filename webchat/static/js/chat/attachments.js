// How a file message shows its attachment: an image as its thumbnail (a click shows it
// full size), anything else as a card with name, size and a download link.
import { h, srOnly } from "../lib/dom.js";
import { imageViewer } from "../lib/dialog.js";
import { fileSize } from "../lib/format.js";
import { t } from "../lib/i18n.js";

/** A same-origin URL from the server, or null: never a javascript: or foreign link. */
export function sameOriginUrl(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw, location.origin);
    return url.origin === location.origin ? url.href : null;
  } catch {
    return null;
  }
}

/** "PDF", "ZIP", ... from the name, for the card's badge. */
function extensionLabel(name) {
  const match = /\.([A-Za-z0-9]{1,5})$/.exec(name);
  return match ? match[1].toUpperCase() : t("FILE");
}

/** The thumbnail's own size (it fits in the server's `box`), so its space is kept before it loads. */
function thumbSize(file, box) {
  const width = Number(file.width);
  const height = Number(file.height);
  if (!(width > 0 && height > 0)) return {};
  const scale = Math.min(1, box.width / width, box.height / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** "Download", which a screen reader hears as "Download 보고서.pdf". */
function downloadLink(className, url, name) {
  return h("a", { className, attrs: { href: url, download: name, "aria-label": t("Download {name}", { name }) }, text: t("Download") });
}

function imageNode(file, name, url, thumb, { onLoad, thumbnailBox, typeInto }) {
  const { width, height } = thumbSize(file, thumbnailBox);
  const caption = file.width && file.height
    ? t("{size} · {width}×{height}", { size: fileSize(file.size), width: file.width, height: file.height })
    : fileSize(file.size);
  const img = h("img", {
    className: "msg-image",
    attrs: { src: thumb, alt: name, width, height, decoding: "async" },
    on: { load: onLoad },
  });
  const link = h("a", {
    className: "msg-image-link",
    attrs: { href: url, target: "_blank", rel: "noopener", title: t("{name} ({caption})", { name, caption }) },
    on: {
      click: (event) => {
        // A plain click shows it here; Ctrl/Cmd/Shift/middle click keeps the new tab.
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        imageViewer({ src: url, name, caption, typeInto });
      },
    },
  }, img, srOnly(t("{name}, {caption}. Show full size", { name, caption })));
  return h("div", { className: "msg-file is-image", dataset: { slot: "file" } },
    link,
    h("p", { className: "msg-image-caption" },
      h("span", { className: "file-name", attrs: { title: name }, text: name }),
      downloadLink("file-download", url, name)));
}

function cardNode(file, name, url) {
  const size = fileSize(file.size);
  return h("div", { className: "msg-file file-card", dataset: { slot: "file" } },
    h("span", { className: "file-icon", attrs: { "aria-hidden": "true" }, text: extensionLabel(name) }),
    h("span", { className: "file-info" },
      url
        ? h("a", { className: "file-name", attrs: { href: url, download: name, title: name }, text: name })
        : h("span", { className: "file-name", attrs: { title: name }, text: name }),
      h("span", { className: "file-meta", text: size })),
    url ? downloadLink("button small file-download", url, name) : null);
}

/**
 * The attachment of a file message. `options`: thumbnailBox ({width, height}, the
 * server's THUMBNAIL_BOX), onLoad() (runs when a thumbnail has loaded), typeInto (the
 * box that typing in the image viewer goes to, lib/dialog.js).
 */
export function fileNode(file, options) {
  if (!file) return null;
  const name = file.name || t("file");
  const url = sameOriginUrl(file.url);
  const thumb = sameOriginUrl(file.thumbnail_url);
  if (url && thumb) return imageNode(file, name, url, thumb, options);
  return cardNode(file, name, url);
}
