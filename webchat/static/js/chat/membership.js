// Membership on the chat page: invite (public and private rooms), leave, the owner's
// Remove and Ban buttons on each member, and the owner's list of bans (with Unban).
import { apiFetch } from "../lib/api.js";
import { confirmDialog, infoDialog } from "../lib/dialog.js";
import { announce, h } from "../lib/dom.js";
import { errorText } from "../lib/errors.js";
import { t } from "../lib/i18n.js";
import { userSearch } from "../lib/usersearch.js";

/**
 * `options`: roomType, me (user id), roomName, usernameMax (the longest username),
 * membersUrl (POST to invite, /<name> to DELETE), bansUrl (GET, /<name> to DELETE), leaveUrl, usersUrl, roomsUrl, status
 * (an element for short results), announcer (a polite live region).
 */
export function createMembership(options) {
  const { roomType, me, roomName, usernameMax, membersUrl, leaveUrl, usersUrl, roomsUrl, status, announcer } = options;
  const bansUrl = options.bansUrl;
  let members = [];
  let amOwner = false;
  let disabled = false;
  let inviteMenu = null;
  let bansButton = null;
  let statusTimer = null;

  function showStatus(text, { error = false } = {}) {
    clearTimeout(statusTimer);
    status.textContent = text;
    status.classList.toggle("is-error", error);
    status.hidden = !text;
    if (text && !error) statusTimer = setTimeout(() => { status.textContent = ""; status.hidden = true; }, 6000);
  }

  // ------------------------------------------------------------------ invite
  function inviteBox() {
    const input = h("input", {
      attrs: { type: "text", id: "invite-input", name: "username", maxlength: usernameMax, placeholder: t("Username"),
        "aria-describedby": "invite-status" },
    });
    const note = h("p", { className: "invite-status", attrs: { id: "invite-status", "aria-live": "polite" } });
    const submit = h("button", { className: "button primary small", attrs: { type: "submit" }, text: t("Invite") });
    const form = h("form", { className: "invite-form", attrs: { novalidate: true, "aria-label": t("Invite someone") } },
      h("label", { attrs: { for: "invite-input" }, text: t("Invite someone to this room") }),
      h("div", { className: "invite-row" },
        h("div", { className: "combo" }, input),
        submit),
      note);
    const search = userSearch({
      input,
      usersUrl,
      status: note,
      exclude: () => new Set(members.map((m) => m.username.toLowerCase())),
      onChoose: (user, { byEnter }) => {
        input.value = user.username;
        note.classList.remove("is-error");
        // Enter on a suggestion picks and invites; a click only picks.
        if (byEnter) form.requestSubmit();
        else note.textContent = t("{name} chosen. Press Enter or Invite.", { name: user.username });
      },
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = input.value.trim();
      note.classList.remove("is-error");
      if (!username) {
        note.textContent = t("Type a username first.");
        note.classList.add("is-error");
        input.focus();
        return;
      }
      if (members.some((m) => m.username.toLowerCase() === username.toLowerCase())) {
        note.textContent = t("{name} is already a member.", { name: username });
        note.classList.add("is-error");
        return;
      }
      submit.disabled = true;
      try {
        await apiFetch(membersUrl, { method: "POST", json: { username } });
        search.clear();
        note.textContent = t("{name} was invited.", { name: username });
        announce(announcer, note.textContent);
        input.focus();
      } catch (error) {
        note.textContent = errorText(error, { action: "invite" });
        note.classList.add("is-error");
      } finally {
        submit.disabled = disabled;
      }
    });

    const details = h("details", { className: "invite-menu" },
      h("summary", { className: "button small", text: t("Invite") }),
      h("div", { className: "popover" }, form));
    details.addEventListener("toggle", () => {
      if (details.open) input.focus();
    });
    details.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && details.open) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (details.open && !details.contains(event.target)) details.open = false;
    });
    return details;
  }

  // ------------------------------------------------------------------ leave
  async function leave(button) {
    const others = members.filter((m) => m.id !== me).length;
    let text = t("You will stop receiving its messages.");
    if (roomType !== "direct" && others === 0) text = t("You are the last member: the room, its messages and files will be deleted.");
    else if (amOwner && others > 0) text = t("Ownership passes to the member who has been here longest. You can be invited back.");
    else if (roomType === "private") text = t("You will need an invitation to come back.");
    const ok = await confirmDialog({ title: t("Leave {room}?", { room: roomName }), text, confirm: t("Leave room"), danger: true });
    if (!ok) return;
    button.disabled = true;
    try {
      await apiFetch(leaveUrl, { method: "POST" });
      location.assign(roomsUrl);
    } catch (error) {
      button.disabled = disabled;
      showStatus(t("Could not leave: {reason}", { reason: errorText(error, { action: "leave" }) }), { error: true });
    }
  }

  // ------------------------------------------------------------------ kick
  async function kick(member, button, ban = false) {
    const ok = await confirmDialog(ban
      ? {
        title: t("Remove and ban {name}?", { name: member.username }),
        text: t("{name} will no longer see {room} and cannot join or be invited again until you lift the ban.", { name: member.username, room: roomName }),
        confirm: t("Kick and ban"),
        danger: true,
      }
      : {
        title: t("Remove {name}?", { name: member.username }),
        text: t("{name} will no longer see {room}. They can be invited again.", { name: member.username, room: roomName }),
        confirm: t("Remove"),
        danger: true,
      });
    if (!ok) return;
    button.disabled = true;
    try {
      const query = ban ? "?ban=true" : "";
      await apiFetch(`${membersUrl}/${encodeURIComponent(member.username)}${query}`, { method: "DELETE" });
      showStatus(ban ? t("{name} was removed and banned.", { name: member.username }) : t("{name} was removed.", { name: member.username }));
      announce(announcer, status.textContent);
    } catch (error) {
      button.disabled = false;
      showStatus(t("Could not remove {name}: {reason}", { name: member.username, reason: errorText(error, { action: "kick" }) }), { error: true });
    }
  }

  // ------------------------------------------------------------------ bans
  async function showBans() {
    const list = h("ul", { className: "ban-list", attrs: { id: "ban-list" } });
    const note = h("p", { className: "ban-status", attrs: { "aria-live": "polite" } });
    infoDialog({ title: t("Banned from {room}", { room: roomName }), body: h("div", {}, note, list), className: "bans-dialog" });
    let bans;
    try {
      bans = (await apiFetch(bansUrl)).bans;
    } catch (error) {
      note.textContent = errorText(error, {});
      return;
    }
    if (!bans.length) note.textContent = t("Nobody is banned from this room.");
    for (const ban of bans) {
      const unban = h("button", { className: "button small", attrs: { type: "button" }, text: t("Unban") });
      const item = h("li", { className: "ban-item" }, h("span", { className: "ban-name", text: ban.user.username }), unban);
      unban.addEventListener("click", async () => {
        unban.disabled = true;
        try {
          await apiFetch(`${bansUrl}/${encodeURIComponent(ban.user.username)}`, { method: "DELETE" });
          item.remove();
          note.textContent = t("{name} can join again.", { name: ban.user.username });
        } catch (error) {
          unban.disabled = false;
          note.textContent = errorText(error, {});
        }
      });
      list.append(item);
    }
  }

  return {
    /** Whether I own this room (by the latest members list). */
    isOwner: () => amOwner,

    /** The header's [data-slot=room-actions]: Invite (not in direct rooms), Bans (the
     * owner's) and Leave. */
    roomActions(slot) {
      if (roomType !== "direct") {
        inviteMenu = inviteBox();
        slot.append(inviteMenu);
        bansButton = h("button", { className: "button small", attrs: { type: "button", id: "bans-button", hidden: true }, text: t("Bans") });
        bansButton.addEventListener("click", showBans);
        slot.append(bansButton);
      }
      const leaveButton = h("button", { className: "button small danger", attrs: { type: "button", id: "leave-button" }, text: t("Leave") });
      leaveButton.addEventListener("click", () => leave(leaveButton));
      slot.append(leaveButton);
    },

    /** A member's [data-slot=member-actions]: Remove, for the owner, on everyone else. */
    memberActions(slot, member) {
      if (disabled || !amOwner || roomType === "direct" || member.id === me) return;
      const button = h("button", {
        className: "link-button danger kick-button",
        attrs: { type: "button", "aria-label": t("Remove {name}", { name: member.username }) },
        text: t("Remove"),
      });
      button.addEventListener("click", () => kick(member, button));
      const banButton = h("button", {
        className: "link-button danger ban-button",
        attrs: { type: "button", "aria-label": t("Kick and ban {name}", { name: member.username }) },
        text: t("Kick and ban"),
      });
      banButton.addEventListener("click", () => kick(member, banButton, true));
      slot.append(button, " ", banButton);
    },

    /** Called with each members list before it is rendered. */
    setMembers(list) {
      members = Array.isArray(list) ? list : [];
      amOwner = members.some((m) => m.id === me && m.role === "owner");
      if (bansButton) bansButton.hidden = !amOwner;
    },

    /** No longer a member: nothing more to do here. */
    disable() {
      disabled = true;
      if (inviteMenu) inviteMenu.open = false;
      for (const control of document.querySelectorAll(".room-actions button, .room-actions input, .member-actions button")) {
        control.disabled = true;
      }
    },
  };
}
