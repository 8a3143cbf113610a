"""A gate between a browser context and the server's socket. `SocketGate(context)` routes
the context's Socket.IO connections through Playwright: while open they pass untouched,
while `shut` each new one is closed before it opens, as a server that cannot be reached
(or a proxy that hangs up) would, though the pages themselves still load. It notes the
`send_message` events that reached the server (`sends`, their payloads in order).

The browser's own offline mode (`context.set_offline`) cannot reload a page; this can, so
a test may reload a tab that has no connection to the chat."""

import json
import re

# The endpoint, not the vendored library under /static/vendor/socket.io/.
SOCKET_IO = re.compile(r"/socket\.io/\?")
EVENT = re.compile(r"^42/chat,\d*(\[.*)$", re.DOTALL)


class SocketGate:
    def __init__(self, context):
        self.shut = False
        self.sends = []
        context.route_web_socket(SOCKET_IO, self._socket)
        context.route(SOCKET_IO, self._polling)

    def _socket(self, ws):
        if self.shut:
            ws.close()
            return
        server = ws.connect_to_server()
        ws.on_message(lambda message: self._to_server(message, server))

    def _to_server(self, message, server):
        found = EVENT.match(message) if isinstance(message, str) else None
        if found:
            name, *args = json.loads(found.group(1))
            if name == "send_message":
                self.sends.append(args[0])
        server.send(message)

    def _polling(self, route):
        if self.shut:
            route.abort()
        else:
            route.continue_()

    def sent_client_ids(self):
        return [payload["client_id"] for payload in self.sends]
