"""Files in real browsers against the real server: one user uploads an image through the
file button with a visible progress bar (the upload is throttled so that it shows), the
other sees the thumbnail live, opens it full size and downloads the original byte for
byte; a Korean-named PDF shows as a card; uploads can be cancelled, errors are shown
(client-side limits and a server refusal), and drag and drop and paste upload too.
"""

import io
import os
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from ..support.browser import MOBILE, log_in, room_id_of, shot, wait_connected, wait_list_connected
from ..support.http_client import create_user, unique_name

pytestmark = pytest.mark.browser

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def noisy_png(width=1200, height=800, seed=b""):
    """A PNG that does not compress (random pixels), so that its upload takes a while."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def small_png(color=(40, 120, 220)):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, format="PNG")
    return out.getvalue()


def throttle(page, bytes_per_second):
    """Limit the page's upload bandwidth with the DevTools protocol (-1: no limit)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return cdp


def choose_files(page, files):
    """Pick files through the composer's file button, as a person would."""
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(files)


def progress_value(page):
    return page.evaluate(
        "() => { const p = document.querySelector('#upload-list progress'); return p ? p.value : null; }"
    )


def test_image_and_file_uploads_reach_the_other_member(pages, server, tmp_path):
    a_name, b_name = unique_name("sender"), unique_name("viewer")
    create_user(server, a_name)
    create_user(server, b_name)
    _a_context, a = pages.open("A")
    _b_context, b = pages.open("B")
    log_in(a, a_name)
    log_in(b, b_name)

    a.get_by_label("Room name").fill(f"Photos 사진 {unique_name('')}")
    a.get_by_role("button", name="Create room").click()
    expect(a).to_have_url(re.compile(r"/rooms/\d+$"))
    room_id = room_id_of(a)
    wait_connected(a)
    b.goto(f"/rooms/{room_id}")
    b.get_by_role("button", name=re.compile("^Join")).click()
    wait_connected(b)

    # A picks a 1200×800 photo; the throttled upload shows its progress bar moving.
    png = noisy_png()
    assert len(png) > 2_000_000
    cdp = throttle(a, 1_000_000)
    choose_files(a, [{"name": "holiday 휴가.png", "mimeType": "image/png", "buffer": png}])
    upload = a.locator("#upload-list .upload", has_text="holiday 휴가.png")
    expect(upload).to_be_visible()
    bar = upload.locator("progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-label", "Uploading holiday 휴가.png")
    expect(upload.get_by_role("button", name="Cancel holiday 휴가.png")).to_be_visible()
    a.wait_for_function(
        "() => { const p = document.querySelector('#upload-list progress'); return p && p.value > 0 && p.value < 100; }"
    )
    first = progress_value(a)
    shot(a, "files-upload-progress-desktop")
    a.wait_for_function(
        f"() => {{ const p = document.querySelector('#upload-list progress');"
        f" return !p || !p.hasAttribute('value') || p.value > {first}; }}"
    )
    expect(a.locator("#upload-list .upload")).to_have_count(0, timeout=30_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # B sees the thumbnail live; A has the message exactly once (answer + broadcast).
    b_image = b.locator(".msg.kind-file .msg-image")
    expect(b_image).to_have_count(1)
    expect(b_image).to_have_attribute("src", re.compile("^" + re.escape(server.url) + r"/files/\d+/.+\?thumb=1$"))
    expect(b_image).to_have_attribute("alt", "holiday 휴가.png")
    b.wait_for_function(
        "() => { const i = document.querySelector('.msg-image'); return i && i.complete && i.naturalWidth > 0; }"
    )
    assert b_image.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [320, 213]
    expect(a.locator(".msg.kind-file")).to_have_count(1)
    expect(a.locator(".msg.kind-file .msg-image")).to_have_count(1)
    shot(b, "files-thumbnail-desktop")

    # A click shows it full size; Download gives back the very bytes uploaded.
    b_image.click()
    viewer = b.locator("dialog.image-viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator(".viewer-title")).to_have_text("holiday 휴가.png")
    b.wait_for_function(
        "() => { const i = document.querySelector('.viewer-image'); return i && i.complete && i.naturalWidth > 0; }"
    )
    assert viewer.locator(".viewer-image").evaluate("i => [i.naturalWidth, i.naturalHeight]") == [1200, 800]
    shot(b, "files-viewer-desktop")
    with b.expect_download() as download_info:
        viewer.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "holiday 휴가.png"
    assert open(download.path(), "rb").read() == png
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_have_count(0)
    # Opening in a new tab stays possible (the link's own href), and it is the original.
    href = b.locator(".msg-image-link").get_attribute("href")
    assert b.request.get(href).body() == png

    # A Korean-named PDF is a card with name, size and a download link.
    choose_files(a, [{"name": "보고서.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}])
    card = b.locator(".msg.kind-file .file-card")
    expect(card).to_have_count(1)
    expect(card.locator(".file-name")).to_have_text("보고서.pdf")
    expect(card.locator(".file-meta")).to_have_text(f"{len(PDF_BYTES)} B")
    expect(card.locator(".file-icon")).to_have_text("PDF")
    with b.expect_download() as download_info:
        card.get_by_role("link", name="Download 보고서.pdf").click()
    assert download_info.value.suggested_filename == "보고서.pdf"
    assert open(download_info.value.path(), "rb").read() == PDF_BYTES
    expect(a.locator(".msg.kind-file")).to_have_count(2)
    shot(b, "files-card-desktop")

    # Cancel: a slow upload stopped halfway leaves nothing behind.
    throttle(a, 200_000)
    choose_files(a, [{"name": "never.png", "mimeType": "image/png", "buffer": noisy_png(800, 600)}])
    a.wait_for_function("() => { const p = document.querySelector('#upload-list progress'); return p && p.value > 0; }")
    a.locator("#upload-list").get_by_role("button", name="Cancel never.png").click()
    expect(a.locator("#upload-list .upload")).to_have_count(0)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    a.wait_for_timeout(500)
    expect(b.locator(".msg.kind-file")).to_have_count(2)

    # Refused before sending: an empty file and one over the limit; the others still go.
    too_big = b"\0" * (10 * 1024 * 1024 + 1)
    choose_files(
        a,
        [
            {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""},
            {"name": "huge.bin", "mimeType": "application/octet-stream", "buffer": too_big},
        ],
    )
    expect(a.locator(".upload.is-failed", has_text="empty.txt")).to_contain_text("The file is empty.")
    expect(a.locator(".upload.is-failed", has_text="huge.bin")).to_contain_text(
        "Too large: files are limited to 10 MB."
    )
    shot(a, "files-errors-desktop")
    for name in ("empty.txt", "huge.bin"):
        a.get_by_role("button", name=f"Dismiss {name}").click()
    expect(a.locator("#upload-list")).to_be_hidden()

    # A refusal from the server (here a 429, as the rate limit answers) is shown with a
    # Retry that sends the same client_id again.
    bodies = []

    def refuse_once(route):
        bodies.append(route.request.post_data_buffer)
        if len(bodies) > 1:
            route.continue_()
            return
        route.fulfill(
            status=429,
            headers={"Retry-After": "7"},
            json={"error": {"code": "RATE_LIMITED", "message": "Too many attempts; wait a moment."}},
        )

    a.route("**/api/v1/rooms/*/files", refuse_once)
    choose_files(a, [{"name": "later.png", "mimeType": "image/png", "buffer": small_png()}])
    failed = a.locator(".upload.is-failed", has_text="later.png")
    expect(failed).to_contain_text("Not uploaded: Too many uploads at once. Try again in 7 s.")
    failed.get_by_role("button", name="Retry later.png").click()
    expect(b.locator(".msg-image[alt='later.png']")).to_have_count(1)
    a.unroute("**/api/v1/rooms/*/files")
    client_ids = [re.search(rb'name="client_id"\r\n\r\n([^\r]+)', body).group(1) for body in bodies]
    assert len(client_ids) == 2 and client_ids[0] == client_ids[1], client_ids

    # Drag and drop onto the chat, and a pasted image, upload too.
    a.evaluate("""() => {
        const zone = document.querySelector('.chat-main');
        const data = new DataTransfer();
        data.items.add(new File(['dropped notes'], 'dropped.txt', { type: 'text/plain' }));
        for (const type of ['dragenter', 'dragover', 'drop']) {
            zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
        }
    }""")
    expect(b.locator(".file-card .file-name", has_text="dropped.txt")).to_have_count(1)
    expect(a.locator(".chat-main")).not_to_have_class(re.compile(r"is-drop-target"))
    pasted = list(small_png((200, 60, 60)))
    a.evaluate(
        """(bytes) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' }));
        const box = document.getElementById('composer-input');
        box.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: data }));
    }""",
        pasted,
    )
    expect(b.locator(".msg-image[alt^='Pasted image ']")).to_have_count(1)
    expect(a.locator(".msg.kind-file")).to_have_count(5)
    shot(a, "files-sender-desktop")

    # B's room list says what the last file was called.
    b.goto("/rooms")
    wait_list_connected(b)
    preview = b.locator(f"#my-rooms .room-item[data-room-id='{room_id}'] .room-preview")
    expect(preview).to_have_text(re.compile(rf"^{a_name}: Pasted image .+\.png$"))
    choose_files(a, [{"name": "보고서-최종.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}])
    expect(preview).to_have_text(f"{a_name}: 보고서-최종.pdf")

    # The same room on a phone.
    _phone_context, phone = pages.open("B-phone", **MOBILE)
    log_in(phone, b_name)
    phone.goto(f"/rooms/{room_id}")
    wait_connected(phone)
    expect(phone.locator(".msg.kind-file")).to_have_count(6)
    phone.locator(".msg-image").last.scroll_into_view_if_needed()
    shot(phone, "files-room-mobile")
    phone.locator(".msg-image[alt='holiday 휴가.png']").click()
    expect(phone.locator("dialog.image-viewer")).to_be_visible()
    phone.wait_for_function(
        "() => { const i = document.querySelector('.viewer-image'); return i && i.complete && i.naturalWidth > 0; }"
    )
    shot(phone, "files-viewer-mobile")
