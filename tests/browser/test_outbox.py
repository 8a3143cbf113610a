"""The chat page's outbox in a real browser: messages written faster than the server's
rate limit allows wait their turn, say so, and are all stored once, in the order they
were written, without a click. Messages written offline are kept in IndexedDB and sent
once each, in order, after a reload; a second tab does not send them again; without
IndexedDB the outbox works in memory; another user's entries on the same browser are
never shown or sent; refusals offer Retry and Discard, and a busy server
(a stopped MariaDB) is retried, then offered for Retry; an offline upload fails with Retry.

Pages come from test_chat_live's `Pages`: any console error, script error or native
dialog fails the test.
"""

import re

import pytest
import requests
from playwright.sync_api import expect

from ..support.accounts import PASSWORD
from ..support.browser import Pages, assert_clean_history, log_in, send, shot, stored, wait_connected
from ..support.http_client import api, api_user, unique_name
from ..support.polling import wait_until
from ..support.socketgate import SocketGate
from ..support.throwaway import ThrowawayMariaDB

pytestmark = pytest.mark.browser


def test_messages_over_the_rate_wait_their_turn(browser, live_server):
    server = live_server("sqlite", env={"RATELIMIT_ENABLED": "true", "RATELIMIT_MESSAGES_PER_USER": "2 per 3 seconds"})
    pages = Pages(browser, server)
    try:
        user, token = api_user(server, unique_name("burst"))
        room = api(server, token, "POST", "/rooms", json={"name": "Bursts"}).json()["room"]
        _context, page = pages.open("burst")
        log_in(page, user["username"])
        page.goto(f"/rooms/{room['id']}")
        wait_connected(page)

        texts = [f"burst {i}" for i in range(1, 6)]
        for text in texts:
            send(page, text)
        waiting = page.locator(
            ".msg.is-pending .msg-status", has_text=re.compile(r"^Too many messages: sending again in \d+ s…$")
        )
        expect(waiting).to_have_count(1)
        shot(page, "outbox-rate-limited-desktop")
        for text in texts:
            expect(page.locator(".msg.kind-text:not(.is-pending)", has_text=text)).to_have_count(1, timeout=20_000)
        assert [text for _seq, text in stored(page)] == texts
        assert_clean_history(page)
        expect(page.locator(".msg-status.is-error")).to_have_count(0)
    finally:
        pages.close()
    assert not pages.problems, "\n".join(pages.problems)


# The page's outbox store, read from IndexedDB (never creating it: the page does).
OUTBOX_RECORDS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("webchat-outbox");
  open.onupgradeneeded = () => open.transaction.abort();
  open.onerror = () => resolve([]);
  open.onsuccess = () => {
    const db = open.result;
    const request = db.transaction("entries").objectStore("entries").getAll();
    request.onsuccess = () => { db.close(); resolve(request.result.sort((a, b) => a.order - b.order)); };
    request.onerror = () => reject(request.error);
  };
})"""


def open_room(pages, label, username, room):
    context, page = pages.open(label)
    gate = SocketGate(context)
    log_in(page, username)
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    return context, page, gate


def go_offline(pages, label, context, page):
    pages.offline.add(label)
    context.set_offline(True)
    expect(page.locator("#connection-status")).not_to_have_attribute("data-state", "connected")


def server_texts(server, token, room):
    """(client_id, body) of the room's text messages the server stored, by seq."""
    messages = api(server, token, "GET", f"/rooms/{room['id']}/messages?limit=100").json()["messages"]
    return [(m["client_id"], m["body"]) for m in messages if m["kind"] == "text"]


def pending_bodies(page):
    return page.locator("#message-list > li.msg.is-pending .msg-body").all_text_contents()


def test_messages_written_offline_survive_a_reload_and_are_stored_once_in_order(pages, server):
    """The issue's Done-means: three messages written offline, the tab reloaded while the
    server still cannot be reached (they show pending after the reload), the server back:
    each stored exactly once, in order, with the client_id it was written with, and shown once."""
    user, token = api_user(server, unique_name("outbox"))
    room = api(server, token, "POST", "/rooms", json={"name": "Outbox 보낼함"}).json()["room"]
    context, page, gate = open_room(pages, "writer", user["username"], room)

    gate.shut = True  # no new connection: the one up goes with the network
    go_offline(pages, "writer", context, page)
    texts = ["오프라인 첫 번째", "offline second", "offline third 셋"]
    for text in texts:
        send(page, text)
    pending = page.locator("#message-list > li.msg.is-pending")
    expect(pending).to_have_count(3)
    expect(pending.locator(".msg-status")).to_have_text(["Waiting for the connection…"] * 3)
    expect(pending.locator(".msg-time")).to_have_count(0)
    records = page.evaluate(OUTBOX_RECORDS)
    assert [r["body"] for r in records] == texts
    assert {(r["user_id"], r["room_id"]) for r in records} == {(user["id"], room["id"])}
    client_ids = [r["client_id"] for r in records]
    assert len(set(client_ids)) == 3
    shot(page, "outbox-offline-desktop")

    # Reloaded while the chat server cannot be reached: the page loads, the socket does not.
    context.set_offline(False)
    page.reload()
    expect(pending).to_have_count(3)
    context.set_offline(True)
    assert pending_bodies(page) == texts
    expect(pending.locator(".msg-status")).to_have_text(["Waiting for the connection…"] * 3)
    expect(page.locator("#connection-banner")).to_have_attribute("data-kind", "offline")
    shot(page, "outbox-after-reload-offline-desktop")
    assert server_texts(server, token, room) == []

    # Reachable again: sent once each, in order, with the same client_ids.
    gate.shut = False
    context.set_offline(False)
    wait_connected(page)
    for text in texts:
        expect(page.locator("#message-list > li.msg.kind-text:not(.is-pending)", has_text=text)).to_have_count(1)
    assert_clean_history(page)
    assert [text for _seq, text in stored(page)] == texts
    assert server_texts(server, token, room) == list(zip(client_ids, texts, strict=True))
    assert gate.sent_client_ids() == client_ids, "each entry went out once after the reload"
    expect(page.locator("#connection-banner")).to_be_hidden()
    assert page.evaluate(OUTBOX_RECORDS) == [], "acked entries leave the store"
    pages.offline.discard("writer")


def test_two_tabs_of_a_room_send_each_entry_once(pages, server):
    """A second tab of the room loads the entries the first wrote offline; when both
    connect, the Web Lock around each send lets one of them send it, once."""
    user, token = api_user(server, unique_name("tabs"))
    room = api(server, token, "POST", "/rooms", json={"name": "Two tabs"}).json()["room"]
    context, first, gate = open_room(pages, "tabs", user["username"], room)
    gate.shut = True  # no new connection: the one up goes with the network
    go_offline(pages, "tabs", context, first)
    texts = [f"from the first tab {i}" for i in (1, 2, 3)]
    for text in texts:
        send(first, text)
    expect(first.locator(".msg.is-pending")).to_have_count(3)
    context.set_offline(False)

    second = context.new_page()
    second.on("console", lambda message: pages._console("tabs", message))
    second.on("pageerror", lambda error: pages.problems.append(f"tabs-2: script error: {error}"))
    second.goto(f"/rooms/{room['id']}")
    expect(second.locator(".msg.is-pending")).to_have_count(3)
    assert pending_bodies(second) == texts

    # Both back at the same moment: the network returns to both tabs at once.
    context.set_offline(True)
    gate.shut = False
    context.set_offline(False)
    for page in (first, second):
        wait_connected(page)
        for text in texts:
            expect(page.locator("#message-list > li.msg.kind-text:not(.is-pending)", has_text=text)).to_have_count(1)
        assert_clean_history(page)
    assert [body for _id, body in server_texts(server, token, room)] == texts
    ids = gate.sent_client_ids()
    assert len(ids) == 3 and len(set(ids)) == 3, f"each entry sent once by one of the tabs: {ids}"
    pages.offline.discard("tabs")


def test_another_users_entries_on_the_same_browser_are_never_shown_or_sent(pages, server):
    """A writes offline and logs out before it could be sent; B logs in on the same browser
    and opens the same room: nothing of A's shows or goes out. A comes back: it is sent."""
    a_user, a_token = api_user(server, unique_name("first"))
    b_user, _b_token = api_user(server, unique_name("second"))
    room = api(server, a_token, "POST", "/rooms", json={"name": "Shared laptop"}).json()["room"]
    assert api(server, a_token, "POST", f"/rooms/{room['id']}/members", json={"username": b_user["username"]}).ok
    context, page, gate = open_room(pages, "laptop", a_user["username"], room)
    gate.shut = True
    go_offline(pages, "laptop", context, page)
    send(page, "A's words only")
    expect(page.locator(".msg.is-pending")).to_have_count(1)
    context.set_offline(False)
    page.locator("#logout-button").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))

    gate.shut = False
    log_in(page, b_user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    expect(page.locator("#message-list > li.msg.kind-system")).not_to_have_count(0)
    page.wait_for_timeout(500)
    expect(page.locator(".msg.is-pending")).to_have_count(0)
    expect(page.locator(".msg-body", has_text="A's words only")).to_have_count(0)
    assert gate.sends == []
    assert [r["user_id"] for r in page.evaluate(OUTBOX_RECORDS)] == [a_user["id"]], "A's entry waits for A"

    page.locator("#logout-button").click()
    log_in(page, a_user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    expect(page.locator("#message-list > li.msg.kind-text:not(.is-pending)", has_text="A's words only")).to_have_count(
        1
    )
    # Logging out revoked A's tokens: ask with a new one.
    token = requests.post(
        f"{server.url}/api/v1/auth/token", json={"username": a_user["username"], "password": PASSWORD}, timeout=10
    ).json()["access_token"]
    assert [body for _id, body in server_texts(server, token, room)] == ["A's words only"]
    pages.offline.discard("laptop")


def test_without_indexeddb_the_outbox_works_in_memory(pages, server):
    """Private modes may have no IndexedDB: the outbox keeps its entries in memory."""
    user, token = api_user(server, unique_name("private"))
    room = api(server, token, "POST", "/rooms", json={"name": "Private mode"}).json()["room"]
    context, page = pages.open("private")
    context.add_init_script("Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true })")
    log_in(page, user["username"])
    page.goto(f"/rooms/{room['id']}")
    wait_connected(page)
    assert page.evaluate("() => typeof indexedDB") == "undefined"
    go_offline(pages, "private", context, page)
    send(page, "kept in memory 1")
    send(page, "kept in memory 2")
    expect(page.locator(".msg.is-pending")).to_have_count(2)
    context.set_offline(False)
    wait_connected(page)
    expect(page.locator(".msg.is-pending")).to_have_count(0)
    assert [body for _id, body in server_texts(server, token, room)] == ["kept in memory 1", "kept in memory 2"]
    pages.offline.discard("private")


def test_a_refused_message_stays_refused_after_a_reload_until_discarded(pages, server):
    """A reply to a message deleted while I was offline is refused (VALIDATION_ERROR): a
    retry cannot change that, so it fails at once with Retry and Discard, comes back failed
    after a reload without being sent again, and Discard removes it for good."""
    user, token = api_user(server, unique_name("refused"))
    room = api(server, token, "POST", "/rooms", json={"name": "Refusals"}).json()["room"]
    context, page, gate = open_room(pages, "refused", user["username"], room)
    send(page, "Is the meeting at 3?")
    original = page.locator("#message-list > li.msg.kind-text:not(.is-pending)", has_text="Is the meeting at 3?")
    expect(original).to_have_count(1)
    original_id = original.get_attribute("data-id")

    go_offline(pages, "refused", context, page)
    original.locator(".msg-bubble").hover()
    original.locator(".msg-tools .msg-reply-button").click()
    send(page, "Yes, room 5")
    assert api(server, token, "DELETE", f"/messages/{original_id}").status_code == 200
    context.set_offline(False)
    wait_connected(page)
    failed = page.locator("#message-list > li.msg.is-pending.is-failed", has_text="Yes, room 5")
    expect(failed).to_have_count(1)
    expect(failed.locator(".msg-status")).to_contain_text("Not sent:")
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    expect(failed.get_by_role("button", name="Discard")).to_be_visible()
    shot(page, "outbox-refused-desktop")
    sends = len(gate.sends)

    page.reload()
    wait_connected(page)
    expect(failed).to_have_count(1)
    expect(failed.get_by_role("button", name="Discard")).to_be_visible()
    expect(page.locator("#message-list > li.msg.is-deleted")).to_have_count(1)
    page.wait_for_timeout(1000)
    assert len(gate.sends) == sends, "a failed entry is not sent again by itself"
    assert [body for _id, body in server_texts(server, token, room)] == [""]

    failed.get_by_role("button", name="Discard").click()
    expect(failed).to_have_count(0)
    assert page.evaluate(OUTBOX_RECORDS) == []
    page.reload()
    wait_connected(page)
    expect(page.locator(".msg.is-pending")).to_have_count(0)
    pages.offline.discard("refused")


def test_an_upload_made_offline_fails_visibly_and_its_retry_uploads_it(pages, server, tmp_path):
    user, token = api_user(server, unique_name("uploader"))
    room = api(server, token, "POST", "/rooms", json={"name": "Offline uploads"}).json()["room"]
    context, page, _gate = open_room(pages, "uploader", user["username"], room)
    notes = tmp_path / "meeting-notes.txt"
    notes.write_text("회의록: 3시, 5번 회의실\n", encoding="utf-8")

    go_offline(pages, "uploader", context, page)
    page.locator("#file-input").set_input_files(str(notes))
    row = page.locator("#upload-list .upload", has_text="meeting-notes.txt")
    expect(row).to_have_class(re.compile(r"\bis-failed\b"))
    expect(row.locator(".upload-status")).to_have_text("Not uploaded: The server could not be reached; try again.")
    retry = row.get_by_role("button", name="Retry meeting-notes.txt")
    expect(retry).to_be_visible()
    shot(page, "outbox-upload-offline-desktop")

    context.set_offline(False)
    wait_connected(page)
    retry.click()
    expect(row).to_have_count(0)
    expect(page.locator("#message-list > li.msg.kind-file", has_text="meeting-notes.txt")).to_have_count(1)
    messages = api(server, token, "GET", f"/rooms/{room['id']}/messages").json()["messages"]
    assert [m["file"]["name"] for m in messages if m["kind"] == "file"] == ["meeting-notes.txt"]
    pages.offline.discard("uploader")


@pytest.mark.mariadb
def test_a_busy_server_is_tried_again_then_offered_and_retry_stores_it_once(browser, live_server, tmp_path):
    """With MariaDB stopped every send answers SERVICE_UNAVAILABLE: the page tries again
    after 2 s and 4 s by itself, then offers Retry and Discard; MariaDB back, Retry
    stores it once, with the client_id of every attempt."""
    mariadb = ThrowawayMariaDB(tmp_path / "mariadb").start()
    pages = None
    try:
        server = live_server(database=mariadb)
        pages = Pages(browser, server)
        user, token = api_user(server, unique_name("busy"))
        room = api(server, token, "POST", "/rooms", json={"name": "Busy server"}).json()["room"]
        _context, page, gate = open_room(pages, "busy", user["username"], room)
        expect(page.locator("#message-list > li.msg.kind-system")).to_have_count(1)  # the room is open

        mariadb.stop()
        text = "written while the database was down"
        send(page, text)
        entry = page.locator("#message-list > li.msg.is-pending", has_text=text)
        expect(entry.locator(".msg-status")).to_have_text(re.compile(r"^Not sent yet: trying again in [24] s…$"))
        expect(entry).to_have_class(re.compile(r"\bis-failed\b"), timeout=20_000)
        expect(entry.locator(".msg-status")).to_contain_text("Not sent: The server is busy; try again.")
        expect(entry.get_by_role("button", name="Discard")).to_be_visible()
        assert len(gate.sends) == 3, gate.sends
        shot(page, "outbox-busy-failed-desktop")

        mariadb.start()
        wait_until(lambda: requests.get(f"{server.url}/healthz", timeout=10).status_code == 200, 60, "recovery")
        entry.get_by_role("button", name="Retry").click()
        expect(page.locator("#message-list > li.msg.kind-text:not(.is-pending)", has_text=text)).to_have_count(1)
        expect(entry).to_have_count(0)
        client_ids = gate.sent_client_ids()
        assert len(client_ids) == 4 and len(set(client_ids)) == 1, client_ids
        rows = mariadb.query("SELECT client_id, body FROM messages WHERE room_id = ? AND kind = 'text'", room["id"])
        assert rows == [(client_ids[0], text)]
    finally:
        if pages:
            pages.close()
        mariadb.stop()
    assert not pages.problems, "\n".join(pages.problems)
