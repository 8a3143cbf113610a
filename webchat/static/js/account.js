// The account page: its sessions' times as the room list writes them ("5분 전"), in the
// reader's own time zone, the full date in the tooltip; the server wrote them in UTC.
import { setTime } from "./lib/roomlist.js";

for (const node of document.querySelectorAll("#session-list time[datetime]")) setTime(node, node.dateTime);
