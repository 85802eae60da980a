// Baseline: a socket.io v4 room relay, the stack of excalidraw-room and WBO: each socket joins the room
// named in its handshake query, and every "draw" event is re-emitted to the rest of the room
// (socket.to(room).emit, as excalidraw-room's socket.broadcast.to(roomID).emit). WebSocket transport only.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? 0);
const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 1 << 20,
});

io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room ?? "default");
  socket.join(room);
  socket.on("draw", (data) => socket.to(room).emit("draw", data));
});
http.listen(port, "127.0.0.1", () => console.log(`listening ${http.address().port}`));
process.on("SIGTERM", () => process.exit(0));
