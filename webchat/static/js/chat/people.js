// The people of the room on the chat page: the member list with who is online, the
// member and online counts, who is typing, and my own `typing` signal. Without a
// connection nobody's presence is known: the list greys every member ("status unknown")
// until a fresh list comes with the room opened again.
import { h, srOnly } from "../lib/dom.js";
import { singleFlight } from "../lib/flight.js";
import { memberCount, onlineCount } from "../lib/format.js";
import { t, tn } from "../lib/i18n.js";

// The server relays one `typing` per user and room every TYPING_INTERVAL_SECONDS (2 s
// by default) and answers the rest ok without relaying them: emitting a little less often
// keeps a signal that arrives early from being dropped, and showing it for longer than
// the gap keeps the indicator steady while someone types on.
const TYPING_EMIT_MS = 2500;   // emit `typing` at most this often
const TYPING_SHOW_MS = 4000;   // show "x is typing…" this long after their last `typing`

/**
 * `el`: memberList, memberCount, onlineCount, memberSummary, typing. `memberActions(slot,
 * member)` fills a member's [data-slot=member-actions]; `emitTyping()` tells the room;
 * `memberTotal`: the member count the page was rendered with.
 */
export function createPeople({ el, me, memberActions, emitTyping, memberTotal = null }) {
  const typers = new Map();   // user id -> {username, timer}
  let shown = [];             // the members last listed
  let total = memberTotal;    // the member count last shown
  let known = true;           // whether `online` is fresh: false from a disconnect to the next list
  const typing = singleFlight(emitTyping, { gapMs: TYPING_EMIT_MS, queue: false });

  function renderTyping() {
    const names = [...typers.values()].map((typer) => typer.username);
    let text = "";
    if (names.length === 1) text = t("{name} is typing…", { name: names[0] });
    else if (names.length === 2) text = t("{first} and {second} are typing…", { first: names[0], second: names[1] });
    else if (names.length > 2) text = tn("{count} person is typing…", "{count} people are typing…", names.length);
    el.typing.textContent = text;
  }

  function stopTyping(userId) {
    const typer = typers.get(userId);
    if (!typer) return;
    clearTimeout(typer.timer);
    typers.delete(userId);
    renderTyping();
  }

  function memberNode(member) {
    const actions = h("span", { className: "member-actions", dataset: { slot: "member-actions" } });
    memberActions(actions, member);
    let presence = member.online ? t(", online") : t(", offline");
    if (!known) presence = t(", status unknown");
    const state = known ? (member.online ? " is-online" : "") : " is-unknown";
    return h("li", { className: `member${state}`, dataset: { userId: member.id } },
      h("span", { className: "presence-dot", attrs: { "aria-hidden": "true" } }),
      h("span", { className: "member-name", attrs: { title: member.username }, text: member.username }),
      member.id === me ? h("span", { className: "member-tag", text: t("you") }) : null,
      member.role === "owner" ? h("span", { className: "member-tag is-owner", text: t("owner") }) : null,
      member.deactivated ? h("span", { className: "member-tag is-deactivated", text: t("(deactivated)") }) : null,
      srOnly(presence),
      actions);
  }

  return {
    /** A `members` event or an open_room ack: the list (if given) and the counts. */
    showMembers(members, count, online) {
      if (Array.isArray(members)) {
        known = true;
        // Online first; otherwise the server's order (owner, then by join time).
        shown = members.map((m, i) => [m, i]).sort(([a, i], [b, j]) => (b.online - a.online) || (i - j)).map(([m]) => m);
        el.memberList.replaceChildren(...shown.map(memberNode));
        count ??= members.length;
        online ??= members.filter((m) => m.online).length;
      }
      if (!Number.isFinite(count)) return;
      total = count;
      const onlineText = known ? onlineCount(online ?? 0) : t("online status unknown");
      el.memberCount.textContent = memberCount(count);
      el.onlineCount.textContent = onlineText;
      el.onlineCount.classList.toggle("is-unknown", !known);
      el.memberSummary.textContent = `${count} · ${onlineText}`;
    },

    /** The connection went: who is online is unknown until the next members list. */
    presenceUnknown() {
      if (!known) return;
      known = false;
      el.memberList.replaceChildren(...shown.map(memberNode));
      if (total !== null) this.showMembers(null, total);
    },

    /** A `typing` event: `user` is typing for the next few seconds. */
    typing(user) {
      if (!user || user.id === me) return;
      clearTimeout(typers.get(user.id)?.timer);
      typers.set(user.id, { username: user.username, timer: setTimeout(() => stopTyping(user.id), TYPING_SHOW_MS) });
      renderTyping();
    },

    /** Their message came: they stopped typing. */
    stopTyping,

    /** The connection dropped: nobody is known to be typing. */
    stopAll() {
      for (const id of [...typers.keys()]) stopTyping(id);
    },

    /** I typed: tell the room, at most every TYPING_EMIT_MS, sending a message or not
     * (a keystroke right after one would be within the server's interval, not relayed). */
    iAmTyping: () => typing.run(),
  };
}
