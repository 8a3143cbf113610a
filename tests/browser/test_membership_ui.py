"""Membership and read state in real browsers against the real server: the owner invites
through the invite box's suggestions, the invitee's room list follows live (room added,
unread badge up and back to 0), the owner sees the read receipt, deletes a message that
turns into a tombstone for both, and removes the invitee, whose page becomes read-only;
a direct message started from the room list search opens the same room when asked again.

Pages come from the `pages` fixture (tests/browser/conftest.py): any console error, script error or
native dialog fails the test (confirmations are in-page <dialog>s).
"""

import re

import pytest
from playwright.sync_api import expect

from ..support.browser import (
    MOBILE,
    Pages,
    confirm,
    log_in,
    room_id_of,
    send,
    shot,
    wait_connected,
    wait_list_connected,
)
from ..support.http_client import create_user, unique_name

pytestmark = pytest.mark.browser


def message(page, text):
    return page.locator("#message-list > li.msg", has_text=text)


def test_invite_unread_receipt_delete_kick(pages, server):
    owner_name, guest_name = unique_name("owner"), unique_name("guest")
    create_user(server, owner_name)
    create_user(server, guest_name)
    _owner_context, owner = pages.open("owner")
    guest_context, guest_list = pages.open("guest")
    log_in(owner, owner_name)
    log_in(guest_list, guest_name)
    wait_list_connected(guest_list)

    # The owner makes a private room; it is nobody else's yet.
    room_name = f"Plans 계획 {unique_name('')}"
    owner.get_by_label("Room name").fill(room_name)
    owner.get_by_role("radio", name=re.compile("^Private")).check()
    owner.get_by_role("button", name="Create room").click()
    expect(owner).to_have_url(re.compile(r"/rooms/\d+$"))
    room_id = room_id_of(owner)
    wait_connected(owner)
    owner_members = owner.locator("#member-list .member")
    expect(owner_members).to_have_count(1)
    expect(owner_members.first.locator(".member-tag.is-owner")).to_have_text("owner")
    # The owner has no Remove button for himself.
    expect(owner.locator("#member-list .kick-button")).to_have_count(0)
    send(owner, "Before you came")
    expect(message(owner, "Before you came")).not_to_have_class(re.compile(r"\bis-pending\b"))

    # Invite: the suggestion comes from the prefix and is chosen with the keyboard.
    owner.locator(".invite-menu > summary").click()
    box = owner.get_by_role("combobox", name="Invite someone to this room")
    expect(box).to_be_focused()
    box.press_sequentially(guest_name[:-2], delay=20)
    option = owner.get_by_role("option", name=guest_name, exact=True)
    expect(option).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    shot(owner, "membership-invite-suggestions-desktop")
    # Move the active option onto the guest; one Enter picks and invites.
    for _ in range(10):
        if option.get_attribute("aria-selected") == "true":
            break
        box.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(owner.locator(".invite-status")).to_have_text(f"{guest_name} was invited.")
    expect(box).to_have_value("")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(owner_members).to_have_count(2)
    expect(owner.locator(".msg.kind-system", has_text=f"{owner_name} invited {guest_name}")).to_have_count(1)
    # Being invited marks what came before as read, but nobody is shown to have read it.
    expect(message(owner, "Before you came").locator(".msg-receipts")).to_have_text("")
    owner.keyboard.press("Escape")
    expect(owner.locator(".invite-menu .popover")).to_be_hidden()

    # The guest's room list shows the room live, with nothing unread.
    item = guest_list.locator(f"#my-rooms .room-item[data-room-id='{room_id}']")
    expect(item.locator(".room-name")).to_have_text(room_name)
    expect(item.locator(".unread-badge")).to_be_hidden()

    # Each message from the owner puts the badge up.
    send(owner, "Welcome! 환영합니다")
    expect(item.locator(".unread-badge")).to_be_visible()
    expect(item.locator(".unread-count")).to_have_text("1")
    send(owner, "Second note for you")
    expect(item.locator(".unread-count")).to_have_text("2")
    expect(item.locator(".room-preview")).to_have_text(f"{owner_name}: Second note for you")
    shot(guest_list, "membership-guest-rooms-unread-desktop")

    # The guest opens the room in a second tab: a divider marks what is new, the room is
    # marked read, and the first tab's badge goes back to 0.
    guest = guest_context.new_page()
    guest.on("console", lambda m: pages._console("guest-room", m))
    guest.on("pageerror", lambda e: pages.problems.append(f"guest-room: script error: {e}"))
    guest.on("dialog", lambda d: (pages.problems.append(f"guest-room: dialog {d.message}"), d.dismiss()))
    guest.goto(f"/rooms/{room_id}")
    wait_connected(guest)
    divider = guest.locator("#message-list > li.unread-divider")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text("New messages")
    after_divider = guest.locator("#message-list > li.unread-divider + li")
    expect(after_divider).to_contain_text("Welcome! 환영합니다")
    expect(divider).to_be_in_viewport()
    expect(item.locator(".unread-badge")).to_be_hidden()
    expect(item.locator(".unread-count")).to_have_text("0")
    # The guest is no owner: no Remove buttons, but Invite and Leave.
    expect(guest.locator("#member-list .kick-button")).to_have_count(0)
    expect(guest.get_by_role("button", name="Leave")).to_be_visible()

    # The owner sees that the guest has read up to the newest message.
    receipt = message(owner, "Second note for you").locator(".msg-receipts")
    expect(receipt).to_have_text(f"Read by {guest_name}")
    expect(message(owner, "Welcome!").locator(".msg-receipts")).to_have_text("")
    shot(owner, "membership-owner-receipt-desktop")
    shot(guest, "membership-guest-room-divider-desktop")

    # The guest answers; the owner's receipt for the guest moves off his messages (the
    # guest's newest read is their own), and the guest sees the owner's receipt live.
    send(guest, "Thanks, glad to be here")
    expect(message(owner, "Thanks, glad to be here")).to_have_count(1)
    expect(receipt).to_have_text("")
    expect(message(guest, "Thanks, glad to be here").locator(".msg-receipts")).to_have_text(f"Read by {owner_name}")

    # The owner deletes his own message (within the window) from its menu; everyone sees a tombstone.
    doomed = message(owner, "Second note for you")
    expect(message(guest, "Thanks").locator(".msg-tools .msg-delete")).to_have_count(1)
    expect(message(guest, "Second note for you").locator(".msg-delete")).to_have_count(0)
    doomed.locator(".msg-bubble").hover()
    doomed.get_by_role("button", name="Delete this message").click()
    shot(owner, "membership-delete-confirm-desktop")
    confirm(owner, "Delete")
    owner_tombstones = owner.locator("#message-list .msg-body.is-deleted")
    expect(owner_tombstones).to_have_count(1)
    expect(owner_tombstones).to_have_text("message deleted")
    guest_tombstones = guest.locator("#message-list .msg-body.is-deleted")
    expect(guest_tombstones).to_have_count(1)
    expect(guest_tombstones).to_have_text("message deleted")
    expect(guest.locator(".msg-body", has_text="Second note for you")).to_have_count(0)
    # A cancelled confirmation deletes nothing.
    message(owner, "Welcome!").locator(".msg-bubble").hover()
    message(owner, "Welcome!").get_by_role("button", name="Delete this message").click()
    confirm(owner, "Cancel")
    expect(owner_tombstones).to_have_count(1)

    # The owner removes the guest: the guest's page says so and can no longer send.
    guest_row = owner.locator("#member-list .member", has_text=guest_name)
    guest_row.get_by_role("button", name=f"Remove {guest_name}").click()
    confirm(owner, "Remove")
    expect(owner_members).to_have_count(1)
    expect(owner.locator(".msg.kind-system", has_text=f"{guest_name} was removed by {owner_name}")).to_have_count(1)
    notice = guest.locator("#chat-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("You were removed from this room.")
    expect(notice.get_by_role("link", name="Back to your rooms")).to_have_attribute("href", re.compile(r"/rooms/?$"))
    expect(guest.get_by_label("Message", exact=True)).to_be_disabled()
    expect(guest.get_by_role("button", name="Send")).to_be_disabled()
    expect(guest.locator("#attach-button")).to_be_hidden()
    expect(guest.locator("#room-actions")).to_be_hidden()
    expect(guest.locator(".msg-delete")).to_have_count(0)
    expect(item).to_have_count(0)  # and the room left the guest's list live
    shot(guest, "membership-guest-removed-desktop")

    # What the owner's room looks like on a phone, invite box open.
    _phone_context, phone = pages.open("owner-phone", **MOBILE)
    log_in(phone, owner_name)
    phone.goto(f"/rooms/{room_id}")
    wait_connected(phone)
    shot(phone, "membership-owner-room-mobile")
    phone.locator(".invite-menu > summary").click()
    phone.get_by_role("combobox", name="Invite someone to this room").press_sequentially(guest_name[:-2], delay=20)
    expect(phone.get_by_role("option", name=guest_name, exact=True)).to_be_visible()
    shot(phone, "membership-invite-mobile")


def test_direct_message_from_the_room_list(pages, server):
    me, friend = unique_name("dmme"), unique_name("dmfriend")
    create_user(server, me)
    create_user(server, friend)
    _context, page = pages.open("me")
    _friend_context, friend_page = pages.open("friend")
    log_in(page, me)
    log_in(friend_page, friend)
    wait_list_connected(friend_page)
    wait_list_connected(page)

    people = page.get_by_role("combobox", name="People")
    start = page.get_by_role("button", name="Start conversation")
    expect(start).to_be_disabled()
    people.press_sequentially(friend[:-3], delay=20)
    option = page.get_by_role("option", name=friend, exact=True)
    expect(option).to_be_visible()
    option.click()
    chips = page.locator("#direct-chosen .chip")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text(friend)
    expect(people).to_have_value("")
    expect(start).to_be_enabled()
    shot(page, "membership-direct-chosen-desktop")
    start.click()
    expect(page).to_have_url(re.compile(r"/rooms/\d+$"))
    room_id = room_id_of(page)
    wait_connected(page)
    # Named after the other participant only.
    expect(page.locator("#room-name")).to_have_text(friend)
    expect(page.locator(".room-type")).to_have_text("Direct")
    # No invite and no kick in a direct room; leaving is possible.
    expect(page.locator(".invite-menu")).to_have_count(0)
    expect(page.get_by_role("button", name="Leave")).to_be_visible()
    send(page, "Hi, just us")

    # The friend's list got the room live, named after me, with the message unread.
    item = friend_page.locator(f"#my-rooms .room-item[data-room-id='{room_id}']")
    expect(item.locator(".room-name")).to_have_text(me)
    expect(item.locator(".unread-count")).to_have_text("1")

    # Asking again for the same person opens the same room.
    page.goto("/rooms")
    wait_list_connected(page)
    expect(page.locator(f"#my-rooms .room-item[data-room-id='{room_id}'] .room-name")).to_have_text(friend)
    people.press_sequentially(friend[:-3], delay=20)
    page.get_by_role("option", name=friend, exact=True).click()
    start.click()
    expect(page).to_have_url(re.compile(rf"/rooms/{room_id}$"))
    wait_connected(page)
    expect(page.locator(".msg-body", has_text="Hi, just us")).to_have_count(1)
    shot(page, "membership-direct-room-desktop")

    # A name typed in full without choosing a suggestion works too, and a wrong name says so.
    page.goto("/rooms")
    people.fill("nobody-by-this-name")
    start.click()
    expect(page.locator("#direct-status")).to_contain_text("No user by that name")
    people.fill(friend)
    start.click()
    expect(page).to_have_url(re.compile(rf"/rooms/{room_id}$"))


def test_delete_offer_ends_with_the_window_and_leave(browser, live_server):
    """With a 6-second delete window the Delete action goes away by itself; a page that
    believes the window is longer (its data-delete-window rewritten to 600 before the
    page's script reads it) gets the server's MESSAGE_DELETE_TIME_EXPIRED shown inline.
    Then the user leaves the room."""
    server = live_server("sqlite", env={"MESSAGE_DELETE_WINDOW_SECONDS": "6"})
    pages = Pages(browser, server)
    try:
        name = unique_name("window")
        create_user(server, name)
        _context, page = pages.open("window")
        log_in(page, name)
        page.get_by_label("Room name").fill("Short window")
        page.get_by_role("button", name="Create room").click()
        expect(page).to_have_url(re.compile(r"/rooms/\d+$"))
        room_id = room_id_of(page)
        wait_connected(page)
        expect(page.locator("#chat")).to_have_attribute("data-delete-window", "6")

        send(page, "Gone from the menu soon")
        own = message(page, "Gone from the menu soon")
        own.locator(".msg-bubble").hover()
        expect(own.get_by_role("button", name="Delete this message")).to_be_visible()
        # The offer ends a little before the server's window does, without a reload.
        expect(own.get_by_role("button", name="Delete this message")).to_have_count(0, timeout=8_000)
        page.wait_for_timeout(3_000)  # and now the server's window has surely passed too

        # A page that thinks the window is longer: the server's refusal is shown inline.
        # (The attribute is rewritten once the document is parsed, before chat.js runs.)
        page.add_init_script("""document.addEventListener('readystatechange', () => {
            const chat = document.getElementById('chat');
            if (document.readyState === 'interactive' && chat) chat.dataset.deleteWindow = '600';
        });""")
        page.reload()
        wait_connected(page)
        expect(page.locator("#chat")).to_have_attribute("data-delete-window", "600")
        own = message(page, "Gone from the menu soon")
        own.locator(".msg-bubble").hover()
        own.get_by_role("button", name="Delete this message").click()
        confirm(page, "Delete")
        error = own.locator(".msg-error")
        expect(error).to_have_text("Too late to delete: messages can only be deleted within 10 minutes of sending.")
        expect(own.get_by_role("button", name="Delete this message")).to_have_count(0)
        expect(own.locator(".msg-body")).to_have_text("Gone from the menu soon")
        shot(page, "membership-delete-expired-desktop")

        # Leave, confirmed: back on the room list, without the room.
        page.get_by_role("button", name="Leave").click()
        dialog = page.locator("dialog.confirm-dialog")
        expect(dialog).to_contain_text("You are the last member")
        confirm(page, "Leave room")
        expect(page).to_have_url(re.compile(r"/rooms/?$"))
        wait_list_connected(page)
        expect(page.locator(f"#my-rooms .room-item[data-room-id='{room_id}']")).to_have_count(0)
    finally:
        pages.close()
    assert not pages.problems, "\n".join(pages.problems)
