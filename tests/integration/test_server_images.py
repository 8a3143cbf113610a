"""Image bombs within the limits (issue 24), on the real server: six PNGs of about 100 KB
that each decode into 25 million RGBA pixels (100 MB, 200 MB while resampled), uploaded at
once. The server decodes at most IMAGE_DECODE_CONCURRENCY of them at a time and gives the
memory back afterwards; its peak resident memory (VmHWM of the worker, reset before the
uploads) is asserted under the bound that follows from that, and printed with the rest.

Run on eventlet with SQLite and on gevent with MariaDB: the bound on decodes is a plain
`threading` semaphore, which each library's monkey-patching makes its own.
"""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from PIL import Image

from ..support import live
from ..support.http_client import api, api_user, unique_name

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
PIXELS = 25_000_000  # the default MAX_IMAGE_PIXELS
CONCURRENCY = 2  # the default IMAGE_DECODE_CONCURRENCY
BOMBS = 6
# Per decode: the decoded RGBA image (4 bytes a pixel) and its premultiplied copy while it is
# resampled for the thumbnail (4 more). Slack: six request bodies, thumbnails, allocator
# granularity and whatever the server does meanwhile.
PER_DECODE = 8 * PIXELS
SLACK = 64 * MIB


@pytest.fixture(
    scope="module",
    params=[("sqlite", "eventlet"), pytest.param(("mariadb", "gevent"), marks=pytest.mark.mariadb)],
    ids=["sqlite-eventlet", "mariadb-gevent"],
)
def server(request, tmp_path_factory):
    backend, async_mode = request.param
    with live.ServerFarm(tmp_path_factory) as farm:
        yield farm.server(backend, async_mode=async_mode)


@pytest.fixture(scope="module")
def bomb():
    """A PNG just under the pixel bound: one colour, so it compresses to almost nothing."""
    buf = io.BytesIO()
    Image.new("RGBA", (5000, 4999), (10, 200, 30, 255)).save(buf, "PNG")
    return buf.getvalue()


def memory(pid):
    """(VmRSS, VmHWM) of a process, in bytes."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return tuple(int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM"))


def post_file(server, token, room_id, data, name):
    return requests.post(
        f"{server.url}/api/v1/rooms/{room_id}/files",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (name, data)},
        timeout=120,
    )


def test_six_bombs_at_once_stay_within_the_decode_bound(server, bomb):
    _user, token = api_user(server, unique_name("bomb"))
    room = api(server, token, "POST", "/rooms", json={"name": "Bombs " + unique_name("")}).json()["room"]
    small = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(small, "PNG")
    assert post_file(server, token, room["id"], small.getvalue(), "warm.png").status_code == 201  # imports loaded
    over = Image.new("RGBA", (5000, 5001))
    over_bytes = io.BytesIO()
    over.save(over_bytes, "PNG")
    refused = post_file(server, token, room["id"], over_bytes.getvalue(), "over.png")
    assert refused.status_code == 400 and "file" in refused.json()["error"]["fields"]  # refused, never decoded

    pid = server.worker_pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # start the peak afresh, at today's size
    baseline, _ = memory(pid)
    lags, done = [], threading.Event()

    def probe():  # how long the server takes to answer a cheap request meanwhile
        while not done.is_set():
            started = time.perf_counter()
            requests.get(f"{server.url}/static/favicon.svg", timeout=30)
            lags.append(time.perf_counter() - started)
            time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(BOMBS) as pool:
        answers = list(pool.map(lambda i: post_file(server, token, room["id"], bomb, f"bomb{i}.png"), range(BOMBS)))
    elapsed = time.perf_counter() - started
    done.set()
    prober.join()
    rss_after, peak = memory(pid)

    for answer in answers:
        assert answer.status_code == 201, answer.text[:300]
        assert answer.json()["message"]["file"]["thumbnail_url"]  # an image under the bound is kept, with a preview
    bound = baseline + CONCURRENCY * PER_DECODE + SLACK
    print(  # noqa: T201 - the measured memory, shown with -s
        f"\n{BOMBS} PNG bombs of {len(bomb) // 1024} KB ({PIXELS / 1e6:g} MP RGBA) at once, "
        f"{CONCURRENCY} decodes at a time: {elapsed:.2f} s; worker RSS before {baseline / MIB:.0f} MiB, "
        f"peak {peak / MIB:.0f} MiB (+{(peak - baseline) / MIB:.0f}; bound +{(bound - baseline) / MIB:.0f}, "
        f"all six at once would need +{BOMBS * 4 * PIXELS / MIB:.0f} or more), after {rss_after / MIB:.0f} MiB; "
        f"a static file answered in at most {max(lags) * 1000:.0f} ms meanwhile ({len(lags)} probes)"
    )
    assert peak <= bound
    # The decoded memory is given back, not kept by the allocator for good.
    assert rss_after <= baseline + PER_DECODE // 2
