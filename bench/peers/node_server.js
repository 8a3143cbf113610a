// The reference implementation: a socket.io 4 server doing what bench/peers/bare_app.py
// does. Namespace /chat; `open_room {room_id}` joins, `send_message` acks {ok, message}
// and broadcasts `new_message {message}` to the room; per-room seq. GET /healthz answers.
// Usage: PORT=5001 HOST=127.0.0.1 node node_server.js
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 5001);
const host = process.env.HOST || "127.0.0.1";

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok" }));
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, { transports: ["polling", "websocket"], cors: { origin: "*" } });
const seqs = new Map();
let nextId = 1;

io.of("/chat").on("connection", (socket) => {
  socket.on("open_room", (data, ack) => {
    socket.join(`room:${data.room_id}`);
    if (typeof ack === "function") ack({ ok: true, room: { id: data.room_id }, messages: [], has_more: false });
  });
  socket.on("close_room", (data, ack) => {
    socket.leave(`room:${data.room_id}`);
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("send_message", (data, ack) => {
    const seq = (seqs.get(data.room_id) || 0) + 1;
    seqs.set(data.room_id, seq);
    const message = {
      id: nextId++, room_id: data.room_id, seq, sender: null, kind: "text", body: data.body,
      client_id: data.client_id ?? null, created_at: new Date().toISOString(), deleted: false,
      file: null, event: null,
    };
    io.of("/chat").to(`room:${data.room_id}`).emit("new_message", { message });
    if (typeof ack === "function") ack({ ok: true, message });
  });
});

httpServer.listen(port, host, () => console.log(`node socket.io ${require("socket.io/package.json").version} on ${host}:${port}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => { io.close(); process.exit(0); });
