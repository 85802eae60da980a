// Baseline: the classic Node `ws` broadcast relay. Rooms are URL paths; every text frame is sent as it
// is to everyone else in the room. Prints "listening <port>" once ready.
import { WebSocketServer } from "ws";

const port = Number(process.env.PORT ?? 0);
const rooms = new Map();
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, maxPayload: 1 << 20 });

wss.on("connection", (ws, req) => {
  const name = req.url ?? "/";
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on("message", (data, isBinary) => {
    for (const peer of room) {
      if (peer !== ws && peer.readyState === 1) peer.send(data, { binary: isBinary });
    }
  });
  ws.on("close", () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(name);
  });
});
wss.on("listening", () => console.log(`listening ${wss.address().port}`));
process.on("SIGTERM", () => process.exit(0));
