// The search page: runs the header box's query (with the room filter and the filter
// chips) against GET /api/v1/search, and shows the hits grouped by room, newest room
// first, each with its sender, time and a snippet with the match highlighted. A hit
// opens its room at the message (`?seq=`, chat/sync.js). The URL keeps the query, so
// back and reload show the same search.
import { ApiError, apiFetch, goToLogin } from "./lib/api.js";
import { h } from "./lib/dom.js";
import { errorText } from "./lib/errors.js";
import { fullTime, listTime, parseTime } from "./lib/format.js";
import { t, tn } from "./lib/i18n.js";
import { filtersOf, hasToken, snippet, toggleToken, without } from "./lib/searchquery.js";

const page = document.getElementById("search-page");
const box = document.getElementById("site-search");
const form = box.form;
const roomSelect = document.getElementById("search-room");
const chips = document.getElementById("search-chips");
const active = document.getElementById("search-active");
const status = document.getElementById("search-status");
const results = document.getElementById("search-results");
const more = document.getElementById("search-more");
const help = document.getElementById("search-help");
const roomsUrl = page.dataset.roomsUrl.replace(/\/$/, "");

const FILTER_LABELS = {
  from: (value) => t("From {name}", { name: value }),
  has: (value) => ({ file: t("With a file"), link: t("With a link") }[value.toLowerCase()] ?? `has:${value}`),
  is: (value) => (value.toLowerCase() === "mention" ? t("Mentions of me") : `is:${value}`),
  before: (value) => t("Before {date}", { date: value }),
  after: (value) => t("After {date}", { date: value }),
};

let current = { q: "", roomId: "" };
let nextBefore = null;     // the last hit's id: where "More results" continues
let shown = 0;
let asking = null;         // the AbortController of the search in flight
const groups = new Map();  // room id -> its <ol> of hits

function readUrl() {
  const params = new URLSearchParams(location.search);
  return { q: params.get("q") ?? "", roomId: params.get("room_id") ?? "" };
}

function urlOf({ q, roomId }) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (roomId) params.set("room_id", roomId);
  const query = params.toString();
  return `${location.pathname}${query ? `?${query}` : ""}`;
}

/** The chips: the quick filters pressed when the query holds them, the query's other filters removable. */
function showChips() {
  for (const chip of chips.querySelectorAll(".filter-chip")) chip.setAttribute("aria-pressed", String(hasToken(current.q, chip.dataset.token)));
  const quick = [...chips.querySelectorAll(".filter-chip")].map((chip) => chip.dataset.token.toLowerCase());
  const others = filtersOf(current.q).filter((f) => !quick.includes(f.text.toLowerCase()));
  active.replaceChildren(...others.map((filter) => h("button", {
    className: "filter-chip is-on",
    attrs: { type: "button", title: t("Remove this filter"), "aria-label": t("Remove filter: {filter}", { filter: filter.text }) },
    on: { click: () => run({ ...current, q: without(current.q, filter.start, filter.end) }, { push: true }) },
  }, FILTER_LABELS[filter.name](filter.value), h("span", { className: "filter-chip-x", attrs: { "aria-hidden": "true" }, text: "×" }))));
  active.hidden = others.length === 0;
}

function setBusy(busy) {
  results.setAttribute("aria-busy", String(busy));
  page.classList.toggle("is-loading", busy);
}

/** A hit: sender, time and snippet, linking to the room at the message. */
function hitNode({ message, highlights }) {
  const date = parseTime(message.created_at);
  const isFile = message.kind === "file";
  const text = isFile ? message.file?.name ?? "" : message.body;
  const pieces = snippet(text, highlights).map((piece) => (piece.mark ? h("mark", { text: piece.text }) : piece.text));
  return h("li", { className: "search-hit" }, h("a", {
    className: "search-hit-link",
    attrs: { href: `${roomsUrl}/${message.room_id}?seq=${message.seq}` },
    dataset: { messageId: message.id, seq: message.seq },
  },
  h("span", { className: "search-hit-meta" },
    h("span", { className: "search-hit-sender", text: message.sender?.username ?? t("Unknown") }),
    h("time", { className: "search-hit-time", attrs: { datetime: message.created_at, title: fullTime(date) }, text: listTime(date) })),
  h("span", { className: "search-hit-text" }, isFile ? h("span", { className: "search-hit-file", text: `📎 ${t("File")}: ` }) : null, ...pieces)));
}

/** The list of `room`'s hits, made (at the end: rooms come in the order of their newest hit) on first use. */
function groupOf(room) {
  if (!groups.has(room.id)) {
    const list = h("ol", { className: "search-hit-list" });
    results.append(h("section", { className: "search-group", dataset: { roomId: room.id } },
      h("h2", { className: "search-group-title" },
        h("a", { attrs: { href: `${roomsUrl}/${room.id}` }, text: room.name }),
        " ",
        h("span", { className: `room-type type-${room.type}`, text: roomTypeLabel(room.type) })),
      list));
    groups.set(room.id, list);
  }
  return groups.get(room.id);
}

const typeLabels = JSON.parse(page.dataset.typeLabels);
const roomTypeLabel = (type) => typeLabels[type] ?? type;

function clearResults() {
  results.replaceChildren();
  groups.clear();
  shown = 0;
  nextBefore = null;
  more.hidden = true;
}

function showEmpty() {
  const what = current.q.trim();
  results.replaceChildren(h("div", { className: "search-empty" },
    h("p", { className: "search-empty-title", text: t("No messages match “{query}”.", { query: what }) }),
    h("p", { className: "muted", text: current.roomId ? t("Try all your rooms, fewer words, or a shorter part of a word.") : t("Try fewer words, or a shorter part of a word.") })));
}

async function fetchPage() {
  asking?.abort();
  const controller = new AbortController();
  asking = controller;
  const params = new URLSearchParams({ q: current.q });
  if (current.roomId) params.set("room_id", current.roomId);
  if (nextBefore !== null) params.set("before_id", nextBefore);
  setBusy(true);
  more.disabled = true;
  status.classList.remove("is-error");
  if (nextBefore === null) status.textContent = t("Searching…");
  try {
    const data = await apiFetch(`${page.dataset.apiUrl}?${params}`, { signal: controller.signal });
    if (asking !== controller) return;
    for (const hit of data.results ?? []) groupOf(hit.room).append(hitNode(hit));
    shown += data.results?.length ?? 0;
    const last = data.results?.[data.results.length - 1];
    nextBefore = data.has_more && last ? last.message.id : null;
    more.hidden = nextBefore === null;
    if (!shown) showEmpty();
    status.textContent = shown
      ? (nextBefore === null ? tn("{count} message found", "{count} messages found", shown) : tn("{count} message found so far", "{count} messages found so far", shown))
      : "";
  } catch (error) {
    if (error.name === "AbortError" || asking !== controller) return;
    if (error instanceof ApiError && error.status === 401) goToLogin(page.dataset.loginUrl);
    status.classList.add("is-error");
    status.textContent = error instanceof ApiError ? errorText(error, { action: "search" }) : String(error);
  } finally {
    if (asking === controller) {
      asking = null;
      setBusy(false);
      more.disabled = false;
    }
  }
}

/** Search for `next` ({q, roomId}) from the newest hit; `push`: as a new entry in the history. */
function run(next, { push = false } = {}) {
  current = { q: next.q.trim(), roomId: next.roomId };
  box.value = current.q;
  roomSelect.value = current.roomId;
  if (urlOf(current) !== `${location.pathname}${location.search}`) {
    history[push ? "pushState" : "replaceState"](null, "", urlOf(current));
  }
  showChips();
  clearResults();
  if (!current.q) {
    asking?.abort();
    setBusy(false);
    status.classList.remove("is-error");
    status.textContent = t("Type a word, or pick a filter.");
    help.open = true;
    return;
  }
  fetchPage();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  run({ ...current, q: box.value }, { push: true });
});
roomSelect.addEventListener("change", () => run({ ...current, q: box.value, roomId: roomSelect.value }, { push: true }));
chips.addEventListener("click", (event) => {
  const chip = event.target.closest(".filter-chip");
  if (chip) run({ ...current, q: toggleToken(box.value, chip.dataset.token) }, { push: true });
});
more.addEventListener("click", () => fetchPage());
window.addEventListener("popstate", () => run(readUrl()));

run(readUrl());
if (!current.q) box.focus();
