// The web app's entry point: `/` shows the lobby, `/s/<session>` (or `#/s/<session>`) a board.

import { readConfig } from "./api.js";
import { startBoard } from "./boardview.js";
import { local, toast } from "./dom.js";
import { startLobby } from "./lobby.js";
import { parseRoute } from "./routes.js";
import { startTheme } from "./theme.js";

startTheme(local());
const config = readConfig();
const route = parseRoute(window.location.pathname, window.location.hash, window.location.search);
// Hash links (pages served without the board route) change only the hash: load the page for the new route.
window.addEventListener("hashchange", () => window.location.reload());
if (route.view === "board") {
  startBoard(config, route.session, route.link).catch((error) => {
    console.error(error);
    toast(`Something went wrong: ${String(error)}`);
  });
} else {
  startLobby(config, route.error).catch((error) => {
    console.error(error);
  });
}
