"""A node draining before it stops (webchat/realtime/lifecycle.py), against the app: its
sockets hear `server_restart` and are disconnected, new sockets and handshakes are
refused, and the drain waits for an event still running. The whole stop of a real
gunicorn node, in a rolling restart, is tests/integration/test_rolling_restart.py."""

import threading

from webchat.realtime import lifecycle

from .support.polling import wait_until

NS = "/chat"


def test_a_drain_tells_every_socket_to_reconnect_then_disconnects_it(app, alice, bob, connect):
    a, b = connect(alice), connect(bob)
    a.get_received(NS), b.get_received(NS)
    lifecycle.drain(app, wait=1)
    for sock in (a, b):
        assert not sock.is_connected(NS)
        # What it heard before the disconnect (get_received wants a connected client).
        assert [event["name"] for event in sock.queue] == ["server_restart"]


def test_a_draining_node_refuses_new_sockets_and_handshakes(app, alice, connect, client):
    lifecycle.drain(app, wait=0)
    refused = connect(alice)
    assert not refused.is_connected(NS)
    handshake = client.get("/socket.io/", query_string={"EIO": "4", "transport": "polling"})
    assert handshake.status_code == 503
    assert handshake.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    # A session opened before the drain still reaches the Socket.IO server.
    assert client.get("/socket.io/", query_string={"EIO": "4", "transport": "polling", "sid": "x"}).status_code != 503


def test_a_drain_waits_for_the_events_still_running(app):
    state = lifecycle.of(app)
    release, drained = threading.Event(), threading.Event()

    def event():
        with state.event_running():
            release.wait(10)

    def drain():
        lifecycle.drain(app, wait=10)
        drained.set()

    running = threading.Thread(target=event)
    running.start()
    wait_until(lambda: state.running == 1, 5, "the event to start")
    threading.Thread(target=drain).start()
    wait_until(lambda: state.draining, 5, "the drain to start")
    assert not drained.wait(0.3), "the drain returned while an event was running"
    release.set()
    assert drained.wait(5)
    running.join(5)
    assert state.running == 0 and state.drained


def test_a_drain_gives_up_on_an_event_that_never_ends(app):
    state = lifecycle.of(app)
    with state.event_running():
        lifecycle.drain(app, wait=0.2)
        assert state.drained and state.running == 1
